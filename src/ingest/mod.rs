//! The upload pipeline, in the order a file goes through it:
//!
//! 1. [`receive`]: one file's bytes stream into a [`StagedFile`] while the size limit and the
//!    magic-byte sniff run on them, then through the metadata filter (GPS, EXIF, XMP, IPTC
//!    out; pixels untouched) and SHA-1; the finished file's header gives its dimensions.
//! 2. [`store_all`]: a whole request's files are committed to the blob store and recorded in
//!    one transaction, or, if anything fails, neither. Requests that get there at the same
//!    moment share that transaction ([`GroupCommit`]).
//!
//! Nothing here knows HTTP: the body is any stream of byte chunks.

mod group_commit;
mod store;

use std::fmt::Display;
use std::io::{self, BufReader};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha1::{Digest, Sha1};

use crate::config::Limits;
use crate::db::DbError;
use crate::media::{
    Dimensions, ImageFormat, MalformedImage, MetadataFilter, SNIFF_BYTES, Sniffed, sniff,
};
use crate::storage::{BlobStore, Staged, StagedFile, StorageError};

pub use group_commit::{GROUP_SIZE, GroupCommit};
pub use store::store_all;

/// A complete, valid upload waiting in the staging area for its final name.
#[derive(Debug)]
pub struct Received {
    pub staged: Staged,
    /// Of the stored bytes (stripped, unless `STRIP_METADATA=false`).
    pub sha1_hex: String,
    pub format: ImageFormat,
    /// As displayed: the header's, swapped for orientations 5 to 8.
    pub dimensions: Dimensions,
    pub orientation: u8,
    pub frames: Option<u32>,
    pub metadata_stripped: bool,
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
    #[error("the animation has {frames} frames of {}x{} pixels, more than the limits of {max_frames} frames and {max_pixels} pixels in all", .dimensions.width, .dimensions.height)]
    TooManyFrames {
        frames: u64,
        dimensions: Dimensions,
        max_frames: u64,
        max_pixels: u64,
    },
    #[error("no data arrived for {0:?}")]
    IdleTimeout(Duration),
    #[error("the request body could not be read: {0}")]
    Body(String),
    #[error("storing the upload")]
    Storage(#[from] StorageError),
    #[error("recording the upload")]
    Db(#[from] DbError),
}

impl From<MalformedImage> for IngestError {
    fn from(e: MalformedImage) -> Self {
        Self::InvalidImage {
            reason: e.reason().to_owned(),
        }
    }
}

/// Streams `body` into a new staging file while checking it against `limits` and, once its
/// type is known, passing it through the metadata filter. Every early return drops the
/// staging file, which deletes it.
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
    let mut stored = Stored::new(limits.strip_metadata);
    let mut received: u64 = 0;
    // The first chunks wait here until the magic bytes name the format, which picks the filter.
    let mut head: Vec<Bytes> = Vec::new();
    let mut format = None;

    loop {
        let chunk = match tokio::time::timeout(idle_timeout, body.next()).await {
            Err(_) => return Err(IngestError::IdleTimeout(idle_timeout)),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(IngestError::Body(e.to_string())),
            Ok(Some(Ok(chunk))) => chunk,
        };
        // The limit is on what the client sends, before anything is stripped.
        received += chunk.len() as u64;
        if received > limits.max_file_bytes {
            return Err(IngestError::TooLarge {
                limit: limits.max_file_bytes,
            });
        }
        if format.is_none() {
            head.push(chunk);
            if received < SNIFF_BYTES as u64 {
                continue;
            }
            let found = accepted_format(&head.concat()[..SNIFF_BYTES], limits)?;
            format = Some(found);
            stored.begin(found);
            for chunk in std::mem::take(&mut head) {
                stored.push(chunk, &mut staged).await?;
            }
            continue;
        }
        stored.push(chunk, &mut staged).await?;
    }

    if received == 0 {
        return Err(IngestError::Empty);
    }
    let format = match format {
        Some(format) => format,
        None => {
            // A file shorter than the sniffing window.
            let found = accepted_format(&head.concat(), limits)?;
            stored.begin(found);
            for chunk in std::mem::take(&mut head) {
                stored.push(chunk, &mut staged).await?;
            }
            found
        }
    };
    let outcome = stored.finish(&mut staged).await?;
    let metadata_stripped = limits.strip_metadata;
    let limits = limits.clone();
    let rehash = outcome.patched;
    let (staged, (dimensions, rehashed)) = staged
        .finish_checked(move |file| {
            let dimensions = dimensions_within(file, &limits)?;
            if let Some(frames) = outcome.frames
                && !limits.allows_frames(frames.into(), dimensions)
            {
                return Err(IngestError::TooManyFrames {
                    frames: frames.into(),
                    dimensions,
                    max_frames: limits.max_animation_frames,
                    max_pixels: limits.max_image_pixels.saturating_mul(20),
                });
            }
            // A patched header changed bytes that were hashed as they streamed past.
            let rehashed = if rehash { Some(sha1_of(file)?) } else { None };
            Ok((dimensions, rehashed))
        })
        .await?;
    Ok(Received {
        staged,
        sha1_hex: rehashed.unwrap_or(outcome.sha1_hex),
        format,
        dimensions: dimensions.displayed(outcome.orientation),
        orientation: outcome.orientation,
        // One frame is a still image, whatever the container could hold.
        frames: outcome.frames.filter(|&frames| frames > 1),
        metadata_stripped,
        original_name: original_name.filter(|n| !n.is_empty()),
    })
}

/// What is stored of an upload: its bytes through the metadata filter (or as sent, when not
/// stripping, with the filter still reading orientation and frames), hashed as they are
/// appended.
struct Stored {
    strip: bool,
    filter: Option<MetadataFilter>,
    hasher: Sha1,
    out: Vec<Bytes>,
}

/// What the filter learnt, and the SHA-1 of the bytes appended.
struct StoredOutcome {
    sha1_hex: String,
    orientation: u8,
    frames: Option<u32>,
    /// Whether a header was patched after the bytes were hashed.
    patched: bool,
}

impl Stored {
    fn new(strip: bool) -> Self {
        Self {
            strip,
            filter: None,
            hasher: Sha1::new(),
            out: Vec::new(),
        }
    }

