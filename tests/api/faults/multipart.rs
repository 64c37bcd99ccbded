//! A multipart upload that fails half way, on the real S3-compatible server: the bucket's client
//! is wrapped so that every multipart upload's second part fails. The upload must be aborted,
//! and the bucket left with no object and no pending multipart upload.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use mediastore::media::ImageFormat;
use mediastore::storage::BlobStore;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

use crate::bucket::TestBucket;
use crate::helpers::{assert_nothing_staged_in, sha1_hex, staged};
use crate::images;

#[derive(Debug)]
struct SecondPartFails(Arc<dyn ObjectStore>);

impl fmt::Display for SecondPartFails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecondPartFails({})", self.0)
    }
}

#[async_trait]
impl ObjectStore for SecondPartFails {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.0.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.0.put_multipart_opts(location, opts).await?;
        Ok(Box::new(FailingUpload { inner, parts: 0 }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.0.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.0.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.0.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.0.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.0.copy_opts(from, to, options).await
    }
}

#[derive(Debug)]
struct FailingUpload {
    inner: Box<dyn MultipartUpload>,
    parts: usize,
}

#[async_trait]
impl MultipartUpload for FailingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts += 1;
        if self.parts == 2 {
            return Box::pin(async {
                Err(object_store::Error::Generic {
                    store: "test",
                    source: "injected: the connection dropped".into(),
                })
            });
        }
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

#[tokio::test]
async fn a_multipart_upload_that_fails_half_way_is_aborted_and_leaves_nothing() {
    let bucket = TestBucket::create().await;
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::s3_layered(
        &bucket.settings,
        dir.path(),
        Some(|inner| Arc::new(SecondPartFails(inner))),
    )
    .unwrap();
    store.prepare().await.unwrap();
    let bytes = images::large_png(images::OVER_ONE_S3_PART + 5 * 1024 * 1024);
    let sha = sha1_hex(&bytes);
    let file = staged(&store, &bytes).await;

    let failed = store.commit(file, &sha, ImageFormat::Png).await;
    assert!(failed.is_err(), "the injected fault reaches the caller");
    assert_eq!(bucket.keys().await, Vec::<String>::new(), "no object");
    bucket.assert_no_pending_multipart_uploads().await;
    assert_nothing_staged_in(dir.path());

    // The same store still takes a small file (a single PUT, no parts).
    let small = images::png(3, 3);
    let small_sha = sha1_hex(&small);
    let file = staged(&store, &small).await;
    let (name, _) = store
        .commit(file, &small_sha, ImageFormat::Png)
        .await
        .unwrap();
    assert_eq!(bucket.keys().await, [bucket.key_of(name.as_ref())]);
}
