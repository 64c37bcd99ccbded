//! Records. One [`MediaRepo`] trait, one implementation per database; every SQL string lives
//! in this module's files.

mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::media::Metadata;

pub use postgres::PostgresRepo;
pub use sqlite::SqliteRepo;

/// A stored file's record (SPEC §3).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
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
}

/// One file of a mapping request.
#[derive(Debug, Clone)]
pub struct MapItem {
    pub id: Uuid,
    pub tags: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("unknown ids: {0:?}")]
    NotFound(Vec<Uuid>),
    #[error("ids mapped to another owner: {0:?}")]
    Conflict(Vec<Uuid>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for MapError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// The mapping rules, shared by both databases: every id must exist, none may belong to
/// another owner; each record gets freshly generated metadata. `found[i]` is the current
/// record of `items[i]`, read inside the transaction that will apply the result.
pub fn plan_mapping(
    owner: &str,
    items: &[MapItem],
    found: &[Option<MediaRecord>],
) -> Result<Vec<Json<Metadata>>, MapError> {
    let missing: Vec<Uuid> = items
        .iter()
        .zip(found)
        .filter(|(_, r)| r.is_none())
        .map(|(i, _)| i.id)
        .collect();
    if !missing.is_empty() {
        return Err(MapError::NotFound(missing));
    }
    let records = found.iter().flatten();
    let taken: Vec<Uuid> = records
        .clone()
        .filter(|r| r.owner.as_deref().is_some_and(|o| o != owner))
        .map(|r| r.id)
        .collect();
    if !taken.is_empty() {
        return Err(MapError::Conflict(taken));
    }
    Ok(records
        .zip(items)
        .map(|(r, item)| {
            Json(Metadata::generate(
                r.width,
                r.height,
                r.size,
                &r.content_type,
                item.tags.clone(),
            ))
        })
        .collect())
}

#[async_trait]
pub trait MediaRepo: Send + Sync + 'static {
    async fn migrate(&self) -> Result<(), DbError>;

    /// Pool connections currently checked out, for `/metrics`.
    fn connections_in_use(&self) -> u32;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), DbError>;

    /// Inserts every record in one transaction: all of them or none.
    async fn insert_all(&self, records: &[MediaRecord]) -> Result<(), DbError>;

    async fn find(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError>;

    /// Maps every item to `owner` in one transaction, or changes nothing (see [`plan_mapping`]).
    /// Returns the updated records in request order. A re-map keeps the first `mapped_at`.
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

/// Opens the database `url` names: `sqlite:` or `postgres://`.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn MediaRepo>, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteRepo::connect(url, max_connections).await?))
    } else {
        Ok(Arc::new(PostgresRepo::connect(url, max_connections).await?))
    }
}
