//! Where bytes live. Two back ends behind one [`BlobStore`]:
//!
//! - `fs`: a sharded directory, `<root>/<2 chars>/<stored name>` (the default);
//! - `s3`: an S3-compatible bucket, `<prefix>/<2 chars>/<stored name>`.
//!
//! Both stage an upload in a local directory first (`<upload dir>/.tmp`), as a [`StagedFile`]
//! where it is written and checked. Only a complete, valid file is then committed under its
//! final name, so no reader ever sees a partial blob and a rejected upload leaves nothing in
//! the store.

mod blob;
mod error;
mod fs;
mod guarded_bucket;
mod hot_cache;
mod s3;
mod staged;
mod staging;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use sha1::{Digest, Sha1};

use crate::config::{S3Settings, StorageKind, StorageSettings};
use crate::media::{ImageFormat, StoredName, VariantName};

pub use blob::{Blob, BlobBytes, ListedBlob, WHOLE_READ_MAX_BYTES, Wanted};
use blob::{Location, Source};
pub use error::StorageError;
use error::{Result, blocking};
pub use fs::FsBlobs;
pub use hot_cache::{CACHE_LOOKUPS, HotCache};
pub use s3::{S3Blobs, StoreLayer};
pub use staged::{Staged, StagedFile};
use staging::Staging;

const STAGING_DIR: &str = ".tmp";

#[derive(Debug, Clone)]
pub struct BlobStore {
    staging: Arc<Staging>,
    backend: Backend,
    hot: HotCache,
}

#[derive(Debug, Clone)]
enum Backend {
    Fs(FsBlobs),
    S3(S3Blobs),
}

impl BlobStore {
    /// The store `settings` configure.
    pub fn new(settings: &StorageSettings) -> Result<Self> {
        Self::of_kind(settings.kind, settings)
    }

    /// The store `kind` names, configured from `settings` (`migrate-store` opens both).
    pub fn of_kind(kind: StorageKind, settings: &StorageSettings) -> Result<Self> {
        match kind {
            StorageKind::Fs => Ok(Self::fs(&settings.upload_dir)),
            StorageKind::S3 => {
                let s3 = settings.s3().ok_or(StorageError::NoBucket)?;
                Self::s3(&s3, &settings.upload_dir)
            }
        }
    }

