//! Range and conditional requests (`200`, `206`, `304`, `416`) on stored blobs of several
//! sizes, through the handler's own code (`mediastore::http::fuzzing::download`: the store
//! lookup and `serve::respond`).
//!
//! Input: one control byte (bit 0: `HEAD` instead of `GET`; the rest picks the blob), then
//! header lines, each `<letter><value>`: `R` Range, `N` If-None-Match, `M` If-Modified-Since,
//! `I` If-Range (other letters are skipped).
//!
//! Checked: the status is one of the four; the `ETag` and `Content-Range` headers and the
//! bytes sent agree with the blob (a `206` lies within it); and a request of the simple forms
//! (one plain range, alone or with an `If-Range`; a bare `If-None-Match`; a bare
//! `If-Modified-Since` with a valid date) gets exactly the answer RFC 9110 gives it.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::body::{BodySize, MessageBody as _};
use actix_web::http::header::{self, HeaderName, HeaderValue, HttpDate};
use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mediastore::http::fuzzing;
use mediastore::media::{ImageFormat, StoredName};
use mediastore::storage::BlobStore;
use mediastore_fuzz::{runtime, scratch_dir};

/// The sizes of the stored blobs: empty, tiny, and each side of the whole-read limit.
const SIZES: [usize; 7] = [0, 1, 2, 10, 1000, 65_536, 262_145];

struct Stored {
    blobs: BlobStore,
    files: Vec<(StoredName, Vec<u8>)>,
}

