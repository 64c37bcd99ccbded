//! SQLite: the zero-set-up default. One file, WAL mode, created on first start.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use uuid::Uuid;

use super::queue::{self, record_events};
use super::{
    DbError, EventType, MapError, MediaRecord, MediaRepo, NewUpload, PoolOptions, WriteAlong, sql,
};
use crate::media::MapItem;

pub struct SqliteRepo {
    pool: SqlitePool,
    along: WriteAlong,
}

queue::queue_impl!(SqliteRepo, timestamp, "");

/// Fixed-width text, so that `ORDER BY` and `<` on the column follow time.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl SqliteRepo {
    pub async fn connect(url: &str, pool: &PoolOptions) -> Result<Self, DbError> {
        let along = pool.write_along.clone();
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged upload survives power loss, not only a crash of the process.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(super::sqlite_wait(pool));
        if let Some(dir) = options
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(super::sqlite_wait(pool))
            .connect_with(options)
            .await?;
        Ok(Self { pool, along })
    }
}

#[async_trait]
impl MediaRepo for SqliteRepo {
    async fn migrate(&self) -> Result<(), DbError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    fn connections_in_use(&self) -> u32 {
        self.pool.size() - self.pool.num_idle() as u32
    }

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query(sql::PING).execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_all(&self, uploads: &[NewUpload]) -> Result<(), DbError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sql::insert_uploads!(tx, self.along, uploads, timestamp);
        tx.commit().await?;
        self.along.wake(!self.along.event_sinks.is_empty());
        Ok(())
    }

    async fn find(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError> {
        Ok(sqlx::query_as(sql::FIND)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn map(
        &self,
        owner: &str,
        items: &[MapItem],
        now: DateTime<Utc>,
    ) -> Result<Vec<MediaRecord>, MapError> {
        // IMMEDIATE takes the write lock first, so the read-check-write cannot interleave.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut found = Vec::with_capacity(items.len());
        for item in items {
            found.push(
                sqlx::query_as(sql::FIND)
                    .bind(item.id)
                    .fetch_optional(&mut *tx)
                    .await?,
            );
        }
        let mapped: Vec<MediaRecord> = sql::apply_mapping!(tx, owner, items, found, timestamp(now));
        record_events!(tx, self.along, EventType::Mapped, &mapped, now, timestamp);
        queue::queue_variants!(tx, self.along, &mapped, now, timestamp);
        tx.commit().await?;
        self.along.wake(self.along.queues_on_map());
        Ok(mapped)
    }

    async fn delete(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let deleted: Option<MediaRecord> = sqlx::query_as(sql::DELETE)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let gone = deleted.as_slice();
        record_events!(
            tx,
            self.along,
            EventType::Deleted,
            gone,
            Utc::now(),
            timestamp
        );
        sqlx::query(queue::sql::DELETE_JOBS_OF)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.along
            .wake(!gone.is_empty() && !self.along.event_sinks.is_empty());
        Ok(deleted)
    }

    async fn delete_unmapped_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<MediaRecord>, DbError> {
        // SQLite has one writer at a time, so two sweepers never delete the same row twice.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let expired: Vec<MediaRecord> = sqlx::query_as(
            "DELETE FROM media WHERE id IN \
               (SELECT id FROM media WHERE owner IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2) \
             RETURNING *",
        )
        .bind(timestamp(cutoff))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        record_events!(
            tx,
            self.along,
            EventType::Expired,
            &expired,
            Utc::now(),
            timestamp
        );
        tx.commit().await?;
        self.along
            .wake(!expired.is_empty() && !self.along.event_sinks.is_empty());
        Ok(expired)
    }

    async fn existing_names(&self, names: &[String]) -> Result<Vec<String>, DbError> {
        let names = serde_json::to_string(names).expect("strings serialise");
        Ok(sqlx::query_scalar(
            "SELECT name FROM media WHERE name IN (SELECT value FROM json_each($1))",
        )
        .bind(names)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn names_after(&self, after: &str, limit: i64) -> Result<Vec<String>, DbError> {
        Ok(sqlx::query_scalar(sql::NAMES_AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}
