//! The bucket's client behind a circuit breaker: after repeated failures that say the bucket
//! is down (no answer in time, connection refused, 5xx), every call fails at once until a probe
//! gets an answer. An answer of any kind ("not found", "already exists", "forbidden") means the
//! bucket is up. Timeouts per request are the client's own (`S3_TIMEOUT_SECS`).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use crate::breaker::Breaker;

pub(super) const STORE: &str = "bucket breaker";

#[derive(Debug)]
pub(super) struct GuardedBucket {
    bucket: Arc<dyn ObjectStore>,
    breaker: Arc<Breaker>,
}

impl fmt::Display for GuardedBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guarded({})", self.bucket)
    }
}

/// Whether an error of the bucket's client says the bucket is down, rather than an answer.
pub(super) fn is_outage(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::Generic { .. })
}

impl GuardedBucket {
    pub(super) fn new(bucket: Arc<dyn ObjectStore>, breaker: Arc<Breaker>) -> Self {
        Self { bucket, breaker }
    }

    fn allow(&self) -> object_store::Result<()> {
        self.breaker
            .allow(Instant::now())
            .map_err(|open| object_store::Error::Generic {
                store: STORE,
                source: Box::new(open),
            })
    }

    fn record<T>(&self, result: &object_store::Result<T>) {
        match result {
            Err(e) if is_outage(e) => self.breaker.failed(Instant::now()),
            _ => self.breaker.succeeded(),
        }
    }

    async fn guard<T>(
        &self,
        call: impl Future<Output = object_store::Result<T>>,
    ) -> object_store::Result<T> {
        self.allow()?;
        let result = call.await;
        self.record(&result);
        result
    }
}

#[async_trait]
impl ObjectStore for GuardedBucket {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.guard(self.bucket.put_opts(location, payload, opts))
            .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.guard(self.bucket.put_multipart_opts(location, opts))
            .await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.guard(self.bucket.get_opts(location, options)).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        match self.allow() {
            Ok(()) => self.bucket.delete_stream(locations),
            Err(open) => futures_util::stream::once(async { Err(open) }).boxed(),
        }
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.allow() {
            Ok(()) => self.bucket.list(prefix),
            Err(open) => futures_util::stream::once(async { Err(open) }).boxed(),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.guard(self.bucket.list_with_delimiter(prefix)).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.guard(self.bucket.copy_opts(from, to, options)).await
    }
}
