//! `ingest::receive`, the upload pipeline for one file: size limit, magic-byte sniff, metadata
//! filter, SHA-1, and the dimensions read from the finished file's header.
//!
//! Input: a control byte (bits 0-2: the largest chunk, from 1 byte to the whole file; bit 3:
//! `STRIP_METADATA=false`; bit 4: an empty chunk after some of them), a seed for the chunk
//! lengths, then the file.
//!
//! Checked: no error but the client's (a storage or database error, a 500, from bytes alone is
//! a bug); what is accepted passes `check_received` and was within the limits as sent.
#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mediastore::ingest::{self, IngestError};
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

fuzz_target!(|data: &[u8]| {
    let [control, seed, file @ ..] = data else {
        return;
    };
    let limits = fuzz_limits(control & 8 == 0);
    let chunks = split(file, max_chunk(*control), *seed, control & 16 != 0);
    let body = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
    let blobs = blobs();
    runtime().block_on(async {
        let received = ingest::receive(
            body,
            Some("fuzz.bin".into()),
            blobs,
            &limits,
            Duration::from_secs(30),
        )
        .await;
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
            Err(_) => assert!(!file.is_empty()),
        }
    });
});
