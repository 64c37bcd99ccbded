//! Variants made on first request and kept (SPEC §10). A request for a variant that is kept
//! streams it like any stored file; one that is not waits for a transform slot
//! (`MAX_CONCURRENT_TRANSFORMS`, at most `UPLOAD_QUEUE_TIMEOUT_SECS`), reads the source, renders
//! on a blocking thread and keeps the result beside the source. Concurrent requests for the
//! same missing variant wait for the one transform (single flight).

pub mod render;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};
use tokio::sync::Semaphore;

use crate::config::VariantSettings;
use crate::media::{ImageFormat, OutputFormat, Recipe, StoredName, VariantName};
use crate::storage::{Blob, BlobStore, StorageError, Wanted};
use render::{Encoding, RenderError, Upright};

pub const TRANSFORMS: &str = "mediastore_variant_transforms_total";
pub const TRANSFORM_SECONDS: &str = "mediastore_variant_transform_seconds";
pub const LOOKUPS: &str = "mediastore_variant_lookups_total";
pub const TRANSFORMS_WAITING: &str = "mediastore_variant_transforms_waiting";
pub const TRANSFORMS_RUNNING: &str = "mediastore_variant_transforms_running";

/// Bumped when the pipeline changes what it makes of the same source, so that `ETag`s (and
/// caches downstream) change with the bytes.
const PIPELINE_VERSION: &str = "1";

/// The format a request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Exactly(OutputFormat),
    /// What anyone may be sent: JPEG, or PNG when the source has transparency.
    Fallback,
}

/// A variant ready to serve.
pub struct Made {
    pub blob: Blob,
    pub format: OutputFormat,
    /// Strong, and the same for the same bytes: the recipe's hash, not the bytes'.
    pub etag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VariantError {
    #[error("the source file is not in the store")]
    SourceMissing,
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the variant was kept but cannot be found (removed at once?)")]
    VanishedAfterWrite,
    #[error("no transform slot came free within {0:?}")]
    Overloaded(Duration),
}

/// A transform slot held; counted in `/metrics` while held.
struct Slot<'a>(#[allow(dead_code)] tokio::sync::SemaphorePermit<'a>);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        ::metrics::gauge!(TRANSFORMS_RUNNING).decrement(1);
    }
}

/// The formats the variant may already be kept in, in order.
fn candidates(source: &StoredName, target: Target) -> Vec<OutputFormat> {
    match target {
        Target::Exactly(format) => vec![format],
        // A JPEG has no transparency; anything else may.
        Target::Fallback if source.format() == ImageFormat::Jpeg => vec![OutputFormat::Jpeg],
        Target::Fallback => vec![OutputFormat::Png, OutputFormat::Jpeg],
    }
}

