//! The upload handler's body reader (`upload_form::receive_files` through
//! `mediastore::http::fuzzing::Uploads`): actix-multipart parsing an arbitrary body with a
//! fixed boundary, each `file` part through `ingest::receive` and its metadata filter.
//!
//! Input: a control byte (bits 0-2: the largest chunk of the body; bit 3:
//! `STRIP_METADATA=false`; bit 4: an empty chunk after some of them), a seed for the chunk
//! lengths, then the body, whose boundary is `fuzzboundary`.
//!
//! Checked: an error is a client's (4xx), never a 500; at most `MAX_FILES_PER_REQUEST` files
//! are accepted, and each passes `check_received`.
#![no_main]

use std::sync::OnceLock;

use actix_web::ResponseError as _;
use libfuzzer_sys::fuzz_target;
use mediastore::http::fuzzing::Uploads;
use mediastore_fuzz::{check_received, fuzz_limits, max_chunk, runtime, scratch_dir, split};

const CONTENT_TYPE: &str = "multipart/form-data; boundary=fuzzboundary";

fn uploads() -> &'static Uploads {
    static UPLOADS: OnceLock<Uploads> = OnceLock::new();
    UPLOADS.get_or_init(|| runtime().block_on(Uploads::new(&scratch_dir("multipart"))))
}

fuzz_target!(|data: &[u8]| {
    let [control, seed, body @ ..] = data else {
        return;
    };
    let limits = fuzz_limits(control & 8 == 0);
    let chunks = split(body, max_chunk(*control), *seed, control & 16 != 0);
    let uploads = uploads();
    runtime().block_on(async {
        match uploads.receive_files(&limits, CONTENT_TYPE, chunks).await {
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
