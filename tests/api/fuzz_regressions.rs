//! What the fuzz targets of `fuzz/` found, kept as ordinary tests; each input is in
//! `fuzz/regressions/` (named after its target), replays with `<target binary>
//! fuzz/regressions/<file>`, and is read by its test here where the test can use it as it is.

use std::convert::Infallible;
use std::time::Duration;

use crate::helpers::{API_KEY, Stack, assert_problem, prepared_directory, spawn_app};
use crate::images::{png, png_of_exactly};
use bytes::Bytes;
use mediastore::config::Limits;
use serde_json::json;

/// `fuzz/regressions/ingest-empty-chunk-at-batch-boundary`. With `STRIP_METADATA=false` every
/// chunk of the body goes to the staging file as it came. When one chunk filled a write batch
/// (128 KiB) and only an empty chunk followed, the last batch held nothing but that empty
/// chunk, and `write_vectored` writing 0 bytes of it was taken for a full disk (`WriteZero`):
/// a valid upload answered 500.
#[tokio::test]
async fn an_empty_chunk_after_a_full_write_batch_is_not_a_storage_error() {
    let (_dir, store) = prepared_directory().await;
    let limits = Limits {
        strip_metadata: false,
        ..Limits::default()
    };
    let png = png_of_exactly(128 * 1024);
    let chunks = [Bytes::from(png.clone()), Bytes::new()];
    let body = futures_util::stream::iter(chunks.map(Ok::<_, Infallible>));
    let received = mediastore::ingest::receive(
        body,
        Some("a.png".into()),
        &store,
        &limits,
        Duration::from_secs(5),
    )
    .await
    .expect("a valid PNG is received, whatever chunks it came in");
    assert_eq!(received.staged.len, png.len() as u64);
}

/// What the fuzz targets' inputs carry before the file or body: a control byte and a seed for
/// the chunk lengths (see `fuzz/fuzz_targets/ingest.rs` and `multipart.rs`).
const FRAMING: usize = 2;

/// `bytes` through the ingest pipeline in one chunk, as an upload named `a.webp`.
async fn receive_as_webp(
    bytes: &'static [u8],
) -> Result<mediastore::ingest::Received, mediastore::ingest::IngestError> {
    let (_dir, store) = prepared_directory().await;
    let body = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(bytes))]);
    mediastore::ingest::receive(
        body,
        Some("a.webp".into()),
        &store,
        &Limits::default(),
        Duration::from_secs(5),
    )
    .await
}

/// `fuzz/regressions/ingest-invalid-vp8-header` (target `ingest`). A WebP whose chunks the
/// metadata filter walks, but whose VP8 header the dimension reader cannot read: `imagesize`
/// says so with an `InvalidData` I/O error, which was taken for a storage fault (500). It is
/// the client's malformed image.
#[tokio::test]
async fn an_unreadable_image_header_is_an_invalid_image_not_a_storage_error() {
    let input = include_bytes!("../../fuzz/regressions/ingest-invalid-vp8-header");
    let received = receive_as_webp(&input[FRAMING..]).await;
    assert!(
        matches!(
            received,
            Err(mediastore::ingest::IngestError::InvalidImage { .. })
        ),
        "{received:?}"
    );
}

/// `fuzz/regressions/image_header-webp-without-riff` (target `image_header`). `infer` names
/// a file WebP by `WEBP` at offset 8 alone, so bytes without the `RIFF` header were sniffed
/// as WebP (and refused as a malformed WebP) instead of as a type we do not accept.
#[tokio::test]
async fn webp_at_offset_8_without_riff_is_not_a_webp() {
    use mediastore::media::{Sniffed, sniff};
    let input = include_bytes!("../../fuzz/regressions/image_header-webp-without-riff");
    assert_eq!(sniff(input), Sniffed::Unknown);
    let received = receive_as_webp(input).await;
    assert!(
        matches!(
            received,
            Err(mediastore::ingest::IngestError::UnsupportedType { .. })
        ),
        "{received:?}"
    );
}

/// `fuzz/regressions/map_json-array-for-an-object` (target `map_json`): `[null]`. serde reads
/// a struct from an array of its fields' values too, so the signed-urls body `[null]` (and
/// `[600]`) was taken for `{"expires_in": ...}`; the map body `["owner", [...]]` the same way.
/// Each body is a JSON object, as the schema says.
#[tokio::test]
async fn a_json_array_is_not_taken_for_a_request_object() {
    let input = include_str!("../../fuzz/regressions/map_json-array-for-an-object");
    let app = crate::access::signed_app(Stack::SQLITE_FS).await;
    let media = app.upload_open(png(8, 8)).await.files.remove(0);
    for body in [input, "[600]"] {
        let request = app
            .client
            .post(app.url(&format!("/v1/media/{}/signed-urls", media.id)));
        let response = crate::access::with_body_and_key(request, Some(body), Some(API_KEY))
            .send()
            .await
            .expect("signed-urls");
        assert_problem(response, 400, "malformed_request").await;
    }
    let request = app.client.post(app.url("/v1/upload-tokens"));
    let response = crate::access::with_body_and_key(request, Some(input), Some(API_KEY))
        .send()
        .await
        .expect("upload-tokens");
    assert_problem(response, 400, "malformed_request").await;
    let id = media.id.to_string();
    for body in [
        json!(["user-42", [{ "id": id }]]),
        json!({ "owner": "user-42", "files": [[id, []]] }),
    ] {
        assert_problem(app.map(&body).await, 400, "malformed_request").await;
    }
    let object = json!({ "owner": "user-42", "files": [{ "id": id }] });
    assert_eq!(app.map(&object).await.status(), 200);
}

/// `fuzz/regressions/multipart-unterminated-file-part` (target `multipart`, a timeout). A
/// `file` part whose closing boundary never comes, the body ending in `--\r\n`: actix-multipart
/// 0.7 left the part pending at the end of the body, so the upload waited out the idle
/// timeout (30 s) and answered 408. Fixed upstream in 0.8.2; the body is malformed at once.
#[tokio::test]
async fn a_file_part_without_its_closing_boundary_is_malformed_at_once() {
    let input = include_bytes!("../../fuzz/regressions/multipart-unterminated-file-part");
    let app = spawn_app(Stack::SQLITE_FS).await;
    let started = std::time::Instant::now();
    let response = app
        .client
        .post(app.url("/v1/media"))
        .header("content-type", "multipart/form-data; boundary=fuzzboundary")
        .body(input[FRAMING..].to_vec())
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("an answer before the idle timeout");
    assert_problem(response, 400, "malformed_request").await;
    assert!(started.elapsed() < Duration::from_secs(10));
}
