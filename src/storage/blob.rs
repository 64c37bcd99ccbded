//! Stored blobs as readers see them: found and sized, then read whole or streamed.

use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};

use super::error::Result;
use super::{S3Blobs, fs, s3};

/// Ranges up to this size are read into one buffer; larger ones are streamed in chunks, so the
/// memory a download takes stays bounded.
pub const WHOLE_READ_MAX_BYTES: u64 = 256 * 1024;

/// A blob found by listing the store; its name is not validated (a stray file may sit there).
#[derive(Debug, Clone)]
pub struct ListedBlob {
    pub file_name: String,
    pub modified: SystemTime,
    pub(super) location: Location,
}

#[derive(Debug, Clone)]
pub(super) enum Location {
    File(PathBuf),
    Object(object_store::path::Path),
}

/// A stored blob, found and sized; its bytes are read with [`Blob::read`].
pub struct Blob {
    pub len: u64,
    pub(super) source: Source,
}

pub(super) enum Source {
    /// A small blob, read whole when it was opened.
    Read(Bytes),
    File(tokio::fs::File),
    Object {
        s3: S3Blobs,
        key: object_store::path::Path,
        /// The whole object's `GET`, already answered, when the body was wanted.
        fetched: Option<object_store::GetResult>,
    },
}

/// What [`super::BlobStore::open`] is for: the size only (`HEAD`, a cache check), or the bytes
/// too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Size,
    /// A blob up to [`WHOLE_READ_MAX_BYTES`] is then read as it is opened, in the same trip to
    /// the disk thread or the bucket.
    Body,
}

/// Bytes of a blob: small ranges whole, larger ones as a stream of chunks.
pub enum BlobBytes {
    Whole(Bytes),
    Stream(BoxStream<'static, io::Result<Bytes>>),
}

impl Blob {
    /// A blob whose bytes are already in memory (the hot-file cache).
    pub(super) fn in_memory(bytes: Bytes) -> Self {
        Self {
            len: bytes.len() as u64,
            source: Source::Read(bytes),
        }
    }

    /// Its bytes, when it was read whole as it was opened.
    pub(super) fn in_memory_bytes(&self) -> Option<&Bytes> {
        match &self.source {
            Source::Read(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Every byte, in memory: for blobs known to be small (variants, a decode's input).
    pub async fn read_all(self) -> Result<Bytes> {
        let len = self.len;
        match self.read(0, len).await? {
            BlobBytes::Whole(bytes) => Ok(bytes),
            BlobBytes::Stream(chunks) => {
                let chunks: Vec<Bytes> = chunks.try_collect().await?;
                Ok(chunks.concat().into())
            }
        }
    }

    /// `len` bytes from `start` (which must lie inside the blob).
    pub async fn read(self, start: u64, len: u64) -> Result<BlobBytes> {
        match self.source {
            Source::Read(bytes) => Ok(BlobBytes::Whole(
                bytes.slice(start as usize..(start + len) as usize),
            )),
            Source::File(file) => fs::read(file, start, len).await,
            Source::Object {
                fetched: Some(whole),
                ..
            } if start == 0 && len == self.len => s3::read_whole(whole, len).await,
            Source::Object { s3, key, .. } => s3.read_range(&key, start, len).await,
        }
    }
}

impl BlobBytes {
    pub fn into_stream(self) -> BoxStream<'static, io::Result<Bytes>> {
        match self {
            Self::Whole(bytes) => futures_util::stream::once(async { Ok(bytes) }).boxed(),
            Self::Stream(stream) => stream,
        }
    }
}
