//! Background jobs (SPEC §11): variants made ahead of their first request, from rows that a map
//! wrote in its own transaction (`db::Queue`). One worker per instance runs one job at a time:
//! eager ones (`VARIANT_EAGER`) as soon as they are queued, off-peak ones (`VARIANT_OFFPEAK`)
//! only inside OFFPEAK_WINDOW, with a pause after each. A job is leased while it runs; if its
//! worker dies, any instance takes it again once the lease is over.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Local, NaiveTime, Utc};
use tokio::sync::watch;

use crate::config::Settings;
use crate::db::{JobRow, MediaRepo, Retry};
use crate::media::{OutputFormat, Recipe};
use crate::storage::Wanted;
use crate::variants::{Target, Variants};

pub const JOBS_DONE: &str = "mediastore_jobs_total";
pub const JOBS_PENDING: &str = "mediastore_jobs_pending";
pub const JOBS_RUNNING: &str = "mediastore_jobs_running";
pub const JOBS_FAILED: &str = "mediastore_jobs_failed";

/// The local time of day, which decides whether off-peak jobs may run. Tests set it.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> NaiveTime + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(|| Local::now().time()))
    }

    pub fn new(now: impl Fn() -> NaiveTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    pub fn time_of_day(&self) -> NaiveTime {
        (self.0)()
    }
}

pub struct Worker {
    pub repo: Arc<dyn MediaRepo>,
    pub variants: Arc<Variants>,
    pub settings: Settings,
    pub clock: Clock,
    pub committed: watch::Receiver<u64>,
}

impl Worker {
    pub fn spawn(self) {
        tokio::spawn(self.run());
    }

    async fn run(mut self) {
        let events = &self.settings.events;
        loop {
            let offpeak_open = events.offpeak_window.contains(self.clock.time_of_day());
            match self
                .repo
                .claim_job(Utc::now(), events.job_lease, offpeak_open)
                .await
            {
                Ok(Some(job)) => {
                    self.run_job(&job).await;
                    if job.offpeak {
                        tokio::time::sleep(events.offpeak_pause).await;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "claiming a job failed"),
            }
            let _ = tokio::time::timeout(events.poll, self.committed.changed()).await;
        }
    }

    async fn run_job(&self, job: &JobRow) {
        let outcome = match self.make(job).await {
            Ok(Made::Variant) => self.repo.job_done(job.seq).await.map(|()| "done"),
            Ok(Made::Nothing) => self.repo.job_done(job.seq).await.map(|()| "dropped"),
            Err(error) => {
                let give_up = job.attempts as u32 >= self.settings.events.job_max_attempts;
                let retry = if give_up {
                    tracing::warn!(media = %job.media_id, variant = job.variant, error,
                        "job failed for good");
                    Retry::GiveUp
                } else {
                    let delay = Duration::from_secs(10) * (1 << job.attempts.clamp(0, 10)) as u32;
                    Retry::At(Utc::now() + chrono::TimeDelta::from_std(delay).unwrap_or_default())
                };
                let failed = self
                    .repo
                    .job_failed(job.seq, &error, retry, Utc::now())
                    .await;
                failed.map(|()| if give_up { "failed" } else { "retried" })
            }
        };
        match outcome {
            Ok(outcome) => metrics::counter!(JOBS_DONE, "outcome" => outcome).increment(1),
            // The lease runs out and the job is claimed again.
            Err(e) => tracing::warn!(media = %job.media_id, error = %e, "recording a job failed"),
        }
    }

    async fn make(&self, job: &JobRow) -> Result<Made, String> {
        let Some(record) = self
            .repo
            .find(job.media_id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(Made::Nothing); // deleted since
        };
        let source = record.stored_name().map_err(|e| e.to_string())?;
        let settings = &self.settings.variants;
        let Some(recipe) = Recipe::find(&job.variant, &settings.presets, &settings.widths) else {
            return Ok(Made::Nothing); // no longer configured
        };
        // What browsers ask for: WebP; off-peak work is where AVIF's slow encoder belongs.
        let format = if job.offpeak && settings.avif {
            OutputFormat::Avif
        } else {
            OutputFormat::Webp
        };
        self.variants
            .get(
                &source,
                &recipe,
                &job.variant,
                Target::Exactly(format),
                Wanted::Size,
            )
            .await
            .map(|_| Made::Variant)
            .map_err(|e| e.to_string())
    }
}

enum Made {
    Variant,
    /// The media or the variant is gone: nothing to do.
    Nothing,
}

/// Keeps the job gauges of `/metrics` current.
pub fn spawn_stats(repo: Arc<dyn MediaRepo>, every: Duration) {
    tokio::spawn(async move {
        loop {
            if let Ok(stats) = repo.job_stats(Utc::now()).await {
                metrics::gauge!(JOBS_PENDING).set(stats.pending as f64);
                metrics::gauge!(JOBS_RUNNING).set(stats.running as f64);
                metrics::gauge!(JOBS_FAILED).set(stats.failed as f64);
            }
            tokio::time::sleep(every).await;
        }
    });
}