    /// The sharded directory at `root`, staging in `root/.tmp` (one file system, so the final
    /// rename is atomic).
    pub fn fs(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            staging: Arc::new(Staging::new(root.join(STAGING_DIR))),
            backend: Backend::Fs(FsBlobs::new(root)),
            hot: HotCache::default(),
        }
    }

    /// The bucket, staging uploads in `upload_dir/.tmp`.
    pub fn s3(settings: &S3Settings, upload_dir: &Path) -> Result<Self> {
        Self::s3_layered(settings, upload_dir, None)
    }

    /// [`BlobStore::s3`] with its client wrapped by `layer` (tests inject faults this way).
    pub fn s3_layered(
        settings: &S3Settings,
        upload_dir: &Path,
        layer: Option<StoreLayer>,
    ) -> Result<Self> {
        Ok(Self {
            staging: Arc::new(Staging::new(upload_dir.join(STAGING_DIR))),
            backend: Backend::S3(S3Blobs::new(settings, layer)?),
            hot: HotCache::default(),
        })
    }

    /// This store with a hot-file cache of up to `max_bytes` in front of its reads (for the
    /// service's downloads; commands read without one).
    pub fn with_hot_cache(mut self, max_bytes: u64) -> Self {
        self.hot = HotCache::new(max_bytes);
        self
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
    pub async fn prepare(&self) -> Result<usize> {
        self.create_root().await?;
        let staging = self.staging.clone();
        tokio::task::spawn_blocking(move || staging.claim_and_clear_leftovers()).await?
    }

    /// Creates the directories and this process's staging folder, and nothing else; safe while
    /// services stage uploads in the same directory.
    pub async fn create_dirs(&self) -> Result<()> {
        self.create_root().await?;
        let staging = self.staging.clone();
        tokio::task::spawn_blocking(move || staging.claim()).await?
    }

    async fn create_root(&self) -> Result<()> {
        match &self.backend {
            Backend::Fs(fs) => Ok(tokio::fs::create_dir_all(fs.root()).await?),
            Backend::S3(_) => Ok(()),
        }
    }

    /// A new, empty staging file.
    pub async fn stage(&self) -> Result<StagedFile> {
        let staging = self.staging.clone();
        let staged = blocking(move || {
            tempfile::Builder::new()
                .prefix("upload-")
                .tempfile_in(staging.dir())
        })
        .await?;
        let (file, path) = staged.into_parts();
        let sync_on_finish = matches!(self.backend, Backend::Fs(_));
        Ok(StagedFile::new(file, path, sync_on_finish))
    }

    /// Stores a complete staged file under its final name. The name carries the current time in
    /// milliseconds; if another upload of the same bytes took that name in the same
    /// millisecond, the next millisecond is tried, so two uploads never share a name.
    pub async fn commit(
        &self,
        staged: Staged,
        sha1_hex: &str,
        format: ImageFormat,
    ) -> Result<(StoredName, DateTime<Utc>)> {
        self.commit_at(staged, sha1_hex, format, Utc::now().timestamp_millis())
            .await
    }

    /// [`BlobStore::commit`] with the clock given, so that collisions can be tested.
    pub async fn commit_at(
        &self,
        staged: Staged,
        sha1_hex: &str,
        format: ImageFormat,
        unix_ms: i64,
    ) -> Result<(StoredName, DateTime<Utc>)> {
        let names = StoredName::candidates(sha1_hex, unix_ms, format)?;
        let name = match &self.backend {
            Backend::Fs(fs) => fs.commit(staged, names).await?,
            Backend::S3(s3) => s3.commit(staged, names).await?,
        };
        let created_at = DateTime::from_timestamp_millis(name.unix_ms()).expect("in range");
        Ok((name, created_at))
    }

    /// Stores a staged file under exactly `name`, replacing what is there (for copying a store).
    pub async fn put_as(&self, staged: Staged, name: &StoredName) -> Result<()> {
        match &self.backend {
            Backend::Fs(fs) => fs.put_as(staged, name).await,
            Backend::S3(s3) => s3.put_as(staged, name).await,
        }
    }

    /// Finds a stored blob; `None` if there is none by that name.
    pub async fn open(&self, name: &StoredName, wanted: Wanted) -> Result<Option<Blob>> {
        if let Some(bytes) = self.hot.original(name) {
            return Ok(Some(Blob::in_memory(bytes)));
        }
        let blob = match &self.backend {
            Backend::Fs(fs) => fs.open(name, wanted == Wanted::Body).await?,
            Backend::S3(s3) => s3.open(name, wanted).await?,
        };
        if let Some(bytes) = blob.as_ref().and_then(Blob::in_memory_bytes) {
            self.hot.keep_original(name, bytes);
        }
        Ok(blob)
    }

    /// A made variant; `None` if it has not been made (or was removed).
    pub async fn open_variant(&self, name: &VariantName, wanted: Wanted) -> Result<Option<Blob>> {
        if let Some(bytes) = self.hot.variant(name) {
            return Ok(Some(Blob::in_memory(bytes)));
        }
        let blob = match &self.backend {
            Backend::Fs(fs) => {
                fs::open_path(fs.path_of_variant(name), wanted == Wanted::Body).await?
            }
            Backend::S3(s3) => s3.open_variant(name, wanted).await?,
        };
        if let Some(bytes) = blob.as_ref().and_then(Blob::in_memory_bytes) {
            self.hot.keep_variant(name, bytes);
        }
        Ok(blob)
    }

    /// Keeps a made variant beside its source, written as atomically as an upload: readers see
    /// the whole variant or none. Replaces one already there (the same bytes).
    pub async fn put_variant(&self, name: &VariantName, bytes: Bytes) -> Result<()> {
        let mut staged = self.stage().await?;
        staged.append(bytes.clone()).await?;
        let staged = staged.finish().await?;
        match &self.backend {
            Backend::Fs(fs) => fs.put_variant(staged, name).await?,
            Backend::S3(s3) => s3.put_variant(staged, name).await?,
        }
        // Just made: its first request is on its way.
        self.hot.keep_variant(name, &bytes);
        Ok(())
    }

    /// Every kept variant, by source in name order (whether or not the source is still there).
    /// Files in the variants folder that are not ours are left out.
    pub async fn list_variants(&self) -> Result<BTreeMap<StoredName, Vec<VariantName>>> {
        let listed = match &self.backend {
            Backend::Fs(fs) => fs.list_variants().await?,
            Backend::S3(s3) => s3.list_variants().await?,
        };
        let mut by_source: BTreeMap<StoredName, Vec<VariantName>> = BTreeMap::new();
        for (source, file) in listed {
            let Ok(source) = StoredName::parse(&source) else {
                continue;
            };
            if let Some(variant) = VariantName::parse(&source, &file) {
                by_source.entry(source).or_default().push(variant);
            }
        }
        Ok(by_source)
    }

    /// Removes every variant made of `source`; none is not an error.
    pub async fn remove_variants_of(&self, source: &StoredName) -> Result<()> {
        self.hot.forget(source);
        match &self.backend {
            Backend::Fs(fs) => fs.remove_variants_of(source).await,
            Backend::S3(s3) => s3.remove_variants_of(source).await,
        }
    }

    /// Removes a blob, then the variants made of it; removing one that is already gone is not
    /// an error. So deleting, expiring and collecting media all take their variants along.
    pub async fn remove(&self, name: &StoredName) -> Result<()> {
        self.hot.forget(name);
        match &self.backend {
            Backend::Fs(fs) => fs.remove(name).await?,
            Backend::S3(s3) => s3.remove(&s3.key_of(name)).await?,
        }
        self.remove_variants_of(name).await
    }

    /// Every blob in the store (not the staging area), a shard or a listing page at a time.
    pub fn list(&self) -> BoxStream<'static, Result<ListedBlob>> {
        match &self.backend {
            Backend::Fs(fs) => fs.list(),
            Backend::S3(s3) => s3.list(),
        }
    }

    /// Removes a listed blob and, if it has a stored name, its variants.
    pub async fn remove_listed(&self, blob: &ListedBlob) -> Result<()> {
        match (&self.backend, &blob.location) {
            (Backend::Fs(_), Location::File(path)) => fs::remove_path(path.clone()).await?,
            (Backend::S3(s3), Location::Object(key)) => s3.remove(key).await?,
            _ => return Err(StorageError::ListedElsewhere),
        }
        match StoredName::parse(&blob.file_name) {
            Ok(name) => self.remove_variants_of(&name).await,
            Err(_) => Ok(()),
        }
    }

    /// The SHA-1 of a listed blob's bytes, as lowercase hex.
    pub async fn sha1_of_listed(&self, blob: &ListedBlob) -> Result<String> {
        match (&self.backend, &blob.location) {
            (Backend::Fs(_), Location::File(path)) => fs::sha1_of_path(path.clone()).await,
            (Backend::S3(s3), Location::Object(key)) => sha1_of_stream(s3.read(key).await?).await,
            _ => Err(StorageError::ListedElsewhere),
        }
    }

    /// The SHA-1 of a stored blob's bytes; `None` if there is no such blob.
    pub async fn sha1_of(&self, name: &StoredName) -> Result<Option<String>> {
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
    pub async fn stage_copy(&self, blob: Blob) -> Result<(Staged, String)> {
        let mut staged = self.stage().await?;
        let len = blob.len;
        let mut hasher = Sha1::new();
        let mut bytes = blob.read(0, len).await?.into_stream();
        while let Some(chunk) = bytes.try_next().await? {
            hasher.update(&chunk);
            staged.append(chunk).await?;
        }
        Ok((staged.finish().await?, hex::encode(hasher.finalize())))
    }

    /// Proves the store can take a new upload: a file can be staged, and the bucket (if any)
    /// answers with these credentials.
    pub async fn check_writable(&self) -> Result<()> {
        drop(self.stage().await?);
        match &self.backend {
            Backend::Fs(_) => Ok(()),
            Backend::S3(s3) => s3.check_reachable().await,
        }
    }
}

async fn sha1_of_stream(mut bytes: BoxStream<'static, std::io::Result<Bytes>>) -> Result<String> {
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
