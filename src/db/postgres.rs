//! PostgreSQL: the production database, shared by any number of instances.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use uuid::Uuid;

use super::{DbError, MediaRecord, MediaRepo};

pub struct PostgresRepo {
    pool: PgPool,
}

impl PostgresRepo {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
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

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_all(&self, records: &[MediaRecord]) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        for r in records {
            sqlx::query(
                "INSERT INTO media (id, name, content_type, size, sha1, width, height, original_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(r.id)
            .bind(&r.name)
            .bind(&r.content_type)
            .bind(r.size)
            .bind(&r.sha1)
            .bind(r.width)
            .bind(r.height)
            .bind(&r.original_name)
            .bind(r.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn find(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError> {
        Ok(sqlx::query_as("SELECT * FROM media WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }
}
