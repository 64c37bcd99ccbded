//! The streaming pipeline for one uploaded file:
//! bytes -> size limit + SHA-1 + magic-byte sniff -> staging file -> header check.
//!
//! The network's chunks are kept as they arrive (reference-counted, not copied) until a batch
//! of [`WRITE_BATCH_BYTES`] is written in one vectored write on the blocking pool: one trip per
//! batch, and no copy into a write buffer.
//!
//! Memory per upload is one batch, whatever the file size. Every early return drops the
//! staging path, which deletes the partial file.

use std::fmt::Display;
use std::io::{self, BufReader, IoSlice, Seek, SeekFrom, Write};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha1::{Digest, Sha1};
use tempfile::TempPath;

use crate::media::{Dimensions, ImageFormat, Limits, SNIFF_BYTES, Sniffed, sniff};
use crate::storage::BlobStore;

/// Enough to turn many small network chunks into few large writes.
const WRITE_BATCH_BYTES: usize = 128 * 1024;

/// A complete, valid upload waiting in the staging area for its final name.
#[derive(Debug)]
pub struct Ingested {
    pub staged: TempPath,
    pub sha1_hex: String,
    pub size: u64,
    pub format: ImageFormat,
    pub dimensions: Dimensions,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the file is empty")]
    Empty,
    #[error("the file's content is {detected}, which is not an accepted image type")]
    UnsupportedType { detected: String },
    #[error("the image header could not be read: {reason}")]
    InvalidImage { reason: String },
    #[error("the image is {}x{} pixels, more than the limit of {limit}", .dimensions.width, .dimensions.height)]
    TooManyPixels { dimensions: Dimensions, limit: u64 },
    #[error("no data arrived for {0:?}")]
    IdleTimeout(Duration),
    #[error("the request body could not be read: {0}")]
    Body(String),
    #[error("storage error")]
    Io(#[from] io::Error),
}

/// Streams `body` into a new staging file while checking it against `limits`.
pub async fn ingest<S, E>(
    mut body: S,
    store: &BlobStore,
    limits: &Limits,
    idle_timeout: Duration,
) -> Result<Ingested, IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let (file, staged) = store.stage().await?;
    let mut file = file.into_std().await;
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let mut hasher = Sha1::new();
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut format = None;

    loop {
        let chunk = match tokio::time::timeout(idle_timeout, body.next()).await {
            Err(_) => return Err(IngestError::IdleTimeout(idle_timeout)),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(IngestError::Body(e.to_string())),
            Ok(Some(Ok(chunk))) => chunk,
        };
        size += chunk.len() as u64;
        if size > limits.max_file_bytes {
            return Err(IngestError::TooLarge {
                limit: limits.max_file_bytes,
            });
        }
        if format.is_none() {
            let wanted = SNIFF_BYTES - head.len();
            head.extend_from_slice(&chunk[..wanted.min(chunk.len())]);
            if head.len() == SNIFF_BYTES {
                format = Some(accepted_format(&head, limits)?);
            }
        }
        hasher.update(&chunk);
        batch_bytes += chunk.len();
        batch.push(chunk);
        if batch_bytes >= WRITE_BATCH_BYTES {
            file = write_batch(file, std::mem::take(&mut batch)).await?;
            batch_bytes = 0;
        }
    }

    if size == 0 {
        return Err(IngestError::Empty);
    }
    let format = match format {
        Some(format) => format,
        None => accepted_format(&head, limits)?,
    };
    let file = write_batch(file, batch).await?;
    let limits = limits.clone();
    let sync = store.commit_needs_synced_staging();
    // One trip to the blocking pool: read the header from the open file, then make it durable.
    let dimensions = tokio::task::spawn_blocking(move || check_and_sync(file, &limits, sync))
        .await
        .map_err(io::Error::other)??;

    Ok(Ingested {
        staged,
        sha1_hex: hex::encode(hasher.finalize()),
        size,
        format,
        dimensions,
    })
}

/// Writes `chunks` in order with as few syscalls as the kernel allows; hands the file back.
async fn write_batch(mut file: std::fs::File, chunks: Vec<Bytes>) -> io::Result<std::fs::File> {
    if chunks.is_empty() {
        return Ok(file);
    }
    tokio::task::spawn_blocking(move || {
        let mut slices: Vec<IoSlice> = chunks.iter().map(|c| IoSlice::new(c)).collect();
        let mut unwritten = &mut slices[..];
        while !unwritten.is_empty() {
            match file.write_vectored(unwritten) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => IoSlice::advance_slices(&mut unwritten, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(file)
    })
    .await
    .map_err(io::Error::other)?
}

fn accepted_format(head: &[u8], limits: &Limits) -> Result<ImageFormat, IngestError> {
    match sniff(head) {
        Sniffed::Image(format) if limits.allows(format) => Ok(format),
        Sniffed::Image(format) => Err(IngestError::UnsupportedType {
            detected: format.mime().into(),
        }),
        Sniffed::Other(mime) => Err(IngestError::UnsupportedType {
            detected: mime.into(),
        }),
        Sniffed::Unknown => Err(IngestError::UnsupportedType {
            detected: "of an unknown type".into(),
        }),
    }
}

/// Width and height from the header only: nothing is decoded, so a decompression bomb costs
/// a few reads. A valid file is synced if `sync`, so that a file renamed into place is durable
/// before anyone is told it was stored.
fn check_and_sync(
    file: std::fs::File,
    limits: &Limits,
    sync: bool,
) -> Result<Dimensions, IngestError> {
    let mut reader = BufReader::new(&file);
    reader.seek(SeekFrom::Start(0))?;
    let dimensions = match imagesize::reader_size(reader) {
        Ok(s) if s.width > 0 && s.height > 0 => Dimensions {
            width: s.width as u64,
            height: s.height as u64,
        },
        Ok(_) => {
            return Err(IngestError::InvalidImage {
                reason: "the header gives a zero dimension".into(),
            });
        }
        Err(imagesize::ImageError::IoError(e)) if e.kind() != io::ErrorKind::UnexpectedEof => {
            return Err(e.into());
        }
        Err(e) => {
            return Err(IngestError::InvalidImage {
                reason: e.to_string(),
            });
        }
    };
    if !limits.allows_pixels(dimensions) {
        return Err(IngestError::TooManyPixels {
            dimensions,
            limit: limits.max_image_pixels,
        });
    }
    if sync {
        file.sync_all()?;
    }
    Ok(dimensions)
}
