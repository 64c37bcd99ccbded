//! The bucket back end, through `object_store`: keys `<prefix>/<2 chars>/<stored name>`.
//!
//! A staged file goes out in one conditional `PUT` (`If-None-Match: *`) when it fits in one
//! part, or as a multipart upload of [`PART_BYTES`] parts. Either way the object appears under
//! its key only when complete, and a failed multipart upload is aborted. Memory per upload is
//! one part, whatever the file's size.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, S3ConditionalPut, S3CopyIfNotExists};
use object_store::path::Path;
use object_store::{
    ClientOptions, GetOptions, GetRange, GetResult, MultipartUpload, ObjectStore, ObjectStoreExt,
    PutMode, PutOptions, PutPayload, RetryConfig,
};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use super::error::{Result, StorageError};
use super::fs::VARIANTS_DIR;
use super::guarded_bucket::GuardedBucket;
use super::{Blob, BlobBytes, ListedBlob, Location, Source, Staged, WHOLE_READ_MAX_BYTES, Wanted};
use crate::breaker::Breaker;
use crate::config::S3Settings;
use crate::media::{InvalidName, StoredName, VariantName};

/// S3's smallest part (except the last). A file up to this size goes in one `PUT`.
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts (or single-`PUT` files) held in memory at once across all uploads: at most 40 MiB.
const PARTS_IN_MEMORY: usize = 8;
/// The folder, beside the shard folders, where multipart uploads are assembled before they are
/// copied to their final key. Anything left there by a crash is an orphan to `gc`.
const UPLOADS_DIR: &str = ".uploads";

#[derive(Clone)]
pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    /// The root of every key; the empty path for the bucket root.
    prefix: Path,
    part_memory: Arc<Semaphore>,
}

impl fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Blobs({self})")
    }
}

