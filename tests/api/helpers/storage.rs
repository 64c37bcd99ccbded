//! What the store holds, looked at behind the service's back: the directory or the bucket,
//! and the staging area (which is on local disk with either).

use std::path::{Path, PathBuf};

use mediastore::storage::{BlobStore, Staged};

use super::app::TestApp;

impl TestApp {
    pub fn upload_dir(&self) -> &Path {
        &self.settings.storage.upload_dir
    }

    /// Every stored file in the directory (shards only, not the staging area).
    pub fn stored_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for shard in std::fs::read_dir(self.upload_dir()).unwrap().flatten() {
            // Shards are two-character folders; `.tmp` and anything else are not.
            if shard.file_name().len() != 2 || !shard.file_type().unwrap().is_dir() {
                continue;
            }
            files.extend(
                std::fs::read_dir(shard.path())
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        }
        files.sort();
        files
    }

    /// The stored names, sorted, read from the directory or from the bucket's own listing.
    /// With S3 the upload directory holds nothing but the (empty) staging area.
    pub async fn stored_names(&self) -> Vec<String> {
        let Some(bucket) = &self.bucket else {
            return self
                .stored_files()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
        };
        assert!(self.stored_files().is_empty(), "no blob on local disk");
        let mut names = Vec::new();
        for key in bucket.keys().await {
            let name = key.rsplit('/').next().unwrap().to_owned();
            assert_eq!(
                key,
                bucket.key_of(&name),
                "keys are <prefix>/<2 chars>/<name>"
            );
            names.push(name);
        }
        names.sort();
        names
    }

    /// Everything in the store, blob or not, as paths below its root (the upload directory
    /// without its staging area, or the bucket's prefix), sorted.
    pub async fn everything_stored(&self) -> Vec<String> {
        if let Some(bucket) = &self.bucket {
            let prefix = format!("{}/", bucket.settings.prefix);
            let keys = bucket.keys().await.into_iter();
            return keys
                .map(|k| {
                    k.strip_prefix(&prefix)
                        .expect("under the prefix")
                        .to_owned()
                })
                .collect();
        }
        let mut found = Vec::new();
        let mut folders = vec![self.upload_dir().to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() && path != self.upload_dir().join(".tmp") {
                    folders.push(path);
                } else if path.is_file() {
                    let relative = path.strip_prefix(self.upload_dir()).unwrap();
                    found.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        found
    }

    /// Writes `bytes` at `path` below the store's root, bypassing the service.
    pub async fn put_stored(&self, path: &str, bytes: Vec<u8>) {
        match &self.bucket {
            Some(bucket) => {
                let key = format!("{}/{path}", bucket.settings.prefix);
                bucket.put_object(&key, bytes).await
            }
            None => {
                let path = self.upload_dir().join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
        }
    }

    /// Plants a blob under `name`, as the service would have stored it, without a record.
    pub async fn put_blob(&self, name: &str, bytes: Vec<u8>) {
        self.put_stored(&format!("{}/{name}", &name[..2]), bytes)
            .await
    }

    pub async fn blob_bytes(&self, name: &str) -> Vec<u8> {
        match &self.bucket {
            Some(bucket) => bucket.get_object(&bucket.key_of(name)).await,
            None => std::fs::read(self.blob_path(name)).unwrap(),
        }
    }

    /// Flips one bit of a stored blob behind the service's back.
    pub async fn corrupt(&self, name: &str) {
        let mut bytes = self.blob_bytes(name).await;
        bytes[20] ^= 0x01;
        self.put_blob(name, bytes).await;
    }

    pub async fn delete_blob(&self, name: &str) {
        match &self.bucket {
            Some(bucket) => bucket.delete_object(&bucket.key_of(name)).await,
            None => std::fs::remove_file(self.blob_path(name)).unwrap(),
        }
    }

    /// Where the directory keeps `name`.
    pub fn blob_path(&self, name: &str) -> PathBuf {
        self.upload_dir().join(&name[..2]).join(name)
    }

    /// Files in the staging area: after any finished request there must be none.
    pub fn staged_files(&self) -> Vec<PathBuf> {
        staged_files_in(self.upload_dir())
    }

    /// Asserts that nothing at all was kept: no record, no blob, no staged file, and on S3 no
    /// multipart upload left pending.
    pub async fn assert_nothing_kept(&self) {
        assert_eq!(self.record_count().await, 0, "no record may be kept");
        assert_eq!(
            self.stored_names().await,
            Vec::<String>::new(),
            "no blob may be kept"
        );
        self.assert_no_staged_files();
        if let Some(bucket) = &self.bucket {
            bucket.assert_no_pending_multipart_uploads().await;
        }
    }

    pub fn assert_no_staged_files(&self) {
        assert_nothing_staged_in(self.upload_dir());
    }
}

/// Staged files under `root/.tmp`: loose ones and those in each process's folder, not the
/// processes' lock files.
pub fn staged_files_in(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(area) = std::fs::read_dir(root.join(".tmp")) else {
        return files;
    };
    for entry in area.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if path.extension().is_none_or(|ext| ext != "lock") {
            files.push(path);
        }
    }
    files
}

pub fn assert_nothing_staged_in(root: &Path) {
    assert_eq!(
        staged_files_in(root),
        Vec::<PathBuf>::new(),
        "no temporary file may be left"
    );
}

/// `bytes` as a finished staging file of `store`, ready to commit.
pub async fn staged(store: &BlobStore, bytes: &[u8]) -> Staged {
    let mut file = store.stage().await.unwrap();
    file.append(bytes::Bytes::copy_from_slice(bytes))
        .await
        .unwrap();
    file.finish().await.unwrap()
}

/// A blob directory of its own, prepared as at start-up.
pub async fn prepared_directory() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::fs(dir.path());
    store.prepare().await.unwrap();
    (dir, store)
}
