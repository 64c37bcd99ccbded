//! What stands in front of either database:
//!
//! - every call bounded in time and behind a circuit breaker, so that a database that is down
//!   or hanging costs a request at most the timeout, and after repeated failures nothing at
//!   all: calls fail at once with [`DbError::Unavailable`] until a probe succeeds;
//! - the id → stored name cache. A record's name never changes, so after the first lookup of
//!   an id, downloads by id skip the database (and keep working while it is down). Every delete
//!   on this instance (the API's and the sweeper's) goes through here and forgets the id; on
//!   another instance a stale entry only names a removed blob, which answers `404` all the
//!   same.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    DbError, JobRow, JobStats, MapError, MediaRecord, MediaRepo, NewUpload, OutboxRow, OutboxStats,
    Queue, Retry,
};
use crate::breaker::Breaker;
use crate::media::{MapItem, StoredName};

/// About 120 bytes a cached name, so at most about 12 MB.
const CACHED_NAMES: usize = 100_000;

pub struct Guarded {
    records: Box<dyn MediaRepo>,
    timeout: Duration,
    breaker: Breaker,
    names: quick_cache::sync::Cache<Uuid, StoredName>,
    /// When a call last succeeded, in milliseconds since `epoch`: a pool timeout while others
    /// succeed is contention, not an outage.
    epoch: Instant,
    last_success_ms: AtomicU64,
}

impl Guarded {
    pub fn new(records: Box<dyn MediaRepo>, timeout: Duration, breaker: Breaker) -> Self {
        Self {
            records,
            timeout,
            breaker,
            names: quick_cache::sync::Cache::new(CACHED_NAMES),
            epoch: Instant::now(),
            last_success_ms: AtomicU64::new(0),
        }
    }

    /// Runs `call` if the breaker allows it, within the timeout, and tells the breaker how the
    /// database answered.
    async fn guard<T, E>(&self, call: impl Future<Output = Result<T, E>>) -> Result<T, E>
    where
        E: From<DbError> + AsDbError,
    {
        let started = Instant::now();
        self.breaker
            .allow(started)
            .map_err(|open| E::from(DbError::Unavailable(open)))?;
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(E::from(DbError::Timeout(self.timeout))),
        };
        match result.as_ref().err().and_then(AsDbError::as_db_error) {
            Some(e) if e.is_unavailable() && !self.is_contention(e, started) => {
                self.breaker.failed(Instant::now())
            }
            Some(e) if e.is_unavailable() => {}
            _ => {
                self.breaker.succeeded();
                self.last_success_ms
                    .fetch_max(self.millis_since_epoch(Instant::now()), Ordering::Relaxed);
            }
        }
        result
    }

    /// No connection came free in time, while other calls went through: the database is busy,
    /// not down, so the breaker does not count it (the client still gets a 503). A connection
    /// stuck on a hanging database is busy too, so "in use" alone would not tell.
    fn is_contention(&self, e: &DbError, call_started: Instant) -> bool {
        matches!(e, DbError::Sqlx(sqlx::Error::PoolTimedOut))
            && self.last_success_ms.load(Ordering::Relaxed) >= self.millis_since_epoch(call_started)
    }

    fn millis_since_epoch(&self, at: Instant) -> u64 {
        // Never 0, which stands for "no success yet".
        at.duration_since(self.epoch).as_millis() as u64 + 1
    }
}

/// The database error inside an error, if any, to judge whether the database is down.
pub trait AsDbError {
    fn as_db_error(&self) -> Option<&DbError>;
}

impl AsDbError for DbError {
    fn as_db_error(&self) -> Option<&DbError> {
        Some(self)
    }
}

impl AsDbError for MapError {
    fn as_db_error(&self) -> Option<&DbError> {
        match self {
            MapError::Db(e) => Some(e),
            MapError::Refused(_) => None,
        }
    }
}

#[async_trait]
impl MediaRepo for Guarded {
    async fn migrate(&self) -> Result<(), DbError> {
        // Migrations may take long; they run at start-up, before any request.
        self.records.migrate().await
    }

    fn connections_in_use(&self) -> u32 {
        self.records.connections_in_use()
    }

    async fn ping(&self) -> Result<(), DbError> {
        self.guard(self.records.ping()).await
    }

    async fn insert_all(&self, uploads: &[NewUpload]) -> Result<(), DbError> {
        self.guard(self.records.insert_all(uploads)).await
    }

    async fn find(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError> {
        self.guard(self.records.find(id)).await
    }

    async fn name_of(&self, id: Uuid) -> Result<Option<StoredName>, DbError> {
        if let Some(name) = self.names.get(&id) {
            return Ok(Some(name));
        }
        let name = self.guard(self.records.name_of(id)).await?;
        if let Some(name) = &name {
            self.names.insert(id, name.clone());
        }
        Ok(name)
    }

    async fn map(
        &self,
        owner: &str,
        items: &[MapItem],
        now: DateTime<Utc>,
    ) -> Result<Vec<MediaRecord>, MapError> {
        self.guard(self.records.map(owner, items, now)).await
    }

    async fn delete(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError> {
        let deleted = self.guard(self.records.delete(id)).await?;
        self.names.remove(&id);
        Ok(deleted)
    }

    async fn delete_unmapped_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<MediaRecord>, DbError> {
        let expired = self
            .guard(self.records.delete_unmapped_before(cutoff, limit))
            .await?;
        for record in &expired {
            self.names.remove(&record.id);
        }
        Ok(expired)
    }

    async fn existing_names(&self, names: &[String]) -> Result<Vec<String>, DbError> {
        self.guard(self.records.existing_names(names)).await
    }

    async fn names_after(&self, after: &str, limit: i64) -> Result<Vec<String>, DbError> {
        self.guard(self.records.names_after(after, limit)).await
    }
}

/// The queues' calls, bounded and behind the same breaker as every other call.
#[async_trait]
impl Queue for Guarded {
    async fn claim_events(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, DbError> {
        self.guard(self.records.claim_events(sink, now, lease, limit))
            .await
    }

    async fn events_delivered(&self, seqs: &[i64]) -> Result<(), DbError> {
        self.guard(self.records.events_delivered(seqs)).await
    }

    async fn event_failed(
        &self,
        seq: i64,
        error: &str,
        retry: Retry,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.guard(self.records.event_failed(seq, error, retry, now))
            .await
    }

    async fn dead_events(&self, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
        self.guard(self.records.dead_events(limit)).await
    }

    async fn retry_dead(&self, id: Option<Uuid>, now: DateTime<Utc>) -> Result<u64, DbError> {
        self.guard(self.records.retry_dead(id, now)).await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, DbError> {
        self.guard(self.records.outbox_stats()).await
    }

    async fn claim_job(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        offpeak_open: bool,
    ) -> Result<Option<JobRow>, DbError> {
        self.guard(self.records.claim_job(now, lease, offpeak_open))
            .await
    }

    async fn job_done(&self, seq: i64) -> Result<(), DbError> {
        self.guard(self.records.job_done(seq)).await
    }

    async fn job_failed(
        &self,
        seq: i64,
        error: &str,
        retry: Retry,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.guard(self.records.job_failed(seq, error, retry, now))
            .await
    }

    async fn jobs(&self, limit: i64) -> Result<Vec<JobRow>, DbError> {
        self.guard(self.records.jobs(limit)).await
    }

    async fn job_stats(&self, now: DateTime<Utc>) -> Result<JobStats, DbError> {
        self.guard(self.records.job_stats(now)).await
    }
}
