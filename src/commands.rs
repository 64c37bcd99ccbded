//! The maintenance commands' output: what `gc`, `verify`, `migrate-store`, `events` and
//! `jobs` print, one line per finding, then a summary, and the exit code each answers with.

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::db::{DbError, MediaRepo};
use crate::lifecycle::{self, LifecycleError};
use crate::migrate_store::{self, MigrateError};
use crate::storage::BlobStore;
use crate::verify::{self, VerifyError};

/// Sweeps once: expired unmapped uploads (created before `cutoff`), then orphan blobs.
pub async fn gc(
    repo: &dyn MediaRepo,
    blobs: &BlobStore,
    cutoff: DateTime<Utc>,
) -> Result<(), LifecycleError> {
    let expired = lifecycle::sweep_expired(repo, blobs, cutoff).await?;
    for record in &expired {
        println!("expired\t{}\t{}", record.id, record.name);
    }
    let orphans = lifecycle::remove_orphans(repo, blobs, lifecycle::ORPHAN_MIN_AGE).await?;
    for name in &orphans {
        println!("orphan\t{name}");
    }
    let orphan_variants = lifecycle::remove_orphan_variants(blobs).await?;
    for name in &orphan_variants {
        println!("orphan-variant\t{name}");
    }
    println!(
        "removed {} expired uploads and {} orphan files",
        expired.len(),
        orphans.len()
    );
    println!(
        "removed {} variants of missing files",
        orphan_variants.len()
    );
    Ok(())
}

/// Exits 1 if anything is wrong.
pub async fn verify(
    repo: &dyn MediaRepo,
    blobs: &BlobStore,
    json: bool,
) -> Result<ExitCode, VerifyError> {
    let report = verify::verify(repo, blobs).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serialises")
        );
    } else {
        for (label, names) in [
            ("corrupt", &report.corrupt_files),
            ("missing", &report.missing_files),
            ("no-record", &report.files_without_record),
            ("variant-without-file", &report.variants_without_file),
            ("variant-unreadable", &report.unreadable_variants),
        ] {
            names.iter().for_each(|name| println!("{label}\t{name}"));
        }
        println!(
            "checked {} files and {} records: {} corrupt, {} missing, {} without record",
            report.files_checked,
            report.records_checked,
            report.corrupt_files.len(),
            report.missing_files.len(),
            report.files_without_record.len()
        );
        println!(
            "checked {} variants: {} without their file, {} unreadable",
            report.variants_checked,
            report.variants_without_file.len(),
            report.unreadable_variants.len()
        );
    }
    Ok(exit_code(report.is_clean()))
}

/// Exits 1 if a blob was missing or corrupt in the source.
pub async fn migrate_store(
    repo: &dyn MediaRepo,
    from: &BlobStore,
    to: &BlobStore,
) -> Result<ExitCode, MigrateError> {
    to.create_dirs().await?; // not `prepare`: a running service may be staging
    let report = migrate_store::migrate_store(repo, from, to).await?;
    for name in &report.missing_in_source {
        println!("missing\t{name}");
    }
    for name in &report.corrupt_in_source {
        println!("corrupt\t{name}");
    }
    println!(
        "{} -> {}: copied {}, already there {}, missing {}, corrupt {}",
        from.describe(),
        to.describe(),
        report.copied,
        report.already_there,
        report.missing_in_source.len(),
        report.corrupt_in_source.len()
    );
    println!("copied {} variants", report.variants_copied);
    Ok(exit_code(report.is_complete()))
}

fn exit_code(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `events dead`: the dead letters, one per line: event id, sink, type, media id, attempts,
/// last error.
pub async fn dead_events(repo: &dyn MediaRepo) -> Result<(), DbError> {
    let dead = repo.dead_events(10_000).await?;
    for row in &dead {
        println!(
            "{}\t{}\t{}\t{}\t{} attempts\t{}",
            row.id,
            row.sink,
            row.event_type,
            row.media_id,
            row.attempts,
            row.last_error.as_deref().unwrap_or("-")
        );
    }
    println!("{} dead letters", dead.len());
    Ok(())
}

/// `events retry`: one event's dead letters (every sink's), or all of them, due again.
pub async fn retry_events(repo: &dyn MediaRepo, id: Option<Uuid>) -> Result<ExitCode, DbError> {
    let retried = repo.retry_dead(id, Utc::now()).await?;
    println!("{retried} dead letters queued again");
    // Naming an event that is not dead is a mistake worth an exit code.
    Ok(exit_code(id.is_none() || retried > 0))
}

/// `jobs`: every job with its state, then the counts.
pub async fn jobs(repo: &dyn MediaRepo) -> Result<(), DbError> {
    let now = Utc::now();
    for job in repo.jobs(10_000).await? {
        let state = match (job.failed_at, job.leased_until) {
            (Some(_), _) => "failed",
            (None, Some(until)) if until >= now => "running",
            _ => "pending",
        };
        let kind = if job.offpeak { "offpeak" } else { "eager" };
        println!(
            "{state}\t{}\t{}\t{kind}\t{} attempts\t{}",
            job.media_id,
            job.variant,
            job.attempts,
            job.last_error.as_deref().unwrap_or("-")
        );
    }
    let stats = repo.job_stats(now).await?;
    println!(
        "{} pending, {} running, {} failed",
        stats.pending, stats.running, stats.failed
    );
    Ok(())
}
