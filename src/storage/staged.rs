//! An upload on its way into the store: written into this process's staging folder, then
//! finished (made ready to commit), then committed by [`super::BlobStore::commit`].

use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt as _;

use bytes::Bytes;
use tempfile::TempPath;

use super::error::{Result, StorageError};

/// Enough to turn many small network chunks into few large writes.
const WRITE_BATCH_BYTES: usize = 128 * 1024;

/// A staging file being written. It owns its file: bytes go in through [`StagedFile::append`],
/// and [`StagedFile::finish`] makes it ready to commit. Dropped before then, at any point (an
/// error, a client that hangs up, a cancelled request), it deletes its file.
#[derive(Debug)]
pub struct StagedFile {
    /// `None` only while a write is on the blocking pool.
    file: Option<std::fs::File>,
    path: TempPath,
    /// Chunks appended and not yet written: kept as they arrived (reference-counted, not
    /// copied) until a batch is worth a trip to the blocking pool.
    pending: Vec<Bytes>,
    pending_bytes: usize,
    /// Bytes to write over what was appended at these offsets, once the file is complete (a
    /// header whose fields depend on everything after it).
    patches: Vec<(u64, Vec<u8>)>,
    /// Whether the bytes must be on disk before commit: a rename keeps the file's blocks, so
    /// the directory back end needs them synced; the bucket keeps its own copy.
    sync_on_finish: bool,
}

/// A complete staging file, ready to commit; dropping it deletes the file.
#[derive(Debug)]
pub struct Staged {
    pub(super) path: TempPath,
    pub len: u64,
}

impl StagedFile {
    pub(super) fn new(file: std::fs::File, path: TempPath, sync_on_finish: bool) -> Self {
        Self {
            file: Some(file),
            path,
            pending: Vec::new(),
            pending_bytes: 0,
            patches: Vec::new(),
            sync_on_finish,
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Appends `chunk`. Chunks are written [`WRITE_BATCH_BYTES`] at a time, each batch in one
    /// vectored write on the blocking pool: one trip per batch, and no copy into a buffer.
    /// Memory per file is one batch, whatever the file's size.
    pub async fn append(&mut self, chunk: Bytes) -> Result<()> {
        // An empty chunk writes nothing; kept, it could be a batch's only slice, and a write of
        // zero bytes reads as a full disk.
        if chunk.is_empty() {
            return Ok(());
        }
        self.pending_bytes += chunk.len();
        self.pending.push(chunk);
        if self.pending_bytes >= WRITE_BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let chunks = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        if chunks.is_empty() {
            return Ok(());
        }
        let mut file = self
            .file
            .take()
            .ok_or(io::Error::other("a write is in flight"))?;
        let (file, written) = tokio::task::spawn_blocking(move || {
            let written = write_all_vectored(&mut file, &chunks);
            (file, written)
        })
        .await?;
        self.file = Some(file);
        Ok(written?)
    }

    /// Overwrites `bytes` at `offset` (inside what was appended) when the file is finished.
    pub fn patch(&mut self, offset: u64, bytes: Vec<u8>) {
        self.patches.push((offset, bytes));
    }

    /// Applies the patches, checks the complete file with `inspect` (from its first byte,
    /// patched), then makes it as durable
    /// as its back end needs, in the same trip to the blocking pool. A file `inspect` refuses
    /// is deleted, never synced.
    pub async fn finish_checked<T, E>(
        mut self,
        inspect: impl FnOnce(&std::fs::File) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<(Staged, T), E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        self.flush().await?;
        let mut file = self
            .file
            .take()
            .ok_or(StorageError::from(io::Error::other("a write is in flight")))?;
        let sync = self.sync_on_finish;
        let patches = std::mem::take(&mut self.patches);
        let checked = tokio::task::spawn_blocking(move || {
            for (offset, bytes) in patches {
                file.write_all_at(&bytes, offset)
                    .map_err(StorageError::from)?;
            }
            file.seek(SeekFrom::Start(0)).map_err(StorageError::from)?;
            let value = inspect(&file)?;
            if sync {
                file.sync_all().map_err(StorageError::from)?;
            }
            let len = file.metadata().map_err(StorageError::from)?.len();
            Ok::<_, E>((value, len))
        })
        .await
        .map_err(StorageError::from)?;
        let (value, len) = checked?;
        Ok((
            Staged {
                path: self.path,
                len,
            },
            value,
        ))
    }

    /// [`StagedFile::finish_checked`] with nothing to check.
    pub async fn finish(self) -> Result<Staged> {
        self.finish_checked(|_| Ok::<_, StorageError>(()))
            .await
            .map(|(staged, ())| staged)
    }
}

fn write_all_vectored(file: &mut std::fs::File, chunks: &[Bytes]) -> io::Result<()> {
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
    Ok(())
}