pub struct Variants {
    blobs: BlobStore,
    encoding: Encoding,
    max_pixels: u64,
    slots: Semaphore,
    queue_timeout: Duration,
    /// One lock per variant being made, so that only the first request makes it.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Variants {
    pub fn new(
        blobs: BlobStore,
        settings: &VariantSettings,
        max_pixels: u64,
        queue_timeout: Duration,
    ) -> Self {
        Self {
            blobs,
            encoding: Encoding {
                quality: settings.quality,
                avif_speed: settings.avif_speed,
            },
            max_pixels,
            slots: Semaphore::new(settings.concurrency()),
            queue_timeout,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The variant of `source` that `recipe` (named `label`, for metrics) makes, in the
    /// `target` format: kept, or made now and kept.
    pub async fn get(
        &self,
        source: &StoredName,
        recipe: &Recipe,
        label: &str,
        target: Target,
        wanted: Wanted,
    ) -> Result<Made, VariantError> {
        let candidates = candidates(source, target);
        if let Some(made) = self.find(source, recipe, &candidates, wanted).await? {
            ::metrics::counter!(LOOKUPS, "result" => "hit").increment(1);
            return Ok(made);
        }
        ::metrics::counter!(LOOKUPS, "result" => "miss").increment(1);
        let in_flight = self.in_flight(format!("{source}/{}/{target:?}", recipe.key()));
        let _only_one = in_flight.lock.lock().await;
        // Made by the request this one waited for?
        if let Some(made) = self.find(source, recipe, &candidates, wanted).await? {
            return Ok(made);
        }
        self.make(source, recipe, label, target).await?;
        let made = self.find(source, recipe, &candidates, wanted).await?;
        made.ok_or(VariantError::VanishedAfterWrite)
    }

    async fn find(
        &self,
        source: &StoredName,
        recipe: &Recipe,
        formats: &[OutputFormat],
        wanted: Wanted,
    ) -> Result<Option<Made>, VariantError> {
        for &format in formats {
            let name = VariantName::new(source, recipe, format);
            if let Some(blob) = self.blobs.open_variant(&name, wanted).await? {
                let etag = self.etag(&name);
                return Ok(Some(Made { blob, format, etag }));
            }
        }
        Ok(None)
    }

    /// Renders the variant on a blocking thread, within a transform slot, and keeps it.
    async fn make(
        &self,
        source: &StoredName,
        recipe: &Recipe,
        label: &str,
        target: Target,
    ) -> Result<(), VariantError> {
        let _slot = self.slot(label).await?;
        let started = Instant::now();
        let bytes = self.read_source(source).await?;
        let (format, max_pixels, encoding, recipe_owned) =
            (source.format(), self.max_pixels, self.encoding, *recipe);
        let rendered = tokio::task::spawn_blocking(move || {
            let upright = Upright::decode(&bytes, format, max_pixels, Some(&recipe_owned))?;
            let output = match target {
                Target::Exactly(output) => output,
                Target::Fallback if upright.has_transparency() => OutputFormat::Png,
                Target::Fallback => OutputFormat::Jpeg,
            };
            Ok::<_, RenderError>((output, upright.render(&recipe_owned, output, encoding)?))
        })
        .await
        .map_err(StorageError::from)?;
        let outcome = match &rendered {
            Ok(_) => "made",
            Err(RenderError::Encode { .. }) => "failed",
            Err(_) => "invalid_source",
        };
        ::metrics::counter!(TRANSFORMS, "variant" => label.to_owned(), "outcome" => outcome)
            .increment(1);
        ::metrics::histogram!(TRANSFORM_SECONDS, "variant" => label.to_owned())
            .record(started.elapsed().as_secs_f64());
        let (output, encoded) = rendered?;
        let name = VariantName::new(source, recipe, output);
        self.blobs.put_variant(&name, encoded.into()).await?;
        Ok(())
    }

    /// The ThumbHash of `source` upright (base64), made within a transform slot.
    pub async fn placeholder(&self, source: &StoredName) -> Result<String, VariantError> {
        let _slot = self.slot("placeholder").await?;
        let bytes = self.read_source(source).await?;
        let (format, max_pixels) = (source.format(), self.max_pixels);
        let hash = tokio::task::spawn_blocking(move || {
            Upright::decode(&bytes, format, max_pixels, Some(&render::THUMB_HASH_BOX))
                .map(|upright| upright.thumb_hash())
        })
        .await
        .map_err(StorageError::from)??;
        use base64::Engine as _;
        Ok(base64::engine::general_purpose::STANDARD.encode(hash))
    }

    /// A transform slot, waiting at most the queue timeout.
    async fn slot(&self, label: &str) -> Result<Slot<'_>, VariantError> {
        ::metrics::gauge!(TRANSFORMS_WAITING).increment(1);
        let slot = tokio::time::timeout(self.queue_timeout, self.slots.acquire()).await;
        ::metrics::gauge!(TRANSFORMS_WAITING).decrement(1);
        match slot {
            Ok(slot) => {
                ::metrics::gauge!(TRANSFORMS_RUNNING).increment(1);
                Ok(Slot(slot.expect("never closed")))
            }
            Err(_) => {
                ::metrics::counter!(TRANSFORMS, "variant" => label.to_owned(), "outcome" => "overloaded")
                    .increment(1);
                Err(VariantError::Overloaded(self.queue_timeout))
            }
        }
    }

    async fn read_source(&self, source: &StoredName) -> Result<bytes::Bytes, VariantError> {
        let blob = self.blobs.open(source, Wanted::Body).await?;
        let blob = blob.ok_or(VariantError::SourceMissing)?;
        Ok(blob.read_all().await?)
    }

    /// The strong `ETag` of a variant: what it was made of and how, which gives the same bytes
    /// every time (the encoders are deterministic).
    fn etag(&self, name: &VariantName) -> String {
        let mut hash = Sha1::new();
        for part in [
            PIPELINE_VERSION,
            name.source().sha1(),
            name.file_name(),
            &self.encoding.quality.to_string(),
            &self.encoding.avif_speed.to_string(),
        ] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hex::encode(hash.finalize())
    }

    /// The lock of the variant `key`, shared by every request for it until the last one is
    /// done (or gone: a client that hangs up drops its share too).
    fn in_flight(&self, key: String) -> InFlight<'_> {
        let mut locks = self.in_flight.lock().expect("in-flight lock");
        let lock = locks.entry(key.clone()).or_default().clone();
        InFlight {
            variants: self,
            key,
            lock,
        }
    }
}

struct InFlight<'a> {
    variants: &'a Variants,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for InFlight<'_> {
    /// Forgets the lock once no other request holds or waits for it.
    fn drop(&mut self) {
        let mut locks = self.variants.in_flight.lock().expect("in-flight lock");
        // Ours and the map's: nobody else waits.
        if Arc::strong_count(&self.lock) <= 2 {
            locks.remove(&self.key);
        }
    }
}
