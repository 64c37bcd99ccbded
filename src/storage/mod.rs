//! Where bytes live. Two back ends behind one [`BlobStore`]:
//!
//! - `fs`: a sharded directory, `<root>/<2 chars>/<stored name>` (the default);
//! - `s3`: an S3-compatible bucket, `<prefix>/<2 chars>/<stored name>`.
//!
//! Both stage an upload in a local directory first (`<upload dir>/.tmp`), where it is hashed,
//! checked and measured. Only a complete, valid file is then committed under its final name, so
//! no reader ever sees a partial blob and a rejected upload leaves nothing in the store.

mod fs;
mod s3;
mod staging;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use sha1::{Digest, Sha1};
use tempfile::TempPath;

use crate::config::{S3Settings, Settings, StorageKind};
use crate::media::{ImageFormat, StoredName};

pub use fs::FsBlobs;
pub use s3::{S3Blobs, StoreLayer};
use staging::Staging;

const STAGING_DIR: &str = ".tmp";

/// Ranges up to this size are read into one buffer; larger ones are streamed in chunks, so the
/// memory a download takes stays bounded.
pub const WHOLE_READ_MAX_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone)]
pub struct BlobStore {
    staging: Arc<Staging>,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Fs(FsBlobs),
    S3(S3Blobs),
}

/// A blob found by listing the store; its name is not validated (a stray file may sit there).
#[derive(Debug, Clone)]
pub struct ListedBlob {
    pub file_name: String,
    pub modified: SystemTime,
    location: Location,
}

#[derive(Debug, Clone)]
enum Location {
    File(PathBuf),
    Object(object_store::path::Path),
}

/// A stored blob, found and sized; its bytes are read with [`Blob::read`].
pub struct Blob {
    pub len: u64,
    source: Source,
}

enum Source {
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

/// What [`BlobStore::open`] is for: the size only (`HEAD`, a cache check), or the bytes too.
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

impl BlobStore {
    /// The sharded directory at `root`, staging in `root/.tmp` (one file system, so the final
    /// rename is atomic).
    pub fn fs(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            staging: Arc::new(Staging::new(root.join(STAGING_DIR))),
            backend: Backend::Fs(FsBlobs::new(root)),
        }
    }

    /// The bucket, staging uploads in `upload_dir/.tmp`.
    pub fn s3(settings: &S3Settings, upload_dir: &Path) -> io::Result<Self> {
        Self::s3_layered(settings, upload_dir, None)
    }

    /// [`BlobStore::s3`] with its client wrapped by `layer` (tests inject faults this way).
    pub fn s3_layered(
        settings: &S3Settings,
        upload_dir: &Path,
        layer: Option<StoreLayer>,
    ) -> io::Result<Self> {
        Ok(Self {
            staging: Arc::new(Staging::new(upload_dir.join(STAGING_DIR))),
            backend: Backend::S3(S3Blobs::new(settings, layer)?),
        })
    }

