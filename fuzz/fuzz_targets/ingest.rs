//! `ingest::receive`, the upload pipeline for one file: size limit, magic-byte sniff, metadata
//! filter, SHA-1, and the dimensions read from the finished file's header.
//!
//! Input: a control byte (bits 0-2: the largest chunk, from 1 byte to the whole file; bit 3:
//! `STRIP_METADATA=false`; bit 4: an empty chunk after some of them), a seed for the chunk
//! lengths, then the file.
//!
//! Checked: no error but the client's (a storage or database error, a 500, from bytes alone is
//! a bug); what is accepted passes `check_received` and was within the limits as sent; and the
//! outcome (what is stored and recorded, or the error) of a file within the size limit does not
//! depend on how the body was cut into chunks: the same file in one chunk gets the same answer.
#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mediastore::config::Limits;
use mediastore::ingest::{self, IngestError, Received};
use mediastore::media::{Sniffed, sniff};
use mediastore::storage::BlobStore;
use mediastore_fuzz::{check_received, fuzz_limits, max_chunk, runtime, scratch_dir, split};

fn blobs() -> &'static BlobStore {
    static BLOBS: OnceLock<BlobStore> = OnceLock::new();
    BLOBS.get_or_init(|| {
        let blobs = BlobStore::fs(scratch_dir("ingest"));
        runtime()
            .block_on(blobs.prepare())
            .expect("the store is usable");
        blobs
    })
}

/// What an upload came to, to compare two of them: what would be recorded, or the error.
fn outcome(received: &Result<Received, IngestError>) -> Result<String, String> {
    match received {
        Ok(r) => Ok(format!(
            "{} {:?} {:?} orientation {} frames {:?} {} bytes",
            r.sha1_hex, r.format, r.dimensions, r.orientation, r.frames, r.staged.len
        )),
        Err(e) => Err(e.to_string()),
    }
}

async fn receive(
    blobs: &BlobStore,
    file: &[u8],
    max: usize,
    seed: u8,
    empties: bool,
    limits: &Limits,
) -> Result<Received, IngestError> {
    let chunks = split(file, max, seed, empties);
    let body = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
    ingest::receive(
        body,
        Some("fuzz.bin".into()),
        blobs,
        limits,
        Duration::from_secs(30),
    )
    .await
}

fuzz_target!(|data: &[u8]| {
    let [control, seed, file @ ..] = data else {
        return;
    };
    let limits = fuzz_limits(control & 8 == 0);
    let (max, empties) = (max_chunk(*control), control & 16 != 0);
    let blobs = blobs();
    runtime().block_on(async {
        let received = receive(blobs, file, max, *seed, empties, &limits).await;
        if max != usize::MAX || empties {
            let whole = receive(blobs, file, usize::MAX, 0, false, &limits).await;
            if file.len() as u64 <= limits.max_file_bytes {
                assert_eq!(
                    outcome(&received),
                    outcome(&whole),
                    "chunks of up to {max} bytes (empties: {empties}) and the whole file differ"
                );
            } else {
                // Too large: which fault is met first depends on how much had arrived.
                assert!(received.is_err() && whole.is_err());
            }
        }
        match received {
            Ok(received) => {
                assert!(
                    file.len() as u64 <= limits.max_file_bytes,
                    "a file over the limit was accepted"
                );
                assert_eq!(
                    sniff(&file[..file.len().min(32)]),
                    Sniffed::Image(received.format),
                    "accepted as another format than its magic bytes say"
                );
                assert_eq!(received.original_name.as_deref(), Some("fuzz.bin"));
                check_received(blobs, received, &limits, Some(file)).await;
            }
            Err(IngestError::Empty) => assert!(file.is_empty()),
            Err(
                e @ (IngestError::Storage(_)
                | IngestError::Db(_)
                | IngestError::IdleTimeout(_)
                | IngestError::Body(_)),
            ) => {
                panic!("a server-side error from the bytes of an upload: {e:?}")
            }
            Err(IngestError::TooLarge { limit }) => {
                assert!(
                    file.len() as u64 > limit,
                    "{} bytes are too large",
                    file.len()
                )
            }
            Err(_) => assert!(!file.is_empty()),
        }
    });
});
