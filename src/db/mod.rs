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

#[async_trait]
pub trait MediaRepo: Send + Sync + 'static {
    async fn migrate(&self) -> Result<(), DbError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), DbError>;

    /// Inserts every record in one transaction: all of them or none.
    async fn insert_all(&self, records: &[MediaRecord]) -> Result<(), DbError>;

    async fn find(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError>;
}

/// Opens the database `url` names: `sqlite:` or `postgres://`.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn MediaRepo>, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteRepo::connect(url, max_connections).await?))
    } else {
        Ok(Arc::new(PostgresRepo::connect(url, max_connections).await?))
    }
}
