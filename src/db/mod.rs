//! Records. One [`MediaRepo`] trait, one implementation per database, and [`Guarded`] in
//! front of both (timeouts, a circuit breaker, the id → stored name cache); every SQL string
//! lives in this module's files.

mod guarded;
mod postgres;
mod queue;
mod sql;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::media::{MapItem, MapRefusal, Mappable, Metadata, StoredName};

use crate::breaker::{Breaker, Open};

pub use guarded::Guarded;
pub use postgres::PostgresRepo;
pub use queue::{EventType, JobRow, JobStats, OutboxRow, OutboxStats, Queue, Retry, WriteAlong};
pub use sqlite::SqliteRepo;

/// A stored file's record: its opaque id, what the upload found out about it, and once
/// mapped, its owner and generated metadata. Events carry it as JSON.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct MediaRecord {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha1: String,
    pub width: i64,
    pub height: i64,
    pub original_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub owner: Option<String>,
    pub mapped_at: Option<DateTime<Utc>>,
    pub metadata: Option<Json<Metadata>>,
    /// EXIF orientation, 1..=8, kept in the stored file; `width` and `height` are as displayed.
    pub orientation: i32,
    /// Frames of an animation (GIF, animated PNG or WebP), counted without decoding.
    pub frames: Option<i32>,
    /// Whether the stored bytes had their metadata stripped (`STRIP_METADATA`).
    pub metadata_stripped: bool,
    /// The upload token's owner hint: the only owner the file may be mapped to.
    pub owner_hint: Option<String>,
    /// The id of the upload token that stored the file.
    pub upload_token: Option<Uuid>,
}

/// An upload token's budget of files, checked in the transaction that records them.
#[derive(Debug, Clone, Copy)]
pub struct TokenQuota {
    pub token: Uuid,
    pub max_files: u32,
}

/// One upload request's records, and the budget of the token it came with, if any.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub records: Vec<MediaRecord>,
    pub quota: Option<TokenQuota>,
}

impl MediaRecord {
    /// The record's blob name; a record whose name is not a stored name is corrupt.
    pub fn stored_name(&self) -> Result<StoredName, DbError> {
        StoredName::parse(&self.name).map_err(|_| DbError::CorruptName { id: self.id })
    }

