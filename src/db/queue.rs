//! The durable queues (SPEC §11): the outbox of events, and background jobs. Both live in the
//! records' database, so that a change and the work it causes commit together, and nothing
//! queued is lost when a process dies: a claimed row carries a lease, and a row whose lease ran
//! out is claimed again.
//!
//! Both databases run the same statements (`queue_impl!`); PostgreSQL adds `FOR UPDATE SKIP
//! LOCKED` to each claim so that instances take disjoint rows.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use tokio::sync::watch;
use uuid::Uuid;

use super::{DbError, MediaRecord};

/// What each change writes along with itself, in its own transaction.
#[derive(Debug, Clone)]
pub struct WriteAlong {
    /// The sinks an event is written for, one row each; none: no events are recorded.
    pub event_sinks: Vec<String>,
    /// Variants made right after a map (`VARIANT_EAGER`).
    pub eager_variants: Vec<String>,
    /// Variants made inside the off-peak window (`VARIANT_OFFPEAK`).
    pub offpeak_variants: Vec<String>,
    /// Bumped after each commit that queued something, so that this instance's dispatchers
    /// and job worker start at once instead of at their next poll.
    pub committed: Arc<watch::Sender<u64>>,
}

impl Default for WriteAlong {
    fn default() -> Self {
        Self {
            event_sinks: Vec::new(),
            eager_variants: Vec::new(),
            offpeak_variants: Vec::new(),
            committed: Arc::new(watch::channel(0).0),
        }
    }
}

impl WriteAlong {
    /// Whether a map queues anything (events or jobs).
    pub fn queues_on_map(&self) -> bool {
        !self.event_sinks.is_empty()
            || !self.eager_variants.is_empty()
            || !self.offpeak_variants.is_empty()
    }

    /// Wakes whoever waits for queued rows; call after the commit.
    pub fn wake(&self, queued: bool) {
        if queued {
            self.committed.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// What happened to a media file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Uploaded,
    Mapped,
    Deleted,
    /// Removed by the sweeper: never mapped within UNMAPPED_TTL_SECS.
    Expired,
}

impl EventType {
    /// `media.uploaded`, ...: the NATS subject's tail and, after `mediastore.`, the CloudEvents
    /// `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploaded => "media.uploaded",
            Self::Mapped => "media.mapped",
            Self::Deleted => "media.deleted",
            Self::Expired => "media.expired",
        }
    }
}

/// One event on its way to one sink.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub seq: i64,
    /// The CloudEvents `id`: the same for every sink and every attempt.
    pub id: Uuid,
    pub sink: String,
    pub event_type: String,
    pub media_id: Uuid,
    /// The record as it was after the change (before it, for a deletion).
    pub record: Json<MediaRecord>,
    pub occurred_at: DateTime<Utc>,
    /// Attempts that failed so far.
    pub attempts: i32,
    pub last_error: Option<String>,
    pub dead_at: Option<DateTime<Utc>>,
}

/// One variant to make ahead of its first request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub seq: i64,
    pub media_id: Uuid,
    pub variant: String,
    pub offpeak: bool,
    pub created_at: DateTime<Utc>,
    /// Claims so far, this one included: a worker that died mid-job counts.
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub leased_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// How far behind delivery is, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxStats {
    pub pending: i64,
    pub oldest_pending: Option<DateTime<Utc>>,
    pub dead: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStats {
    pub pending: i64,
    pub running: i64,
    pub failed: i64,
}

/// What became of an attempt that did not succeed.
#[derive(Debug, Clone, Copy)]
pub enum Retry {
    At(DateTime<Utc>),
    /// No more attempts: a dead letter (events) or a failed job.
    GiveUp,
}

impl Retry {
    /// The row's next attempt, or when it was given up: one of the two is set.
    pub(super) fn next_or_end(
        self,
        now: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        match self {
            Self::At(at) => (Some(at), None),
            Self::GiveUp => (None, Some(now)),
        }
    }
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Leases up to `limit` due events of `sink` until `now + lease`: for each media id only
    /// its oldest undelivered event, so that a media's events arrive in order.
    async fn claim_events(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, DbError>;

    /// The sink has these events: they leave the outbox, in one transaction (one commit for
    /// a batch, not one each).
    async fn events_delivered(&self, seqs: &[i64]) -> Result<(), DbError>;

    async fn event_failed(
        &self,
        seq: i64,
        error: &str,
        retry: Retry,
        now: DateTime<Utc>,
    ) -> Result<(), DbError>;

    /// Dead letters, oldest first.
    async fn dead_events(&self, limit: i64) -> Result<Vec<OutboxRow>, DbError>;

    /// Makes dead letters (one event id's, or all) due again with a fresh count of attempts;
    /// returns how many rows.
    async fn retry_dead(&self, id: Option<Uuid>, now: DateTime<Utc>) -> Result<u64, DbError>;

    async fn outbox_stats(&self) -> Result<OutboxStats, DbError>;

    /// Leases the oldest due job until `now + lease`; off-peak jobs only if `offpeak_open`.
    async fn claim_job(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        offpeak_open: bool,
    ) -> Result<Option<JobRow>, DbError>;

    /// The job is done (or moot: its media is gone): it leaves the table.
    async fn job_done(&self, seq: i64) -> Result<(), DbError>;

    async fn job_failed(
        &self,
        seq: i64,
        error: &str,
        retry: Retry,
        now: DateTime<Utc>,
    ) -> Result<(), DbError>;

    /// Jobs pending, running and failed, oldest first, at most `limit`.
    async fn jobs(&self, limit: i64) -> Result<Vec<JobRow>, DbError>;

    async fn job_stats(&self, now: DateTime<Utc>) -> Result<JobStats, DbError>;
}

pub(super) mod sql {
    pub const INSERT_EVENT: &str = "INSERT INTO outbox \
        (id, sink, event_type, media_id, record, occurred_at, next_attempt_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7)";

