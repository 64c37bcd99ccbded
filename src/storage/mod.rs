//! Where bytes live: a sharded directory, `<root>/<2 chars>/<stored name>`.
//!
//! Uploads are staged in `<root>/.tmp` (same file system, so the final rename is atomic) and
//! moved into their shard only when complete and valid: a reader never sees a partial file.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use tempfile::TempPath;

use crate::media::{ImageFormat, StoredName};

const STAGING_DIR: &str = ".tmp";

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    staging: PathBuf,
}

/// A file found in a shard; its name is not validated (a stray file may sit there).
#[derive(Debug, Clone)]
pub struct ListedFile {
    pub file_name: String,
    pub path: PathBuf,
    pub modified: SystemTime,
}

/// A complete blob: its open file and what its headers need.
pub struct Blob {
    pub file: tokio::fs::File,
    pub len: u64,
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let staging = root.join(STAGING_DIR);
        Self { root, staging }
    }

    pub fn path_of(&self, name: &StoredName) -> PathBuf {
        self.root.join(name.shard()).join(name.as_ref())
    }

    /// Creates the directories and removes staged files a crash left behind. Returns how many
    /// leftovers were removed. Call before serving, while no upload can be in flight.
    pub async fn prepare(&self) -> io::Result<usize> {
        tokio::fs::create_dir_all(&self.staging).await?;
        let mut removed = 0;
        let mut entries = tokio::fs::read_dir(&self.staging).await?;
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_type().await?.is_file() {
                tokio::fs::remove_file(entry.path()).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// A new empty staging file. Dropping the returned path deletes the file, so an upload that
    /// fails or is abandoned at any point leaves nothing behind.
    pub async fn stage(&self) -> io::Result<(tokio::fs::File, TempPath)> {
        let staging = self.staging.clone();
        let staged = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix("upload-")
                .tempfile_in(staging)
        })
        .await
        .map_err(io::Error::other)??;
        let (file, path) = staged.into_parts();
        Ok((tokio::fs::File::from_std(file), path))
    }

    /// Moves a complete, synced staging file to its final name and makes the rename durable.
    /// The name carries the current time in milliseconds; if another upload of the same bytes
    /// took that name in the same millisecond, the next millisecond is tried, so two uploads
    /// never share a name.
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
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            // Staging files are private (0600); a stored file is readable by other local
            // readers such as nginx or a backup job.
            std::fs::set_permissions(&staged, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
            let mut staged = staged;
            let mut unix_ms = unix_ms;
            loop {
                let name = StoredName::new(&sha1_hex, unix_ms, format).map_err(io::Error::other)?;
                let shard = root.join(name.shard());
                std::fs::create_dir_all(&shard)?;
                match staged.persist_noclobber(shard.join(name.as_ref())) {
                    Ok(()) => {
                        std::fs::File::open(&shard)?.sync_all()?;
                        let created_at =
                            DateTime::from_timestamp_millis(unix_ms).expect("in range");
                        return Ok((name, created_at));
                    }
                    Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                        staged = e.path;
                        unix_ms += 1;
                    }
                    Err(e) => return Err(e.error),
                }
            }
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Opens a stored blob; `None` if there is no such file.
    pub async fn open(&self, name: &StoredName) -> io::Result<Option<Blob>> {
        let path = self.path_of(name);
        // Open and stat in one trip to the blocking pool: this is every download's hot path.
        let opened = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(path)?;
            let len = file.metadata()?.len();
            Ok::<_, io::Error>((file, len))
        })
        .await
        .map_err(io::Error::other)?;
        match opened {
            Ok((file, len)) => Ok(Some(Blob {
                file: tokio::fs::File::from_std(file),
                len,
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes a blob; removing one that is already gone is not an error.
    pub fn remove_blocking(&self, name: &StoredName) -> io::Result<()> {
        match std::fs::remove_file(self.path_of(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    pub async fn remove(&self, name: &StoredName) -> io::Result<()> {
        let store = self.clone();
        let name = name.clone();
        tokio::task::spawn_blocking(move || store.remove_blocking(&name))
            .await
            .map_err(io::Error::other)?
    }

    /// The shard directories (every directory but the staging area).
    pub fn shards_blocking(&self) -> io::Result<Vec<PathBuf>> {
        let mut shards = Vec::new();
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() && entry.path() != self.staging {
                shards.push(entry.path());
            }
        }
        shards.sort();
        Ok(shards)
    }

    /// The files of one shard, in name order.
    pub fn files_in_blocking(&self, shard: &Path) -> io::Result<Vec<ListedFile>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(shard)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(ListedFile {
                    file_name: entry.file_name().to_string_lossy().into_owned(),
                    path: entry.path(),
                    modified: entry.metadata()?.modified()?,
                });
            }
        }
        files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        Ok(files)
    }

    /// Proves the store can take a new upload by staging (and dropping) an empty file.
    pub async fn check_writable(&self) -> io::Result<()> {
        self.stage().await.map(drop)
    }
}

/// Time as HTTP wants it, from a stored name's milliseconds.
pub fn modified_time(name: &StoredName) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(name.unix_ms().max(0) as u64)
}
