//! The directory back end: `<root>/<2 chars>/<stored name>`, files renamed into place from the
//! staging area on the same file system; made variants under `<root>/variants/`.

use std::io;
use std::path::{Path, PathBuf};

use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt, TryStreamExt};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::error::{Result, blocking};
use super::{Blob, BlobBytes, ListedBlob, Location, Source, Staged, WHOLE_READ_MAX_BYTES};
use crate::media::{InvalidName, StoredName, VariantName};

/// The folder of made variants, beside the shards (SPEC §10).
pub(super) const VARIANTS_DIR: &str = "variants";

const READ_CHUNK_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path_of(&self, name: &StoredName) -> PathBuf {
        self.root.join(name.shard()).join(name.as_ref())
    }

    /// Renames a synced staging file to the first free name of `names` and makes the rename
    /// durable.
    pub(super) async fn commit(
        &self,
        staged: Staged,
        names: impl Iterator<Item = StoredName> + Send + 'static,
    ) -> Result<StoredName> {
        let root = self.root.clone();
        let mut staged = staged.path;
        let committed = tokio::task::spawn_blocking(move || {
            make_public(&staged)?;
            for name in names {
                let shard = root.join(name.shard());
                std::fs::create_dir_all(&shard)?;
                match staged.persist_noclobber(shard.join(name.as_ref())) {
                    Ok(()) => {
                        std::fs::File::open(&shard)?.sync_all()?;
                        return Ok(name);
                    }
                    Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => staged = e.path,
                    Err(e) => return Err(e.error.into()),
                }
            }
            Err(InvalidName.into())
        });
        committed.await?
    }

    pub(super) async fn put_as(&self, staged: Staged, name: &StoredName) -> Result<()> {
        self.put_at(staged, self.path_of(name)).await
    }

    /// Where a made variant lives: `variants/<shard>/<source name>/<recipe>.<ext>`, a tree
    /// beside the shards that listing (and so `gc`) leaves alone.
    pub fn path_of_variant(&self, name: &VariantName) -> PathBuf {
        self.variants_of(name.source()).join(name.file_name())
    }

    fn variants_of(&self, source: &StoredName) -> PathBuf {
        self.root
            .join(VARIANTS_DIR)
            .join(source.shard())
            .join(source.as_ref())
    }

    pub(super) async fn put_variant(&self, staged: Staged, name: &VariantName) -> Result<()> {
        self.put_at(staged, self.path_of_variant(name)).await
    }

    /// (source folder, file) of every file under the variants folder.
    pub(super) async fn list_variants(&self) -> Result<Vec<(String, String)>> {
        let root = self.root.join(VARIANTS_DIR);
        blocking(move || {
            let mut listed = Vec::new();
            if !root.exists() {
                return Ok(listed); // no variant made yet
            }
            let folders = |path: &Path| -> io::Result<Vec<std::fs::DirEntry>> {
                let mut folders = Vec::new();
                for entry in std::fs::read_dir(path)? {
                    let entry = entry?;
                    if entry.file_type()?.is_dir() {
                        folders.push(entry);
                    }
                }
                Ok(folders)
            };
            for shard in folders(&root)? {
                for source in folders(&shard.path())? {
                    let source_name = source.file_name().to_string_lossy().into_owned();
                    for file in std::fs::read_dir(source.path())? {
                        let file = file?.file_name().to_string_lossy().into_owned();
                        listed.push((source_name.clone(), file));
                    }
                }
            }
            Ok(listed)
        })
        .await
    }

    pub(super) async fn remove_variants_of(&self, source: &StoredName) -> Result<()> {
        let dir = self.variants_of(source);
        blocking(move || {
            // A variant being made as its file is deleted can land in the folder while it is
            // being emptied; the next pass removes it, and `gc` whatever comes after.
            for _ in 0..3 {
                match std::fs::remove_dir_all(&dir) {
                    Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => continue,
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => return Ok(()),
                }
            }
            tracing::warn!(dir = %dir.display(), "variants kept appearing as their file was deleted; gc will remove them");
            Ok(())
        })
        .await
    }

    /// Renames a staged file to `path`, replacing what is there, durably.
    async fn put_at(&self, staged: Staged, path: PathBuf) -> Result<()> {
        let staged = staged.path;
        blocking(move || {
            make_public(&staged)?;
            let dir = path.parent().expect("a folder");
            std::fs::create_dir_all(dir)?;
            staged.persist(&path).map_err(|e| e.error)?;
            std::fs::File::open(dir)?.sync_all()
        })
        .await
    }

    /// The open file, with its bytes if `read_small` and it is small; `None` if there is no
    /// such file. Open, stat and read take one trip to the blocking pool: this is every
    /// download's hot path, and each trip costs two context switches.
    pub(super) async fn open(&self, name: &StoredName, read_small: bool) -> Result<Option<Blob>> {
        open_path(self.path_of(name), read_small).await
    }

    pub(super) async fn remove(&self, name: &StoredName) -> Result<()> {
        remove_path(self.path_of(name)).await
    }

    /// Shard by shard, each read in one trip to the blocking pool.
    pub(super) fn list(&self) -> BoxStream<'static, Result<ListedBlob>> {
        let root = self.root.clone();
        stream::once(async move { blocking(move || shards(&root)).await })
            .map_ok(|shards| stream::iter(shards.into_iter().map(Ok)))
            .try_flatten()
            .and_then(|shard| async move { blocking(move || files_in(&shard)).await })
            .map_ok(|files| stream::iter(files.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// [`FsBlobs::open`] of any path in the store.
pub(super) async fn open_path(path: PathBuf, read_small: bool) -> Result<Option<Blob>> {
    let opened = tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if read_small && len <= WHOLE_READ_MAX_BYTES {
            let mut bytes = Vec::with_capacity(len as usize); // not zeroed first
            file.read_to_end(&mut bytes)?;
            let source = Source::Read(bytes.into());
            return Ok(Blob { len, source });
        }
        let source = Source::File(tokio::fs::File::from_std(file));
        Ok::<_, io::Error>(Blob { len, source })
    })
    .await?;
    match opened {
        Ok(blob) => Ok(Some(blob)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Staging files are private (0600); a stored file is readable by other local readers such as
/// nginx or a backup job.
fn make_public(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
}

pub(super) async fn remove_path(path: PathBuf) -> Result<()> {
    blocking(move || match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    })
    .await
}

pub(super) async fn read(mut file: tokio::fs::File, start: u64, len: u64) -> Result<BlobBytes> {
    if start > 0 {
        file.seek(io::SeekFrom::Start(start)).await?;
    }
    if len <= WHOLE_READ_MAX_BYTES {
        // One read and one write: far cheaper than a chunked stream for typical web images.
        let mut bytes = vec![0; len as usize];
        file.read_exact(&mut bytes).await?;
        return Ok(BlobBytes::Whole(bytes.into()));
    }
    Ok(BlobBytes::Stream(
        ReaderStream::with_capacity(file.take(len), READ_CHUNK_BYTES).boxed(),
    ))
}

pub(super) async fn sha1_of_path(path: PathBuf) -> Result<String> {
    blocking(move || {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Sha1::new();
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok(hex::encode(hasher.finalize()));
            }
            hasher.update(&buffer[..n]);
        }
    })
    .await
}

/// The shard directories, in name order (not the staging area, nor anything else kept there).
fn shards(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut shards = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() && entry.file_name().to_str().is_some_and(super::is_shard) {
            shards.push(entry.path());
        }
    }
    shards.sort();
    Ok(shards)
}

/// The files of one shard, in name order.
fn files_in(shard: &Path) -> io::Result<Vec<ListedBlob>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(shard)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(ListedBlob {
                file_name: entry.file_name().to_string_lossy().into_owned(),
                modified: entry.metadata()?.modified()?,
                location: Location::File(entry.path()),
            });
        }
    }
    files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(files)
}
