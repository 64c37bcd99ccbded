//! The upload pipeline, in the order a file goes through it:
//!
//! 1. [`receive`]: one file's bytes stream into a [`StagedFile`] while the size limit, SHA-1
//!    and magic-byte sniff run on them; the finished file's header gives its dimensions.
//! 2. [`store_all`]: a whole request's files are committed to the blob store and recorded in
//!    one transaction, or, if anything fails, neither.
//!
//! Nothing here knows HTTP: the body is any stream of byte chunks.

mod store;

use std::fmt::Display;
use std::io::{self, BufReader};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha1::{Digest, Sha1};

use crate::config::Limits;
use crate::db::DbError;
use crate::media::{Dimensions, ImageFormat, SNIFF_BYTES, Sniffed, sniff};
use crate::storage::{BlobStore, Staged, StorageError};

pub use store::store_all;

/// A complete, valid upload waiting in the staging area for its final name.
#[derive(Debug)]
pub struct Received {
    pub staged: Staged,
    pub sha1_hex: String,
    pub format: ImageFormat,
    pub dimensions: Dimensions,
    /// The client's file name, for display only.
    pub original_name: Option<String>,
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
    #[error("storing the upload")]
    Storage(#[from] StorageError),
    #[error("recording the upload")]
    Db(#[from] DbError),
}

/// Streams `body` into a new staging file while checking it against `limits`. Every early
/// return drops the staging file, which deletes it.
pub async fn receive<S, E>(
    mut body: S,
    original_name: Option<String>,
    store: &BlobStore,
    limits: &Limits,
    idle_timeout: Duration,
) -> Result<Received, IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let mut staged = store.stage().await?;
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
        staged.append(chunk).await?;
    }

    if size == 0 {
        return Err(IngestError::Empty);
    }
    let format = match format {
        Some(format) => format,
        None => accepted_format(&head, limits)?,
    };
    let limits = limits.clone();
    let (staged, dimensions) = staged
        .finish_checked(move |file| dimensions_within(file, &limits))
        .await?;
    Ok(Received {
        staged,
        sha1_hex: hex::encode(hasher.finalize()),
        format,
        dimensions,
        original_name: original_name.filter(|n| !n.is_empty()),
    })
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
/// a few reads.
fn dimensions_within(file: &std::fs::File, limits: &Limits) -> Result<Dimensions, IngestError> {
    let dimensions = match imagesize::reader_size(BufReader::new(file)) {
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
            return Err(StorageError::from(e).into());
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
    Ok(dimensions)
}

#[cfg(test)]
mod tests;