    /// The store `kind` names, configured from `settings`.
    pub fn of_kind(kind: StorageKind, settings: &Settings) -> io::Result<Self> {
        match kind {
            StorageKind::Fs => Ok(Self::fs(&settings.upload_dir)),
            StorageKind::S3 => {
                let s3 = settings.s3.as_ref().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "S3_BUCKET is not set")
                })?;
                Self::s3(s3, &settings.upload_dir)
            }
        }
    }

    /// The store the service is configured to use.
    pub fn from_settings(settings: &Settings) -> io::Result<Self> {
        Self::of_kind(settings.storage, settings)
    }

    /// For logs and progress lines: a directory path or an `s3://` address.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Fs(fs) => fs.root().display().to_string(),
            Backend::S3(s3) => s3.to_string(),
        }
    }

    /// Creates the directories and this process's staging folder, and removes what crashed
    /// processes left in the staging area. Returns how many staged files were removed.
    pub async fn prepare(&self) -> io::Result<usize> {
        self.create_root().await?;
        let staging = self.staging.clone();
        blocking(move || staging.claim_and_clear_leftovers()).await
    }

    /// Creates the directories and this process's staging folder, and nothing else; safe while
    /// services stage uploads in the same directory.
    pub async fn create_dirs(&self) -> io::Result<()> {
        self.create_root().await?;
        let staging = self.staging.clone();
        blocking(move || staging.claim()).await
    }

    async fn create_root(&self) -> io::Result<()> {
        match &self.backend {
            Backend::Fs(fs) => tokio::fs::create_dir_all(fs.root()).await,
            Backend::S3(_) => Ok(()),
        }
    }

    /// A new empty staging file. Dropping the returned path deletes the file, so an upload that
    /// fails or is abandoned at any point leaves nothing behind.
    pub async fn stage(&self) -> io::Result<(tokio::fs::File, TempPath)> {
        let staging = self.staging.clone();
        let staged = blocking(move || {
            tempfile::Builder::new()
                .prefix("upload-")
                .tempfile_in(staging.dir())
        })
        .await?;
        let (file, path) = staged.into_parts();
        Ok((tokio::fs::File::from_std(file), path))
    }

    /// Whether a staged file must be on disk before commit: a rename keeps the file's blocks,
    /// so the directory back end needs them synced; the bucket keeps its own copy.
    pub fn commit_needs_synced_staging(&self) -> bool {
        matches!(self.backend, Backend::Fs(_))
    }

    /// Stores a complete, valid staged file under its final name. The name carries the current
    /// time in milliseconds; if another upload of the same bytes took that name in the same
    /// millisecond, the next millisecond is tried, so two uploads never share a name.
    pub async fn commit(
        &self,
        staged: TempPath,
        sha1_hex: String,
        format: ImageFormat,
    ) -> io::Result<(StoredName, DateTime<Utc>)> {
        self.commit_at(staged, sha1_hex, format, Utc::now().timestamp_millis())
            .await
    }

    /// [`BlobStore::commit`] with the clock given, so that collisions can be tested.
    pub async fn commit_at(
        &self,
        staged: TempPath,
        sha1_hex: String,
        format: ImageFormat,
        unix_ms: i64,
    ) -> io::Result<(StoredName, DateTime<Utc>)> {
        let name = match &self.backend {
            Backend::Fs(fs) => fs.commit(staged, &sha1_hex, format, unix_ms).await?,
            Backend::S3(s3) => s3.commit(staged, &sha1_hex, format, unix_ms).await?,
        };
        let created_at = DateTime::from_timestamp_millis(name.unix_ms()).expect("in range");
        Ok((name, created_at))
    }

    /// Stores a staged file under exactly `name`, replacing what is there (for copying a store).
    pub async fn put_as(&self, staged: TempPath, name: &StoredName) -> io::Result<()> {
        match &self.backend {
            Backend::Fs(fs) => fs.put_as(staged, name).await,
            Backend::S3(s3) => s3.put_as(staged, name).await,
        }
    }

    /// Finds a stored blob; `None` if there is none by that name.
    pub async fn open(&self, name: &StoredName, wanted: Wanted) -> io::Result<Option<Blob>> {
        match &self.backend {
            Backend::Fs(fs) => {
                let read_small = wanted == Wanted::Body;
                Ok(fs.open(name, read_small).await?.map(|opened| match opened {
                    fs::Opened::Read(bytes) => Blob {
                        len: bytes.len() as u64,
                        source: Source::Read(bytes),
                    },
                    fs::Opened::File(file, len) => Blob {
                        len,
                        source: Source::File(file),
                    },
                }))
            }
            Backend::S3(s3) => {
                let key = s3.key_of(name);
                // One round trip for a plain GET: the object's answer carries its size.
                let found = match wanted {
                    Wanted::Body => s3.get(&key).await?.map(|got| (got.meta.size, Some(got))),
                    Wanted::Size => s3.len_of(&key).await?.map(|len| (len, None)),
                };
                Ok(found.map(|(len, fetched)| Blob {
                    len,
                    source: Source::Object {
                        s3: s3.clone(),
                        key,
                        fetched,
                    },
                }))
            }
        }
    }

    /// Removes a blob; removing one that is already gone is not an error.
    pub async fn remove(&self, name: &StoredName) -> io::Result<()> {
        match &self.backend {
            Backend::Fs(fs) => fs.remove(name).await,
            Backend::S3(s3) => s3.remove(&s3.key_of(name)).await,
        }
    }

    /// Every blob in the store (not the staging area), a shard or a listing page at a time.
    pub fn list(&self) -> BoxStream<'static, io::Result<ListedBlob>> {
        match &self.backend {
            Backend::Fs(fs) => fs.list(),
            Backend::S3(s3) => s3.list(),
        }
    }

    pub async fn remove_listed(&self, blob: &ListedBlob) -> io::Result<()> {
        match (&self.backend, &blob.location) {
            (Backend::Fs(_), Location::File(path)) => fs::remove_path(path.clone()).await,
            (Backend::S3(s3), Location::Object(key)) => s3.remove(key).await,
            _ => Err(io::Error::other("listed by another store")),
        }
    }

    /// The SHA-1 of a listed blob's bytes, as lowercase hex.
    pub async fn sha1_of_listed(&self, blob: &ListedBlob) -> io::Result<String> {
        match (&self.backend, &blob.location) {
            (Backend::Fs(_), Location::File(path)) => fs::sha1_of_path(path.clone()).await,
            (Backend::S3(s3), Location::Object(key)) => sha1_of_stream(s3.read(key).await?).await,
            _ => Err(io::Error::other("listed by another store")),
        }
    }

    /// The SHA-1 of a stored blob's bytes; `None` if there is no such blob.
    pub async fn sha1_of(&self, name: &StoredName) -> io::Result<Option<String>> {
        let Some(blob) = self.open(name, Wanted::Body).await? else {
            return Ok(None);
        };
        let len = blob.len;
        sha1_of_stream(blob.read(0, len).await?.into_stream())
            .await
            .map(Some)
    }

    /// Copies a stored blob into a new staging file of this store (which may differ from the
    /// blob's own store), hashing it on the way. Returns the staged file and its SHA-1.
    pub async fn stage_copy(&self, blob: Blob) -> io::Result<(TempPath, String)> {
        use tokio::io::AsyncWriteExt as _;
        let (file, staged) = self.stage().await?;
        let mut file = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let len = blob.len;
        let mut hasher = Sha1::new();
        let mut bytes = blob.read(0, len).await?.into_stream();
        while let Some(chunk) = bytes.try_next().await? {
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        let file = file.into_inner().into_std().await;
        if self.commit_needs_synced_staging() {
            tokio::task::spawn_blocking(move || file.sync_all())
                .await
                .map_err(io::Error::other)??;
        }
        Ok((staged, hex::encode(hasher.finalize())))
    }

    /// Proves the store can take a new upload: a file can be staged, and the bucket (if any)
    /// answers with these credentials.
    pub async fn check_writable(&self) -> io::Result<()> {
        self.stage().await.map(drop)?;
        match &self.backend {
            Backend::Fs(_) => Ok(()),
            Backend::S3(s3) => s3.check_reachable().await,
        }
    }
}

impl Blob {
    /// `len` bytes from `start` (which must lie inside the blob).
    pub async fn read(self, start: u64, len: u64) -> io::Result<BlobBytes> {
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

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

async fn sha1_of_stream(mut bytes: BoxStream<'static, io::Result<Bytes>>) -> io::Result<String> {
    let mut hasher = Sha1::new();
    while let Some(chunk) = bytes.try_next().await? {
        hasher.update(&chunk);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A shard folder's name: the first two (lowercase hex) characters of the SHA-1. Only these
/// folders are listed, so other files beside them are never taken for blobs.
fn is_shard(folder: &str) -> bool {
    folder.len() == 2
        && folder
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Time as HTTP wants it, from a stored name's milliseconds.
pub fn modified_time(name: &StoredName) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(name.unix_ms().max(0) as u64)
}