    /// Oldest first by `seq`; a media whose earlier event is still undelivered waits for it.
    macro_rules! claim_events {
        ($lock:literal) => {
            concat!(
                "UPDATE outbox SET leased_until = $1 WHERE seq IN (\
                   SELECT o.seq FROM outbox o \
                   WHERE o.sink = $2 AND o.dead_at IS NULL AND o.next_attempt_at <= $3 \
                     AND (o.leased_until IS NULL OR o.leased_until < $3) \
                     AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.sink = o.sink \
                       AND p.media_id = o.media_id AND p.dead_at IS NULL AND p.seq < o.seq) \
                   ORDER BY o.seq LIMIT $4 ",
                $lock,
                ") RETURNING *"
            )
        };
    }

    pub const EVENT_DELIVERED: &str = "DELETE FROM outbox WHERE seq = $1";
    pub const EVENT_FAILED: &str = "UPDATE outbox SET attempts = attempts + 1, last_error = $1, \
        next_attempt_at = COALESCE($2, next_attempt_at), dead_at = $3, leased_until = NULL \
        WHERE seq = $4";
    pub const DEAD_EVENTS: &str =
        "SELECT * FROM outbox WHERE dead_at IS NOT NULL ORDER BY seq LIMIT $1";
    pub const RETRY_DEAD: &str = "UPDATE outbox SET dead_at = NULL, attempts = 0, \
        next_attempt_at = $1, leased_until = NULL \
        WHERE dead_at IS NOT NULL AND ($2 IS NULL OR id = $2)";
    pub const OUTBOX_STATS: &str = "SELECT \
        COUNT(*) FILTER (WHERE dead_at IS NULL), \
        MIN(occurred_at) FILTER (WHERE dead_at IS NULL), \
        COUNT(*) FILTER (WHERE dead_at IS NOT NULL) FROM outbox";

    /// A map asks again for a variant already queued: one row is enough.
    pub const INSERT_JOB: &str = "INSERT INTO jobs \
        (media_id, variant, offpeak, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5) \
        ON CONFLICT (media_id, variant) DO NOTHING";
    pub const DELETE_JOBS_OF: &str = "DELETE FROM jobs WHERE media_id = $1";

    /// Eager jobs before off-peak ones; the claim counts as an attempt.
    macro_rules! claim_job {
        ($lock:literal) => {
            concat!(
                "UPDATE jobs SET leased_until = $1, attempts = attempts + 1 WHERE seq = (\
                   SELECT seq FROM jobs WHERE failed_at IS NULL AND next_attempt_at <= $2 \
                     AND (leased_until IS NULL OR leased_until < $2) AND (NOT offpeak OR $3) \
                   ORDER BY offpeak, seq LIMIT 1 ",
                $lock,
                ") RETURNING *"
            )
        };
    }

    pub const JOB_DONE: &str = "DELETE FROM jobs WHERE seq = $1";
    pub const JOB_FAILED: &str = "UPDATE jobs SET last_error = $1, \
        next_attempt_at = COALESCE($2, next_attempt_at), failed_at = $3, leased_until = NULL \
        WHERE seq = $4";
    pub const JOBS: &str = "SELECT * FROM jobs ORDER BY seq LIMIT $1";
    pub const JOB_STATS: &str = "SELECT \
        COUNT(*) FILTER (WHERE failed_at IS NULL AND (leased_until IS NULL OR leased_until < $1)), \
        COUNT(*) FILTER (WHERE failed_at IS NULL AND leased_until >= $1), \
        COUNT(*) FILTER (WHERE failed_at IS NOT NULL) FROM jobs";

