//! Events (SPEC §11): one dispatcher per sink takes the rows the changes wrote into the outbox
//! (`db::Queue`) to that sink, at least once and in order per media id.
//!
//! A dispatcher leases a batch (only each media's oldest undelivered event, so order holds),
//! delivers its events concurrently, and removes each delivered row. A failed one is tried
//! again after a delay that doubles with each attempt (with jitter), until EVENT_MAX_ATTEMPTS or
//! EVENT_TTL_SECS make it a dead letter. A sink that keeps failing opens its circuit breaker:
//! nothing is claimed for it until the breaker lets a probe through. A dispatcher that dies
//! with a batch leased leaves it to the lease's end; then any instance claims it again.

pub mod cloudevent;
mod nats;
mod webhook;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use rand::Rng as _;
use tokio::sync::watch;

use crate::breaker::Breaker;
use crate::config::EventSettings;
use crate::db::{MediaRepo, OutboxRow, Retry};
pub use cloudevent::{Event, RenderData};
pub use webhook::signature as webhook_signature;

pub const DELIVERIES: &str = "mediastore_event_deliveries_total";
pub const DELIVERY_SECONDS: &str = "mediastore_event_delivery_seconds";
pub const EVENTS_PENDING: &str = "mediastore_events_pending";
pub const OLDEST_PENDING_SECONDS: &str = "mediastore_events_oldest_pending_seconds";
pub const DEAD_LETTERS: &str = "mediastore_events_dead_letters";

/// Events leased at once by one dispatcher.
const BATCH: i64 = 64;

/// A lease outlasts its batch's deliveries (each bounded by its sink's timeout) by this much,
/// the time to record their outcomes: a live dispatcher never loses its lease, and a dead
/// one's events are due again soon after.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Where events go.
#[async_trait]
pub trait Sink: Send + Sync {
    /// `nats` or `webhook:<url>`: the outbox rows' `sink`.
    fn name(&self) -> &str;
    /// The longest one delivery may take; a slower one counts as failed.
    fn timeout(&self) -> Duration;
    async fn deliver(&self, event: &Event<'_>) -> Result<(), SinkError>;
}

/// The configured sinks (none, one or both kinds), connected.
pub async fn sinks(settings: &EventSettings) -> Result<Vec<Arc<dyn Sink>>, SinkError> {
    let mut sinks: Vec<Arc<dyn Sink>> = Vec::new();
    if let Some(url) = &settings.nats_url {
        sinks.push(Arc::new(nats::Nats::connect(url, settings).await?));
    }
    for url in &settings.webhook_urls {
        let secret = settings.webhook_secret.clone().expect("validated");
        sinks.push(Arc::new(webhook::Webhook::new(
            url,
            secret,
            settings.webhook_timeout,
        )?));
    }
    Ok(sinks)
}

/// Starts one dispatcher per sink; each runs until the process ends.
pub fn spawn_dispatchers(
    sinks: Vec<Arc<dyn Sink>>,
    repo: Arc<dyn MediaRepo>,
    render: RenderData,
    settings: &EventSettings,
    committed: watch::Receiver<u64>,
) {
    for sink in sinks {
        let dispatcher = Dispatcher {
            breaker: Breaker::new(
                leak(format!("events:{}", sink.name())),
                5,
                Duration::from_secs(5),
            ),
            sink,
            repo: repo.clone(),
            render: render.clone(),
            settings: settings.clone(),
            committed: committed.clone(),
        };
        tokio::spawn(dispatcher.run());
    }
}

/// Breakers name their dependency with a `&'static str`; a few names, made once at start-up.
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

struct Dispatcher {
    sink: Arc<dyn Sink>,
    repo: Arc<dyn MediaRepo>,
    render: RenderData,
    settings: EventSettings,
    breaker: Breaker,
    committed: watch::Receiver<u64>,
}

impl Dispatcher {
    fn lease(&self) -> Duration {
        self.sink.timeout() + LEASE_MARGIN
    }

