//! `mediastore migrate-store --from fs --to s3` (or back): copies every recorded blob to the
//! other back end, verifying each copy's SHA-1, and then their kept variants.
//!
//! Resumable and idempotent: a blob already at the destination with the right size is skipped,
//! and a copy appears under its name only when complete (a rename, or a completed upload), so an
//! interrupted run is simply run again. The source is left as it was.

use std::collections::HashSet;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use futures_util::TryStreamExt;

use crate::db::{self, DbError, MediaRepo};
use crate::media::StoredName;
use crate::storage::{BlobStore, StorageError, Wanted};

const RECORD_PAGE: i64 = 1000;

#[derive(Debug, Default, Serialize)]
pub struct MigrationReport {
    pub copied: u64,
    /// Already at the destination with the right size (an earlier run copied them).
    pub already_there: u64,
    /// Recorded, but not in the source store.
    pub missing_in_source: Vec<String>,
    /// In the source store, but its bytes do not hash to its name: not copied.
    pub corrupt_in_source: Vec<String>,
    /// Kept variants of recorded blobs copied (variants already there are skipped).
    pub variants_copied: u64,
}

impl MigrationReport {
    pub fn is_complete(&self) -> bool {
        self.missing_in_source.is_empty() && self.corrupt_in_source.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("reading the records")]
    Db(#[from] DbError),
    #[error("copying a blob")]
    Storage(#[from] StorageError),
    #[error("the copy of {name} in {store} does not hash to its name")]
    BadCopy { name: StoredName, store: String },
}

pub async fn migrate_store(
    repo: &dyn MediaRepo,
    from: &BlobStore,
    to: &BlobStore,
) -> Result<MigrationReport, MigrateError> {
    let names = recorded_names(repo).await?;
    // indicatif draws nothing when stderr is not a terminal.
    let progress = ProgressBar::new(names.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} blobs, {per_sec}, eta {eta}")
            .expect("static template"),
    );
    let mut report = MigrationReport::default();
    for name in &names {
        copy_one(name, from, to, &mut report).await?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let recorded: HashSet<StoredName> = names.into_iter().collect();
    report.variants_copied = copy_variants(&recorded, from, to).await?;
    Ok(report)
}

/// Copies the kept variants of recorded blobs that the destination does not have; a variant
/// can always be made again, so one that vanishes meanwhile is skipped.
async fn copy_variants(
    recorded: &HashSet<StoredName>,
    from: &BlobStore,
    to: &BlobStore,
) -> Result<u64, MigrateError> {
    let mut copied = 0;
    let kept = from.list_variants().await?;
    let of_recorded = kept
        .into_iter()
        .filter(|(source, _)| recorded.contains(source));
    for variant in of_recorded.flat_map(|(_, variants)| variants) {
        if to.open_variant(&variant, Wanted::Size).await?.is_some() {
            continue;
        }
        let Some(blob) = from.open_variant(&variant, Wanted::Body).await? else {
            continue;
        };
        to.put_variant(&variant, blob.read_all().await?).await?;
        copied += 1;
    }
    Ok(copied)
}

async fn copy_one(
    name: &StoredName,
    from: &BlobStore,
    to: &BlobStore,
    report: &mut MigrationReport,
) -> Result<(), MigrateError> {
    // The destination first: a blob already copied (or uploaded there since a switch of
    // `STORAGE`) needs nothing from the source.
    let existing = to.open(name, Wanted::Size).await?.map(|copy| copy.len);
    // With nothing at the destination the bytes are needed: one trip opens and reads them.
    let wanted = if existing.is_some() {
        Wanted::Size
    } else {
        Wanted::Body
    };
    let Some(source) = from.open(name, wanted).await? else {
        if existing.is_some() {
            report.already_there += 1;
        } else {
            report.missing_in_source.push(name.to_string());
        }
        return Ok(());
    };
    if existing == Some(source.len) {
        report.already_there += 1;
        return Ok(());
    }
    let (staged, sha1) = to.stage_copy(source).await?;
    if sha1 != name.sha1() {
        report.corrupt_in_source.push(name.to_string());
        return Ok(());
    }
    to.put_as(staged, name).await?;
    match to.sha1_of(name).await? {
        Some(copied) if copied == name.sha1() => {
            report.copied += 1;
            Ok(())
        }
        _ => Err(MigrateError::BadCopy {
            name: name.clone(),
            store: to.describe(),
        }),
    }
}

/// Every recorded name, in name order (about 100 bytes each, so that progress has a total).
async fn recorded_names(repo: &dyn MediaRepo) -> Result<Vec<StoredName>, MigrateError> {
    let pages: Vec<Vec<String>> = db::recorded_names(repo, RECORD_PAGE).try_collect().await?;
    Ok(pages
        .iter()
        .flatten()
        .filter_map(|name| StoredName::parse(name).ok())
        .collect())
}
