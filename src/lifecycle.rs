//! The upload lifecycle after ingest: expiry of uploads never mapped (users abandon forms) and
//! removal of files that have no record (a crash between rename and insert).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};

use crate::db::{DbError, MediaRecord, MediaRepo};
use crate::storage::{BlobStore, StorageError, Wanted};

/// Records deleted per statement, so one sweep never holds a long transaction.
const SWEEP_BATCH: i64 = 500;
/// Listed blobs checked against the records per query.
const ORPHAN_BATCH: usize = 1000;

/// A file without a record is only an orphan once it is this old: younger ones may belong to an
/// upload between its rename and its insert.
pub const ORPHAN_MIN_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl LifecycleError {
    /// The database or the bucket is down: worth waiting for, not a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Db(e) => e.is_unavailable(),
            Self::Storage(e) => e.is_unavailable(),
        }
    }
}

/// The creation time before which an unmapped upload has outlived `ttl`.
pub fn expiry_cutoff(ttl: Duration) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

/// Deletes every upload never mapped and created before `cutoff`, record first and then file
/// (so a record never points to a missing file). Returns what was deleted.
pub async fn sweep_expired(
    repo: &dyn MediaRepo,
    blobs: &BlobStore,
    cutoff: DateTime<Utc>,
) -> Result<Vec<MediaRecord>, LifecycleError> {
    let mut expired = Vec::new();
    loop {
        let batch = repo.delete_unmapped_before(cutoff, SWEEP_BATCH).await?;
        for record in &batch {
            // The records are gone already; a blob that cannot be removed now is an orphan that
            // `gc` removes later, and must not stop the rest of the batch.
            if let Ok(name) = record.stored_name()
                && let Err(e) = blobs.remove(&name).await
            {
                tracing::warn!(error = %e, %name, "could not remove an expired blob; gc will");
            }
        }
        let done = (batch.len() as i64) < SWEEP_BATCH;
        expired.extend(batch);
        if done {
            return Ok(expired);
        }
    }
}

/// Removes blobs older than `min_age` that no record names. Returns their file names.
pub async fn remove_orphans(
    repo: &dyn MediaRepo,
    blobs: &BlobStore,
    min_age: Duration,
) -> Result<Vec<String>, LifecycleError> {
    let now = SystemTime::now();
    let mut removed = Vec::new();
    let mut old_blobs = blobs
        .list()
        .try_filter(|blob| {
            let old = now
                .duration_since(blob.modified)
                .is_ok_and(|age| age >= min_age);
            std::future::ready(old)
        })
        .try_chunks(ORPHAN_BATCH);
    while let Some(old) = old_blobs.next().await {
        let old = old.map_err(|e| e.1)?;
        let names: Vec<String> = old.iter().map(|b| b.file_name.clone()).collect();
        let recorded: HashSet<String> = repo.existing_names(&names).await?.into_iter().collect();
        for blob in old.into_iter().filter(|b| !recorded.contains(&b.file_name)) {
            blobs.remove_listed(&blob).await?;
            removed.push(blob.file_name);
        }
    }
    Ok(removed)
}

/// Removes the variants whose source is gone (a delete racing a first request can leave one).
/// Returns them as `<source>/<file>`.
pub async fn remove_orphan_variants(blobs: &BlobStore) -> Result<Vec<String>, LifecycleError> {
    let mut removed = Vec::new();
    for (source, variants) in blobs.list_variants().await? {
        if blobs.open(&source, Wanted::Size).await?.is_none() {
            blobs.remove_variants_of(&source).await?;
            removed.extend(variants.iter().map(ToString::to_string));
        }
    }
    Ok(removed)
}

/// Sweeps every `interval` for as long as the process runs. While a dependency is down the
/// sweeper waits longer each time (doubling, up to [`MAX_BACKOFF`]) and says so once, rather
/// than logging a storm of errors; the first sweep that works again says that too.
pub fn spawn_sweeper(
    repo: Arc<dyn MediaRepo>,
    blobs: BlobStore,
    ttl: Duration,
    interval: Duration,
) {
    tokio::spawn(async move {
        let mut failing = false;
        let mut wait = interval;
        loop {
            match sweep_expired(repo.as_ref(), &blobs, expiry_cutoff(ttl)).await {
                Ok(expired) => {
                    if failing {
                        tracing::info!("sweeping works again");
                    }
                    if !expired.is_empty() {
                        tracing::info!(count = expired.len(), "expired unmapped uploads");
                    }
                    failing = false;
                    wait = interval;
                }
                Err(e) if e.is_unavailable() => {
                    if !failing {
                        tracing::warn!(error = %e, "sweeping paused: a dependency is unavailable");
                    }
                    failing = true;
                    wait = (wait * 2).min(MAX_BACKOFF.max(interval));
                }
                Err(e) => tracing::error!(error = %e, "sweeping expired uploads failed"),
            }
            tokio::time::sleep(wait).await;
        }
    });
}

/// The longest the sweeper waits between tries while a dependency is down.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