    pub(crate) use {claim_events, claim_job};
}

/// Inside `$tx`: one row per sink of `$along` for each of `$records`, under one event id each.
macro_rules! record_events {
    ($tx:expr, $along:expr, $event:expr, $records:expr, $now:expr, $time:expr) => {
        if !$along.event_sinks.is_empty() {
            for record in $records {
                let id = uuid::Uuid::new_v4();
                for sink in &$along.event_sinks {
                    sqlx::query($crate::db::queue::sql::INSERT_EVENT)
                        .bind(id)
                        .bind(sink)
                        .bind($event.as_str())
                        .bind(record.id)
                        .bind(sqlx::types::Json(record))
                        .bind($time($now))
                        .bind($time($now))
                        .execute(&mut *$tx)
                        .await?;
                }
            }
        }
    };
}

/// Inside `$tx`: the eager and off-peak variant jobs of each of `$records`.
macro_rules! queue_variants {
    ($tx:expr, $along:expr, $records:expr, $now:expr, $time:expr) => {
        for record in $records {
            let eager = $along.eager_variants.iter().map(|v| (v, false));
            let offpeak = $along.offpeak_variants.iter().map(|v| (v, true));
            for (variant, offpeak) in eager.chain(offpeak) {
                sqlx::query($crate::db::queue::sql::INSERT_JOB)
                    .bind(record.id)
                    .bind(variant)
                    .bind(offpeak)
                    .bind($time($now))
                    .bind($time($now))
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    };
}

/// The [`Queue`] of a repository with a `pool` field; `$time` turns a timestamp into what the
/// database stores, `$lock` is what a claim's inner `SELECT` ends with.
macro_rules! queue_impl {
    ($repo:ty, $time:expr, $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::db::queue::Queue for $repo {
            async fn claim_events(
                &self,
                sink: &str,
                now: chrono::DateTime<chrono::Utc>,
                lease: std::time::Duration,
                limit: i64,
            ) -> Result<Vec<$crate::db::OutboxRow>, $crate::db::DbError> {
                let until =
                    now + chrono::TimeDelta::from_std(lease).unwrap_or(chrono::TimeDelta::MAX);
                let mut rows: Vec<$crate::db::OutboxRow> =
                    sqlx::query_as($crate::db::queue::sql::claim_events!($lock))
                        .bind($time(until))
                        .bind(sink)
                        .bind($time(now))
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                rows.sort_by_key(|row| row.seq);
                Ok(rows)
            }

            async fn events_delivered(&self, seqs: &[i64]) -> Result<(), $crate::db::DbError> {
                let mut tx = self.pool.begin().await?;
                for seq in seqs {
                    sqlx::query($crate::db::queue::sql::EVENT_DELIVERED)
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn event_failed(
                &self,
                seq: i64,
                error: &str,
                retry: $crate::db::Retry,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::db::DbError> {
                let (next, dead) = retry.next_or_end(now);
                let (next, dead) = (next.map($time), dead.map($time));
                sqlx::query($crate::db::queue::sql::EVENT_FAILED)
                    .bind(error)
                    .bind(next)
                    .bind(dead)
                    .bind(seq)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn dead_events(
                &self,
                limit: i64,
            ) -> Result<Vec<$crate::db::OutboxRow>, $crate::db::DbError> {
                Ok(sqlx::query_as($crate::db::queue::sql::DEAD_EVENTS)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn retry_dead(
                &self,
                id: Option<uuid::Uuid>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::db::DbError> {
                Ok(sqlx::query($crate::db::queue::sql::RETRY_DEAD)
                    .bind($time(now))
                    .bind(id)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn outbox_stats(&self) -> Result<$crate::db::OutboxStats, $crate::db::DbError> {
                let (pending, oldest_pending, dead) =
                    sqlx::query_as($crate::db::queue::sql::OUTBOX_STATS)
                        .fetch_one(&self.pool)
                        .await?;
                Ok($crate::db::OutboxStats {
                    pending,
                    oldest_pending,
                    dead,
                })
            }

            async fn claim_job(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease: std::time::Duration,
                offpeak_open: bool,
            ) -> Result<Option<$crate::db::JobRow>, $crate::db::DbError> {
                let until =
                    now + chrono::TimeDelta::from_std(lease).unwrap_or(chrono::TimeDelta::MAX);
                Ok(sqlx::query_as($crate::db::queue::sql::claim_job!($lock))
                    .bind($time(until))
                    .bind($time(now))
                    .bind(offpeak_open)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn job_done(&self, seq: i64) -> Result<(), $crate::db::DbError> {
                sqlx::query($crate::db::queue::sql::JOB_DONE)
                    .bind(seq)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn job_failed(
                &self,
                seq: i64,
                error: &str,
                retry: $crate::db::Retry,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::db::DbError> {
                let (next, failed) = retry.next_or_end(now);
                let (next, failed) = (next.map($time), failed.map($time));
                sqlx::query($crate::db::queue::sql::JOB_FAILED)
                    .bind(error)
                    .bind(next)
                    .bind(failed)
                    .bind(seq)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn jobs(
                &self,
                limit: i64,
            ) -> Result<Vec<$crate::db::JobRow>, $crate::db::DbError> {
                Ok(sqlx::query_as($crate::db::queue::sql::JOBS)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn job_stats(
                &self,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::db::JobStats, $crate::db::DbError> {
                let (pending, running, failed) = sqlx::query_as($crate::db::queue::sql::JOB_STATS)
                    .bind($time(now))
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::db::JobStats {
                    pending,
                    running,
                    failed,
                })
            }
        }
    };
}

pub(super) use {queue_impl, queue_variants, record_events};