    async fn run(mut self) {
        loop {
            if let Err(open) = self.breaker.allow(Instant::now()) {
                tokio::time::sleep(open.retry_after).await;
                continue;
            }
            let claimed = self
                .repo
                .claim_events(self.sink.name(), Utc::now(), self.lease(), BATCH)
                .await;
            let mut wait = self.settings.poll;
            match claimed {
                Ok(rows) if !rows.is_empty() => {
                    let full = rows.len() as i64 == BATCH;
                    let outcomes = join_all(rows.iter().map(|row| self.deliver(row))).await;
                    let delivered: Vec<i64> = rows
                        .iter()
                        .zip(&outcomes)
                        .filter(|(_, outcome)| matches!(outcome, Outcome::Delivered))
                        .map(|(row, _)| row.seq)
                        .collect();
                    // Unrecorded, they are delivered again when the lease ends: at least once.
                    if !delivered.is_empty()
                        && let Err(e) = self.repo.events_delivered(&delivered).await
                    {
                        tracing::warn!(sink = self.sink.name(), error = %e, "recording deliveries failed");
                    }
                    if full {
                        continue; // more are waiting
                    }
                    // A retry due before the next poll is tried on time.
                    let retries = outcomes.into_iter().filter_map(|outcome| match outcome {
                        Outcome::Again(at) => Some(at),
                        _ => None,
                    });
                    if let Some(soonest) = retries.min() {
                        let until = (soonest - Utc::now()).to_std().unwrap_or_default();
                        wait = wait.min(until);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(sink = self.sink.name(), error = %e, "claiming events failed")
                }
            }
            // Until this instance commits more, or another instance's rows are due.
            let _ = tokio::time::timeout(wait, self.committed.changed()).await;
        }
    }

    /// Delivers one event and records a failure; the caller records deliveries, a batch at a
    /// time.
    async fn deliver(&self, row: &OutboxRow) -> Outcome {
        let sink = self.sink.name().to_owned();
        let event = Event::new(row, &self.render);
        let timeout = self.sink.timeout();
        let outcome = tokio::time::timeout(timeout, self.sink.deliver(&event))
            .await
            .unwrap_or_else(|_| Err(SinkError(format!("no answer within {timeout:?}"))));
        let now = Utc::now();
        match outcome {
            Ok(()) => {
                self.breaker.succeeded();
                metrics::counter!(DELIVERIES, "sink" => sink.clone(), "outcome" => "delivered")
                    .increment(1);
                let lag = (now - row.occurred_at).to_std().unwrap_or_default();
                metrics::histogram!(DELIVERY_SECONDS, "sink" => sink).record(lag.as_secs_f64());
                Outcome::Delivered
            }
            Err(e) => {
                self.breaker.failed(Instant::now());
                let retry = retry(&self.settings, row, now);
                let (label, outcome) = match retry {
                    Retry::At(at) => ("failed", Outcome::Again(at)),
                    Retry::GiveUp => {
                        tracing::warn!(sink, event = %row.id, media = %row.media_id, error = %e,
                            attempts = row.attempts + 1, "event is a dead letter");
                        ("dead", Outcome::Dead)
                    }
                };
                metrics::counter!(DELIVERIES, "sink" => sink, "outcome" => label).increment(1);
                // Unrecorded, the row is tried again when its lease ends.
                if let Err(e) = self.repo.event_failed(row.seq, &e.0, retry, now).await {
                    tracing::warn!(sink = self.sink.name(), event = %row.id, error = %e,
                        "recording a failed delivery failed");
                }
                outcome
            }
        }
    }
}

/// What became of one delivery.
enum Outcome {
    Delivered,
    /// Failed; to be tried again at this time.
    Again(DateTime<Utc>),
    Dead,
}

/// When to try `row` again after its attempt failed at `now`, or never.
fn retry(settings: &EventSettings, row: &OutboxRow, now: DateTime<Utc>) -> Retry {
    let failures = row.attempts as u32 + 1;
    let too_old = (now - row.occurred_at).to_std().unwrap_or_default() >= settings.ttl;
    if failures >= settings.max_attempts || too_old {
        return Retry::GiveUp;
    }
    let delay = backoff(
        settings.retry_base,
        settings.retry_max,
        failures,
        rand::rng().random(),
    );
    Retry::At(now + chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX))
}

/// `base · 2^(failures-1)`, capped at `max`, of which the upper half is random (`jitter` in
/// [0, 1)): until the cap, each gap is longer than the one before; retries of many events
/// spread out.
pub fn backoff(base: Duration, max: Duration, failures: u32, jitter: f64) -> Duration {
    let full = base
        .saturating_mul(1 << failures.saturating_sub(1).min(30))
        .min(max);
    full / 2 + full.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
}

/// Keeps the outbox gauges of `/metrics` current (every instance reports the same totals).
pub fn spawn_stats(repo: Arc<dyn MediaRepo>, every: Duration) {
    tokio::spawn(async move {
        loop {
            if let Ok(stats) = repo.outbox_stats().await {
                metrics::gauge!(EVENTS_PENDING).set(stats.pending as f64);
                metrics::gauge!(DEAD_LETTERS).set(stats.dead as f64);
                let age = stats.oldest_pending.map_or(0.0, |t| {
                    (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
                });
                metrics::gauge!(OLDEST_PENDING_SECONDS).set(age);
            }
            tokio::time::sleep(every).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_gap_is_longer_than_the_one_before() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(60));
        let slowest = |n| backoff(base, max, n, 0.999);
        let fastest = |n| backoff(base, max, n, 0.0);
        assert_eq!(fastest(1), Duration::from_millis(50));
        assert!(slowest(1) < Duration::from_millis(100));
        for n in 1..10 {
            assert!(slowest(n) <= fastest(n + 1), "attempt {n}");
        }
        assert_eq!(backoff(base, max, 40, 0.0), Duration::from_secs(30));
        assert!(backoff(base, max, 40, 0.999) < max);
    }
}
