//! PostgreSQL: the production database, shared by any number of instances.

use std::collections::BTreeSet;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use uuid::Uuid;

use super::queue::{self, record_events};
use super::{
    DbError, EventType, MapError, MediaRecord, MediaRepo, NewUpload, PoolOptions, WriteAlong, sql,
};
use crate::media::MapItem;

pub struct PostgresRepo {
    pool: PgPool,
    along: WriteAlong,
}

queue::queue_impl!(
    PostgresRepo,
    std::convert::identity,
    "FOR UPDATE SKIP LOCKED"
);

impl PostgresRepo {
    pub async fn connect(url: &str, pool: &PoolOptions) -> Result<Self, DbError> {
        let along = pool.write_along.clone();
        // The server ends a statement that runs past the timeout, so a slow query frees its
        // connection; the client side bounds each call as well (`Guarded`).
        let statement_timeout = pool.timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(url)?
            .options([("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.timeout)
            .connect_with(options)
            .await?;
        Ok(Self { pool, along })
    }
}

#[async_trait]
impl MediaRepo for PostgresRepo {
    async fn migrate(&self) -> Result<(), DbError> {
        sqlx::migrate!("./migrations/postgres")
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
        let mut tx = self.pool.begin().await?;
        // Uploads with one token queue here until the one before has committed, so each counts
        // the others' files (READ COMMITTED would not see them otherwise). In token order, so
        // that two groups holding the same tokens cannot deadlock.
        let tokens: BTreeSet<Uuid> = uploads
            .iter()
            .filter_map(|upload| Some(upload.quota?.token))
            .collect();
        for token in tokens {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(token.to_string())
                .execute(&mut *tx)
                .await?;
        }
        sql::insert_uploads!(tx, self.along, uploads, std::convert::identity);
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
        let mut tx = self.pool.begin().await?;
        let mut found = Vec::with_capacity(items.len());
        for item in items {
            // FOR UPDATE: a concurrent map, delete or sweep of the same row waits for this one.
            found.push(
                sqlx::query_as("SELECT * FROM media WHERE id = $1 FOR UPDATE")
                    .bind(item.id)
                    .fetch_optional(&mut *tx)
                    .await?,
            );
        }
        let mapped: Vec<MediaRecord> = sql::apply_mapping!(tx, owner, items, found, now);
        record_events!(
            tx,
            self.along,
            EventType::Mapped,
            &mapped,
            now,
            std::convert::identity
        );
        queue::queue_variants!(tx, self.along, &mapped, now, std::convert::identity);
        tx.commit().await?;
        self.along.wake(self.along.queues_on_map());
        Ok(mapped)
    }

    async fn delete(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError> {
        let mut tx = self.pool.begin().await?;
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
            std::convert::identity
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
        // SKIP LOCKED: concurrent sweepers on other instances take disjoint batches.
        let mut tx = self.pool.begin().await?;
        let expired: Vec<MediaRecord> = sqlx::query_as(
            "DELETE FROM media WHERE id IN \
               (SELECT id FROM media WHERE owner IS NULL AND created_at < $1 \
                ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
             AND owner IS NULL RETURNING *",
        )
        .bind(cutoff)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        record_events!(
            tx,
            self.along,
            EventType::Expired,
            &expired,
            Utc::now(),
            std::convert::identity
        );
        tx.commit().await?;
        self.along
            .wake(!expired.is_empty() && !self.along.event_sinks.is_empty());
        Ok(expired)
    }

    async fn existing_names(&self, names: &[String]) -> Result<Vec<String>, DbError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM media WHERE name = ANY($1)")
                .bind(names)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn names_after(&self, after: &str, limit: i64) -> Result<Vec<String>, DbError> {
        Ok(sqlx::query_scalar(sql::NAMES_AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}