    fn begin(&mut self, format: ImageFormat) {
        self.filter = Some(MetadataFilter::new(format));
    }

    async fn push(&mut self, chunk: Bytes, staged: &mut StagedFile) -> Result<(), IngestError> {
        let filter = self.filter.as_mut().expect("begun");
        if self.strip {
            filter.push_bytes(chunk, &mut self.out)?;
        } else {
            // The filter only reads here: it slices the chunk, and its output is dropped.
            filter.push_bytes(chunk.clone(), &mut Vec::new())?;
            self.out.push(chunk);
        }
        self.append(staged).await
    }

    async fn append(&mut self, staged: &mut StagedFile) -> Result<(), IngestError> {
        for chunk in self.out.drain(..) {
            self.hasher.update(&chunk);
            staged.append(chunk).await?;
        }
        Ok(())
    }

    async fn finish(mut self, staged: &mut StagedFile) -> Result<StoredOutcome, IngestError> {
        let filter = self.filter.take().expect("begun");
        let mut tail = Vec::new();
        let stripped = filter.finish(&mut tail)?;
        let mut patched = false;
        if self.strip {
            self.out.extend(tail);
            self.append(staged).await?;
            if let Some((offset, bytes)) = stripped.header_patch {
                staged.patch(offset, bytes);
                patched = true;
            }
        }
        Ok(StoredOutcome {
            sha1_hex: hex::encode(self.hasher.finalize()),
            orientation: stripped.orientation,
            frames: stripped.frames,
            patched,
        })
    }
}

fn sha1_of(file: &std::fs::File) -> Result<String, IngestError> {
    use std::io::{Read as _, Seek as _};
    let mut reader = file;
    reader
        .seek(io::SeekFrom::Start(0))
        .map_err(StorageError::from)?;
    let mut hasher = Sha1::new();
    let mut buffer = vec![0; 256 * 1024];
    loop {
        let n = reader.read(&mut buffer).map_err(StorageError::from)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
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
        // imagesize reports a malformed header as `InvalidData` and a short one as
        // `UnexpectedEof`: the client's file, not the disk.
        Err(imagesize::ImageError::IoError(e))
            if !matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData
            ) =>
        {
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