fn stored() -> &'static Stored {
    static STORED: OnceLock<Stored> = OnceLock::new();
    STORED.get_or_init(|| {
        runtime().block_on(async {
            let blobs = BlobStore::fs(scratch_dir("download"));
            blobs.prepare().await.expect("the store is usable");
            let mut files = Vec::new();
            for (i, size) in SIZES.into_iter().enumerate() {
                let sha1 = format!("{i:02x}").repeat(20);
                let name =
                    StoredName::new(&sha1, 1_732_262_400_123 + i as i64 * 1000, ImageFormat::Png)
                        .expect("a name");
                let bytes: Vec<u8> = (0..size)
                    .map(|j| ((j as u64).wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect();
                let mut staged = blobs.stage().await.expect("staging");
                if !bytes.is_empty() {
                    // A blob of bytes: the empty one is staged with no chunk at all.
                    staged
                        .append(Bytes::from(bytes.clone()))
                        .await
                        .expect("writing");
                }
                let staged = staged.finish().await.expect("finishing");
                blobs.put_as(staged, &name).await.expect("storing");
                files.push((name, bytes));
            }
            Stored { blobs, files }
        })
    })
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` with plain decimal numbers: the range RFC 9110 says
/// to serve of `len` bytes (`Some(None)`: `416`; `None`: not this simple form, or invalid and
/// so ignored).
fn simple_range(value: &str, len: u64) -> Option<Option<(u64, u64)>> {
    let spec = value.strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.is_empty(), last.is_empty()) {
        (true, true) => None,
        (true, false) => {
            let n = number(last)?;
            Some((n > 0 && len > 0).then(|| (len - n.min(len), len - 1)))
        }
        (false, _) => {
            let a = number(first)?;
            let b = if last.is_empty() {
                u64::MAX
            } else {
                number(last)?
            };
            if a > b {
                return None; // invalid, so ignored: the whole file
            }
            Some((a < len).then(|| (a, b.min(len - 1))))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let stored = stored();
    let (name, content) = &stored.files[usize::from(control >> 1) % SIZES.len()];
    let len = content.len() as u64;
    let method = if control & 1 == 1 {
        Method::HEAD
    } else {
        Method::GET
    };

    let mut request = TestRequest::default()
        .method(method.clone())
        .uri("/v1/files/x");
    let mut sent: Vec<(HeaderName, String)> = Vec::new();
    for line in rest.split(|&b| b == b'\n') {
        let Some((&letter, value)) = line.split_first() else {
            continue;
        };
        let name = match letter {
            b'R' => header::RANGE,
            b'N' => header::IF_NONE_MATCH,
            b'M' => header::IF_MODIFIED_SINCE,
            b'I' => header::IF_RANGE,
            _ => continue,
        };
        // What an HTTP/1 parser would not let through never reaches the handler.
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        sent.push((
            name.clone(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        ));
        request = request.append_header((name, value));
    }
    let req = request.to_http_request();

    let response = runtime().block_on(fuzzing::download(&stored.blobs, &req, name));
    let status = response.status();
    let text = |h: HeaderName| {
        response
            .headers()
            .get(h)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
    };
    let content_range = text(header::CONTENT_RANGE);
    let etag = format!("\"{}\"", name.sha1());

    let served: Option<(u64, u64)> = match status {
        StatusCode::OK => Some((0, len)),
        StatusCode::PARTIAL_CONTENT => {
            let range = content_range.as_deref().expect("a 206 has Content-Range");
            let (first, last) = range
                .strip_prefix("bytes ")
                .and_then(|r| r.strip_suffix(&format!("/{len}")))
                .and_then(|r| r.split_once('-'))
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                .unwrap_or_else(|| panic!("Content-Range {range:?} for {len} bytes"));
            assert!(
                first <= last && last < len,
                "Content-Range {range:?} for {len} bytes"
            );
            Some((first, last - first + 1))
        }
        StatusCode::NOT_MODIFIED => {
            assert_eq!(
                text(header::ETAG).as_deref(),
                Some(etag.as_str()),
                "a 304 names its ETag"
            );
            None
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            assert_eq!(content_range, Some(format!("bytes */{len}")));
            None
        }
        other => panic!("status {other} for {sent:?}"),
    };
    if status.is_success() {
        assert_eq!(text(header::ETAG).as_deref(), Some(etag.as_str()));
        assert_eq!(text(header::ACCEPT_RANGES).as_deref(), Some("bytes"));
    }

    // The simple forms, alone: exactly the answer RFC 9110 gives.
    if let [(only, value)] = sent.as_slice() {
        if *only == header::RANGE {
            match simple_range(value, len) {
                Some(Some((a, b))) => assert_eq!(
                    (status, served),
                    (StatusCode::PARTIAL_CONTENT, Some((a, b - a + 1))),
                    "Range {value:?} of {len} bytes"
                ),
                Some(None) => assert_eq!(
                    status,
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "Range {value:?} of {len} bytes"
                ),
                None => {}
            }
        }
        if *only == header::IF_NONE_MATCH {
            let tag = value.trim();
            if tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(&etag) {
                assert_eq!(status, StatusCode::NOT_MODIFIED, "If-None-Match {value:?}");
            } else if tag.len() == 42
                && tag.starts_with('"')
                && tag.ends_with('"')
                && !tag[1..41].contains(['"', ','])
            {
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "If-None-Match {value:?}, not {etag}"
                );
            }
        }
    }
    if let [(only, value)] = sent.as_slice()
        && *only == header::IF_MODIFIED_SINCE
        && let Ok(since) = value.parse::<HttpDate>()
    {
        // Dates have whole seconds: not modified since any moment of the upload's second.
        let upload_second = UNIX_EPOCH + Duration::from_secs(name.unix_ms() as u64 / 1000);
        let expected = if SystemTime::from(since) >= upload_second {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::OK
        };
        assert_eq!(
            status,
            expected,
            "If-Modified-Since {value:?}, uploaded at {} ms",
            name.unix_ms()
        );
    }
    // A plain range with an `If-Range`: honoured only when that is this file's strong ETag,
    // else the whole file (even for a range outside it).
    if let [(first, a), (second, b)] = sent.as_slice() {
        let pair = if *first == header::RANGE && *second == header::IF_RANGE {
            Some((a, b))
        } else if *first == header::IF_RANGE && *second == header::RANGE {
            Some((b, a))
        } else {
            None
        };
        if let Some((range, if_range)) = pair
            && let Some(expected) = simple_range(range, len)
        {
            if *if_range == etag {
                match expected {
                    Some((a, b)) => assert_eq!(
                        (status, served),
                        (StatusCode::PARTIAL_CONTENT, Some((a, b - a + 1))),
                        "Range {range:?} of {len} bytes, If-Range {if_range:?}"
                    ),
                    None => assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE),
                }
            } else if !if_range.contains(name.sha1()) {
                assert_eq!(
                    (status, served),
                    (StatusCode::OK, Some((0, len))),
                    "Range {range:?} with another If-Range {if_range:?}"
                );
            }
        }
    }
    if sent.is_empty() {
        assert_eq!(status, StatusCode::OK);
    }

    let body = response.into_body();
    match served {
        None if status == StatusCode::NOT_MODIFIED => assert!(
            matches!(body.size(), BodySize::Sized(0) | BodySize::None),
            "a 304 has no body"
        ),
        None => {}
        Some((start, n)) if method == Method::HEAD => {
            assert_eq!(
                body.size(),
                BodySize::Sized(n),
                "HEAD announces the length of {start}+{n}"
            );
        }
        Some((start, n)) => {
            let bytes = runtime()
                .block_on(actix_web::body::to_bytes(body))
                .unwrap_or_else(|_| panic!("reading the body"));
            let start = start as usize;
            assert!(
                bytes[..] == content[start..start + n as usize],
                "the body is not bytes {start}+{n} of the blob"
            );
        }
    }
});
