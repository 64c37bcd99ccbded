//! What the fuzz targets of `fuzz/` found, kept as ordinary tests; each input is in
//! `fuzz/regressions/`, and replays with `<target binary> fuzz/regressions/<file>`.

use std::convert::Infallible;
use std::time::Duration;

use crate::helpers::prepared_directory;
use crate::images::png_of_exactly;
use bytes::Bytes;
use mediastore::config::Limits;

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
