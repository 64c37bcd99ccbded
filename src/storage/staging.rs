//! The local staging area, `<upload dir>/.tmp/`, where every upload is written and checked
//! before it is committed.
//!
//! Each process stages in a folder of its own, `.tmp/<uuid>/`, and holds an exclusive lock on
//! `.tmp/<uuid>.lock` for as long as it runs. A process starting up removes what crashed
//! processes left (their locks are free), and never touches the uploads in flight of another
//! instance that shares the directory.

use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::error::{Result, StorageError};

const LOCK_SUFFIX: &str = ".lock";

#[derive(Debug)]
pub struct Staging {
    area: PathBuf,
    own: PathBuf,
    lock: OnceLock<File>,
}

impl Staging {
    pub fn new(area: PathBuf) -> Self {
        let own = area.join(uuid::Uuid::new_v4().simple().to_string());
        Self {
            area,
            own,
            lock: OnceLock::new(),
        }
    }

    /// This process's folder; it exists once [`Staging::claim`] has run.
    pub fn dir(&self) -> &Path {
        &self.own
    }

    /// Creates this process's folder, after taking its lock (so that no one takes the folder for
    /// a leftover). Idempotent.
    pub fn claim(&self) -> Result<()> {
        if self.lock.get().is_some() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.area)?;
        let lock = File::create(self.lock_path(&self.own))?;
        lock.try_lock().map_err(|e| match e {
            TryLockError::WouldBlock => StorageError::StagingLocked,
            TryLockError::Error(e) => e.into(),
        })?;
        std::fs::create_dir_all(&self.own)?;
        let _ = self.lock.set(lock);
        Ok(())
    }

    /// Claims this process's folder and removes what processes that are gone left behind.
    /// Returns how many staged files were removed.
    pub fn claim_and_clear_leftovers(&self) -> Result<usize> {
        self.claim()?;
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.area)? {
            let path = entry?.path();
            if path == self.own || path == self.lock_path(&self.own) {
                continue;
            }
            if let Some(folder) = path.to_str().and_then(|p| p.strip_suffix(LOCK_SUFFIX)) {
                if lock_is_free(&path)? {
                    removed += remove_folder(Path::new(folder))?;
                    remove_if_present(&path)?;
                }
            } else if path.is_dir() {
                // A folder is only ever made after its lock file, so one without is a leftover.
                if !self.lock_path(&path).exists() {
                    removed += remove_folder(&path)?;
                }
            } else {
                remove_if_present(&path)?; // a staged file of an older version
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn lock_path(&self, folder: &Path) -> PathBuf {
        let mut name = folder.as_os_str().to_owned();
        name.push(LOCK_SUFFIX);
        PathBuf::from(name)
    }
}

fn lock_is_free(lock: &Path) -> io::Result<bool> {
    let file = match File::open(lock) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Removes a folder of staged files; returns how many files it held.
fn remove_folder(folder: &Path) -> io::Result<usize> {
    let files = match std::fs::read_dir(folder) {
        Ok(entries) => entries.count(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    match std::fs::remove_dir_all(folder) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(files),
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