impl fmt::Display for S3Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Wraps the bucket's client, so that a test can put faults between it and the server.
pub type StoreLayer = fn(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore>;

impl S3Blobs {
    pub fn new(settings: &S3Settings, layer: Option<StoreLayer>) -> Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            // Native S3 conditional writes: `PutMode::Create` sends `If-None-Match: *`.
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            // `copy_if_not_exists`: a one-part multipart copy completed with `If-None-Match: *`.
            .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
            // A request waits on these; the defaults (10 retries over 3 minutes, 30 s a request)
            // would hold a client far longer than it waits. One retry, within the timeout.
            .with_retry(RetryConfig {
                max_retries: 1,
                retry_timeout: settings.timeout,
                ..RetryConfig::default()
            })
            // These options replace the builder's own, so `allow_http` goes here too.
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(settings.allow_http)
                    .with_timeout(settings.timeout)
                    .with_connect_timeout(settings.timeout),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let store: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
        let prefix = Path::parse(&settings.prefix).map_err(object_store::Error::from)?;
        let store = match layer {
            Some(wrap) => wrap(store),
            None => store,
        };
        let breaker = Arc::new(Breaker::new("bucket", 3, Duration::from_secs(2)));
        Ok(Self {
            store: Arc::new(GuardedBucket::new(store, breaker)),
            bucket: settings.bucket.clone(),
            prefix,
            part_memory: Arc::new(Semaphore::new(PARTS_IN_MEMORY)),
        })
    }

    pub fn key_of(&self, name: &StoredName) -> Path {
        self.prefix.clone().join(name.shard()).join(name.as_ref())
    }

    /// Uploads a staged file under the first free name of `names`. The local staging file is
    /// deleted when `staged` drops, whatever the outcome.
    pub(super) async fn commit(
        &self,
        staged: Staged,
        names: impl Iterator<Item = StoredName>,
    ) -> Result<StoredName> {
        let mut file = tokio::fs::File::open(&staged.path).await?;
        if staged.len <= PART_BYTES as u64 {
            let _memory = self.part_memory.acquire().await.expect("never closed");
            let payload = PutPayload::from(read_part(&mut file, staged.len as usize).await?);
            for name in names {
                let create = PutOptions::from(PutMode::Create); // If-None-Match: *
                match self
                    .store
                    .put_opts(&self.key_of(&name), payload.clone(), create)
                    .await
                {
                    Ok(_) => return Ok(name),
                    Err(object_store::Error::AlreadyExists { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Err(InvalidName.into());
        }
        // S3 cannot make the completion of a multipart upload conditional through object_store,
        // so the parts go to a key of their own (outside the shard folders), and a conditional
        // server-side copy then claims the final name.
        let parts = self
            .prefix
            .clone()
            .join(UPLOADS_DIR)
            .join(uuid::Uuid::new_v4().to_string());
        self.upload_parts(&mut file, &parts).await?;
        let mut claimed = Err(InvalidName.into());
        for name in names {
            match self
                .store
                .copy_if_not_exists(&parts, &self.key_of(&name))
                .await
            {
                Ok(()) => claimed = Ok(name),
                Err(object_store::Error::AlreadyExists { .. }) => continue,
                Err(e) => claimed = Err(e.into()),
            }
            break;
        }
        if let Err(e) = self.remove(&parts).await {
            tracing::warn!(error = %e, key = %parts, "could not remove an upload's parts object; gc will");
        }
        claimed
    }

    /// Stores a staged file under `name`, replacing any object there (for copying a store).
    pub(super) async fn put_as(&self, staged: Staged, name: &StoredName) -> Result<()> {
        self.put_at(staged, self.key_of(name)).await
    }

    /// Where a made variant lives: `<prefix>/variants/<shard>/<source name>/<recipe>.<ext>`,
    /// deeper than the shard objects that listing (and so `gc`) sees.
    pub fn key_of_variant(&self, name: &VariantName) -> Path {
        self.variants_of(name.source()).join(name.file_name())
    }

    fn variants_of(&self, source: &StoredName) -> Path {
        self.prefix
            .clone()
            .join(VARIANTS_DIR)
            .join(source.shard())
            .join(source.as_ref())
    }

    pub(super) async fn put_variant(&self, staged: Staged, name: &VariantName) -> Result<()> {
        self.put_at(staged, self.key_of_variant(name)).await
    }

    pub(super) async fn open_variant(
        &self,
        name: &VariantName,
        wanted: Wanted,
    ) -> Result<Option<Blob>> {
        self.open_key(self.key_of_variant(name), wanted).await
    }

    /// (source folder, file) of every object under `<prefix>/variants/<shard>/`.
    pub(super) async fn list_variants(&self) -> Result<Vec<(String, String)>> {
        let folder = self.prefix.clone().join(VARIANTS_DIR);
        let depth = folder.parts().count() + 3;
        let keys: Vec<Path> = self
            .store
            .list(Some(&folder))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        Ok(keys
            .iter()
            .filter_map(|key| {
                let parts: Vec<_> = key.parts().collect();
                (parts.len() == depth).then(|| {
                    let source = parts[depth - 2].as_ref().to_owned();
                    (source, parts[depth - 1].as_ref().to_owned())
                })
            })
            .collect())
    }

    pub(super) async fn remove_variants_of(&self, source: &StoredName) -> Result<()> {
        let made: Vec<Path> = self
            .store
            .list(Some(&self.variants_of(source)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for key in made {
            self.remove(&key).await?;
        }
        Ok(())
    }

    /// Uploads a staged file to `key`, replacing what is there.
    async fn put_at(&self, staged: Staged, key: Path) -> Result<()> {
        let mut file = tokio::fs::File::open(&staged.path).await?;
        if staged.len > PART_BYTES as u64 {
            return self.upload_parts(&mut file, &key).await;
        }
        let _memory = self.part_memory.acquire().await.expect("never closed");
        let bytes = read_part(&mut file, staged.len as usize).await?;
        self.store.put(&key, bytes.into()).await?;
        Ok(())
    }

    /// A multipart upload of the rest of `file` to `key`, one part in memory at a time; the
    /// object appears only when complete, and a failed upload is aborted.
    async fn upload_parts(&self, file: &mut tokio::fs::File, key: &Path) -> Result<()> {
        let mut upload = self.store.put_multipart(key).await?;
        let sent = async {
            loop {
                let _memory = self.part_memory.acquire().await.expect("never closed");
                let part = read_part(file, PART_BYTES).await?;
                if part.is_empty() {
                    return Ok(upload.complete().await.map(drop)?);
                }
                upload.put_part(part.into()).await?;
            }
        }
        .await;
        if sent.is_err()
            && let Err(e) = upload.abort().await
        {
            tracing::error!(error = %e, %key, "could not abort a multipart upload; a bucket lifecycle rule will");
        }
        sent
    }

    /// Finds an object and its size; for a plain GET, one round trip whose answer carries
    /// the size with the body.
    pub(super) async fn open(&self, name: &StoredName, wanted: Wanted) -> Result<Option<Blob>> {
        self.open_key(self.key_of(name), wanted).await
    }

    async fn open_key(&self, key: Path, wanted: Wanted) -> Result<Option<Blob>> {
        let found = match wanted {
            Wanted::Body => self
                .store
                .get(&key)
                .await
                .map(|got| (got.meta.size, Some(got))),
            Wanted::Size => self.store.head(&key).await.map(|meta| (meta.size, None)),
        };
        match found {
            Ok((len, fetched)) => Ok(Some(Blob {
                len,
                source: Source::Object {
                    s3: self.clone(),
                    key,
                    fetched,
                },
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `len` bytes from `start`: small ranges in one ranged `GET` read whole, larger ones streamed.
    pub(super) async fn read_range(&self, key: &Path, start: u64, len: u64) -> Result<BlobBytes> {
        if len == 0 {
            return Ok(BlobBytes::Whole(bytes::Bytes::new()));
        }
        let range = start..start + len;
        if len <= WHOLE_READ_MAX_BYTES {
            let bytes = self.store.get_range(key, range).await?;
            return Ok(BlobBytes::Whole(bytes));
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(key, options).await?;
        Ok(BlobBytes::Stream(
            result.into_stream().map_err(io::Error::other).boxed(),
        ))
    }

    /// Every byte of an object, streamed.
    pub(super) async fn read(
        &self,
        key: &Path,
    ) -> Result<BoxStream<'static, io::Result<bytes::Bytes>>> {
        let result = self.store.get(key).await?;
        Ok(result.into_stream().map_err(io::Error::other).boxed())
    }

    /// Deleting a key that is already gone is not an error (S3 answers 204 either way).
    pub(super) async fn remove(&self, key: &Path) -> Result<()> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Objects in shard folders (`<prefix>/<2 chars>/<file>`) and in the uploads folder;
    /// anything else in the bucket is not ours and never listed, so `gc` cannot touch it.
    pub(super) fn list(&self) -> BoxStream<'static, Result<ListedBlob>> {
        let depth = self.prefix.parts().count() + 2;
        // An empty prefix lists the whole bucket.
        self.store
            .list(Some(&self.prefix))
            .map_err(StorageError::from)
            .try_filter_map(move |meta| async move {
                let parts: Vec<_> = meta.location.parts().collect();
                let ours = parts.len() == depth
                    && (super::is_shard(parts[depth - 2].as_ref())
                        || parts[depth - 2].as_ref() == UPLOADS_DIR);
                if !ours {
                    return Ok(None);
                }
                Ok(Some(ListedBlob {
                    file_name: parts[depth - 1].as_ref().to_owned(),
                    modified: meta.last_modified.into(),
                    location: Location::Object(meta.location),
                }))
            })
            .boxed()
    }

    /// Lists after the last possible shard key: an empty answer that proves the bucket exists
    /// and the credentials may read it, without transferring a page of keys.
    pub(super) async fn check_reachable(&self) -> Result<()> {
        let after_every_shard = self.prefix.clone().join("~");
        let mut listed = self
            .store
            .list_with_offset(Some(&self.prefix), &after_every_shard);
        match listed.next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e.into()),
        }
    }
}

/// The body of an answered `GET`: collected if small, else streamed.
pub(super) async fn read_whole(got: GetResult, len: u64) -> Result<BlobBytes> {
    if len <= WHOLE_READ_MAX_BYTES {
        return Ok(BlobBytes::Whole(got.bytes().await?));
    }
    Ok(BlobBytes::Stream(
        got.into_stream().map_err(io::Error::other).boxed(),
    ))
}

/// Up to `size` bytes of the file, from where it was left.
async fn read_part(file: &mut tokio::fs::File, size: usize) -> io::Result<bytes::Bytes> {
    let mut part = BytesMut::with_capacity(size);
    while part.len() < size {
        if file.read_buf(&mut part).await? == 0 {
            break;
        }
    }
    Ok(part.freeze())
}
