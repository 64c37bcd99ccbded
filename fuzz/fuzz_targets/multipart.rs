//! The upload handler's body reader (`upload_form::receive_files` through
//! `mediastore::http::fuzzing::Uploads`): actix-multipart parsing an arbitrary body with a
//! fixed boundary, each `file` part through `ingest::receive` and its metadata filter.
//!
//! Input: a control byte (bits 0-2: the largest chunk of the body; bit 3:
//! `STRIP_METADATA=false`; bit 4: an empty chunk after some of them), a seed for the chunk
//! lengths, then the body, whose boundary is `fuzzboundary`.
//!
//! Checked: an error is a client's (4xx), never a 500; at most `MAX_FILES_PER_REQUEST` files
//! are accepted, and each passes `check_received`; and a body within the size limit gets the
//! same answer (the same files, or an error of the same code) in chunks as in one piece.
#![no_main]

use std::sync::OnceLock;

use actix_web::ResponseError as _;
use libfuzzer_sys::fuzz_target;
use mediastore::http::error::ApiError;
use mediastore::http::fuzzing::Uploads;
use mediastore::ingest::Received;
use mediastore_fuzz::{check_received, fuzz_limits, max_chunk, runtime, scratch_dir, split};

const CONTENT_TYPE: &str = "multipart/form-data; boundary=fuzzboundary";

fn uploads() -> &'static Uploads {
    static UPLOADS: OnceLock<Uploads> = OnceLock::new();
    UPLOADS.get_or_init(|| runtime().block_on(Uploads::new(&scratch_dir("multipart"))))
}

/// What a request came to, to compare two of them: each file as it would be recorded, or the
/// error's status and code (its detail may quote the parser, which says where it stopped).
fn outcome(received: &Result<Vec<Received>, ApiError>) -> Result<Vec<String>, String> {
    match received {
        Ok(files) => Ok(files
            .iter()
            .map(|r| {
                format!(
                    "{} {:?} {:?} orientation {} frames {:?} {} bytes, name {:?}",
                    r.sha1_hex,
                    r.format,
                    r.dimensions,
                    r.orientation,
                    r.frames,
                    r.staged.len,
                    r.original_name
                )
            })
            .collect()),
        Err(e) => Err(format!("{} {:?}", e.status_code(), e.code())),
    }
}

fuzz_target!(|data: &[u8]| {
    let [control, seed, body @ ..] = data else {
        return;
    };
    let limits = fuzz_limits(control & 8 == 0);
    let (max, empties) = (max_chunk(*control), control & 16 != 0);
    let chunks = split(body, max, *seed, empties);
    let uploads = uploads();
    runtime().block_on(async {
        let received = uploads.receive_files(&limits, CONTENT_TYPE, chunks).await;
        if (max != usize::MAX || empties) && body.len() as u64 <= limits.max_file_bytes {
            let whole = uploads
                .receive_files(&limits, CONTENT_TYPE, split(body, usize::MAX, 0, false))
                .await;
            assert_eq!(
                outcome(&received),
                outcome(&whole),
                "chunks of up to {max} bytes (empties: {empties}) and the whole body differ"
            );
        }
        match received {
            Ok(files) => {
                assert!(!files.is_empty(), "no file, and no error");
                assert!(files.len() <= limits.max_files_per_request);
                for file in files {
                    check_received(uploads.blobs(), file, &limits, None).await;
                }
            }
            Err(e) => assert!(
                e.status_code().is_client_error(),
                "{} for a request body: {e:?}",
                e.status_code()
            ),
        }
    });
});
