//! The upload lifecycle after ingest: expiry of uploads never mapped (users abandon forms) and
//! removal of files that have no record (a crash between rename and insert).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::Utc;

use crate::db::{DbError, MediaRecord, MediaRepo};
use crate::media::StoredName;
use crate::storage::BlobStore;

/// Records deleted per statement, so one sweep never holds a long transaction.
const SWEEP_BATCH: i64 = 500;

/// A file without a record is only an orphan once it is this old: younger ones may belong to an
/// upload between its rename and its insert.
pub const ORPHAN_MIN_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
}

/// Deletes every upload that was never mapped within `ttl`, record first and then file (so a
/// record never points to a missing file). Returns what was deleted.
pub async fn sweep_expired(
    repo: &dyn MediaRepo,
    blobs: &BlobStore,
    ttl: Duration,
) -> Result<Vec<MediaRecord>, LifecycleError> {
    let cutoff = Utc::now() - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    let mut expired = Vec::new();
    loop {
        let batch = repo.delete_unmapped_before(cutoff, SWEEP_BATCH).await?;
        for record in &batch {
            if let Ok(name) = StoredName::parse(&record.name) {
                blobs.remove(&name).await?;
            }
        }
        let done = (batch.len() as i64) < SWEEP_BATCH;
        expired.extend(batch);
        if done {
            return Ok(expired);
        }
    }
}

/// Removes files older than `min_age` that no record names. Returns their file names.
pub async fn remove_orphans(
    repo: &dyn MediaRepo,
    blobs: &BlobStore,
    min_age: Duration,
) -> Result<Vec<String>, LifecycleError> {
    let now = SystemTime::now();
    let mut removed = Vec::new();
    let store = blobs.clone();
    let shards = tokio::task::spawn_blocking(move || store.shards_blocking())
        .await
        .map_err(std::io::Error::other)??;
    for shard in shards {
        let store = blobs.clone();
        let files = tokio::task::spawn_blocking(move || store.files_in_blocking(&shard))
            .await
            .map_err(std::io::Error::other)??;
        let old: Vec<_> = files
            .into_iter()
            .filter(|f| {
                now.duration_since(f.modified)
                    .is_ok_and(|age| age >= min_age)
            })
            .collect();
        if old.is_empty() {
            continue;
        }
        let names: Vec<String> = old.iter().map(|f| f.file_name.clone()).collect();
        let recorded: HashSet<String> = repo.existing_names(&names).await?.into_iter().collect();
        for file in old.into_iter().filter(|f| !recorded.contains(&f.file_name)) {
            tokio::fs::remove_file(&file.path).await?;
            removed.push(file.file_name);
        }
    }
    Ok(removed)
}

/// Sweeps every `interval` for as long as the process runs. Errors are logged, not fatal.
pub fn spawn_sweeper(
    repo: Arc<dyn MediaRepo>,
    blobs: BlobStore,
    ttl: Duration,
    interval: Duration,
) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep_expired(repo.as_ref(), &blobs, ttl).await {
                Ok(expired) if !expired.is_empty() => {
                    tracing::info!(count = expired.len(), "expired unmapped uploads")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "sweeping expired uploads failed"),
            }
        }
    });
}