    /// What the mapping rules need to know of this file.
    pub fn mappable(&self) -> Mappable<'_> {
        Mappable {
            id: self.id,
            owner: self.owner.as_deref(),
            owner_hint: self.owner_hint.as_deref(),
            width: self.width,
            height: self.height,
            size: self.size,
            content_type: &self.content_type,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("creating the database directory {path}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("the record {id} holds a name that is not a stored name")]
    CorruptName { id: Uuid },
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Unavailable(#[from] Open),
    #[error("the upload token's limit of {max_files} files in all is reached")]
    TokenQuota { max_files: u32 },
    /// The database was unavailable for the group of uploads (group commit) this one was in.
    #[error("the database was unavailable for a group of uploads: {reason}")]
    GroupUnavailable {
        reason: String,
        retry_after: Duration,
    },
    #[error("the upload recorder has stopped")]
    RecorderStopped,
}

impl DbError {
    /// Whether the error says the database is down (unreachable, refusing, timing out,
    /// shutting down), rather than a refusal of this request or a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Timeout(_)
            | Self::Unavailable(_)
            | Self::GroupUnavailable { .. }
            | Self::RecorderStopped => true,
            Self::Sqlx(e) => match e {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                // PostgreSQL: connection exceptions (08), shutting down or not yet accepting
                // (57P01-57P03), out of resources (53); SQLite: busy or locked past the timeout.
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || code.starts_with("57P0")
                        || code.starts_with("53")
                        || code == "5"
                        || code == "6"
                }),
                _ => false,
            },
            Self::Migrate(_)
            | Self::CreateDir { .. }
            | Self::CorruptName { .. }
            | Self::TokenQuota { .. } => false,
        }
    }

    /// Whether the database refused the call for breaking a constraint (a unique key, a
    /// foreign key, a check): the request conflicts with what is stored, it is not a bug.
    pub fn is_conflict(&self) -> bool {
        use sqlx::error::ErrorKind;
        let Self::Sqlx(sqlx::Error::Database(db)) = self else {
            return false;
        };
        matches!(
            db.kind(),
            ErrorKind::UniqueViolation
                | ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation
        )
    }

    /// How long a client should wait before trying again, when the database is down.
    pub fn retry_after(&self) -> Duration {
        match self {
            Self::Unavailable(open) => open.retry_after,
            Self::GroupUnavailable { retry_after, .. } => *retry_after,
            _ => Duration::from_secs(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error(transparent)]
    Refused(#[from] MapRefusal),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for MapError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// The records, and the queues written in their transactions ([`Queue`]).
#[async_trait]
pub trait MediaRepo: Queue + Send + Sync + 'static {
    async fn migrate(&self) -> Result<(), DbError>;

    /// Pool connections currently checked out, for `/metrics`.
    fn connections_in_use(&self) -> u32;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), DbError>;

    /// Inserts the records of every upload in one transaction: all of them or none (group
    /// commit passes the uploads that finished together). None if a token with a quota would
    /// then have stored more than its `max_files`.
    async fn insert_all(&self, uploads: &[NewUpload]) -> Result<(), DbError>;

    async fn find(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError>;

    /// The stored name of `id`'s file; `None` if there is no such record.
    async fn name_of(&self, id: Uuid) -> Result<Option<StoredName>, DbError> {
        self.find(id)
            .await?
            .map(|record| record.stored_name())
            .transpose()
    }

    /// Maps every item to `owner` in one transaction, or changes nothing (the rules are
    /// [`crate::media::plan_mapping`]). Returns the updated records in request order. A re-map
    /// keeps the first `mapped_at`.
    async fn map(
        &self,
        owner: &str,
        items: &[MapItem],
        now: DateTime<Utc>,
    ) -> Result<Vec<MediaRecord>, MapError>;

    /// Deletes a record and returns it, so that its file can be removed next.
    async fn delete(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError>;

    /// Deletes up to `limit` never-mapped records created before `cutoff` and returns them.
    /// Safe to run from several instances at once: each record is returned to exactly one.
    async fn delete_unmapped_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<MediaRecord>, DbError>;

    /// Which of `names` have a record.
    async fn existing_names(&self, names: &[String]) -> Result<Vec<String>, DbError>;

    /// Stored names in name order, after `after`, at most `limit` of them (for walking every record).
    async fn names_after(&self, after: &str, limit: i64) -> Result<Vec<String>, DbError>;
}

/// Every recorded name, in name order, a page of `page` at a time: memory stays at one page
/// whatever the number of records.
pub fn recorded_names(
    repo: &dyn MediaRepo,
    page: i64,
) -> impl futures_util::Stream<Item = Result<Vec<String>, DbError>> + '_ {
    futures_util::stream::try_unfold(Some(String::new()), move |after| async move {
        let Some(after) = after else {
            return Ok(None); // the last page was short
        };
        let names = repo.names_after(&after, page).await?;
        let next = match names.last() {
            Some(last) if names.len() as i64 == page => Some(last.clone()),
            _ => None,
        };
        Ok((!names.is_empty()).then_some((names, next)))
    })
}

/// How long a SQLite call waits for the write lock, which one writer at a time holds.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a SQLite call waits for the write lock (and for a pooled connection).
fn sqlite_wait(options: &PoolOptions) -> Duration {
    SQLITE_BUSY_TIMEOUT.max(options.timeout)
}

/// How the service talks to its database.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    /// The longest a call may take, waiting for a connection included.
    pub timeout: Duration,
    /// Failures in a row that open the breaker, and how long it then stays open.
    pub breaker_threshold: u32,
    pub breaker_open: Duration,
    /// The events and jobs each change queues.
    pub write_along: WriteAlong,
}

impl PoolOptions {
    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            // Under the 5 s that a request may wait on a dead dependency, with room for the
            // rest of the request.
            timeout: Duration::from_secs(3),
            breaker_threshold: 3,
            breaker_open: Duration::from_secs(2),
            write_along: WriteAlong::default(),
        }
    }
}

/// Whether `url` names a SQLite database (otherwise it is PostgreSQL).
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Opens the database `url` names (`sqlite:` or `postgres://`) with default timeouts.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn MediaRepo>, DbError> {
    connect_with(url, &PoolOptions::new(max_connections)).await
}

/// Opens the database `url` names: the pool, every call bounded and behind a breaker, and the
/// name cache in front (so downloads by id already seen keep working while it is down).
pub async fn connect_with(url: &str, options: &PoolOptions) -> Result<Arc<dyn MediaRepo>, DbError> {
    let repo: Box<dyn MediaRepo> = if is_sqlite(url) {
        Box::new(SqliteRepo::connect(url, options).await?)
    } else {
        Box::new(PostgresRepo::connect(url, options).await?)
    };
    let breaker = Breaker::new("database", options.breaker_threshold, options.breaker_open);
    // SQLite is a file of this process: a call that takes long waits for the write lock (its
    // busy timeout), it is never "down", so its calls are only bounded against a hang.
    let timeout = if is_sqlite(url) {
        sqlite_wait(options) * 2
    } else {
        options.timeout
    };
    let guarded = Guarded::new(repo, timeout, breaker);
    Ok(Arc::new(guarded))
}

/// Applies the mapping rules to the records read in the mapping's transaction.
pub(super) fn plan(
    owner: &str,
    items: &[MapItem],
    found: &[Option<MediaRecord>],
) -> Result<Vec<Json<Metadata>>, MapRefusal> {
    let files: Vec<_> = found
        .iter()
        .map(|r| r.as_ref().map(MediaRecord::mappable))
        .collect();
    let planned = crate::media::plan_mapping(owner, items, &files)?;
    Ok(planned.into_iter().map(Json).collect())
}
