//! The test databases: a PostgreSQL database of its own per app, and queries straight to the
//! records, past the service.

use std::sync::Arc;

use mediastore::db::MediaRepo;
use sqlx::Connection;

use super::app::TestApp;
use super::stack::Db;

/// Where the test PostgreSQL server is; each test creates (and drops) its own database in it.
fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty database: its URL and its name.
pub(super) async fn create_postgres_database() -> (String, String) {
    let name = format!("mediastore_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .execute(&mut admin)
        .await
        .expect("create db");
    let url = postgres_admin_url();
    let base = url.rsplit_once('/').expect("url has a database").0;
    (format!("{base}/{name}"), name)
}

/// Drops a test database. Called from `Drop`, inside the test's runtime, so the clean-up gets a
/// thread and runtime of its own.
pub(super) fn drop_postgres_database(name: String) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .execute(&mut admin)
                .await;
            }
        });
    })
    .join()
    .ok();
}

impl TestApp {
    pub async fn record_count(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM media", None)
            .await
            .expect("a count")
    }

    /// The record's stored name, straight from the database.
    pub async fn record_name(&self, id: uuid::Uuid) -> Option<String> {
        let sql = match self.stack.db {
            Db::Sqlite => "SELECT name FROM media WHERE id = ?",
            Db::Postgres => "SELECT name FROM media WHERE id = $1",
        };
        self.scalar(sql, Some(id)).await
    }

    /// What the record says stripping learnt: orientation, frames (0 for none) and whether
    /// the stored bytes are stripped, straight from the database.
    pub async fn record_stripping(&self, id: uuid::Uuid) -> (i32, i32, bool) {
        let sqls: [&'static str; 3] = match self.stack.db {
            Db::Sqlite => [
                "SELECT orientation FROM media WHERE id = ?",
                "SELECT COALESCE(frames, 0) FROM media WHERE id = ?",
                "SELECT CAST(metadata_stripped AS INTEGER) FROM media WHERE id = ?",
            ],
            Db::Postgres => [
                "SELECT orientation FROM media WHERE id = $1",
                "SELECT COALESCE(frames, 0) FROM media WHERE id = $1",
                "SELECT CAST(metadata_stripped AS INTEGER) FROM media WHERE id = $1",
            ],
        };
        let mut values = [0; 3];
        for (value, sql) in values.iter_mut().zip(sqls) {
            *value = self.scalar(sql, Some(id)).await.expect("the record");
        }
        (values[0], values[1], values[2] == 1)
    }

    /// The first column of the first row of `sql`, with `id` bound if given.
    async fn scalar<T>(&self, sql: &'static str, id: Option<uuid::Uuid>) -> Option<T>
    where
        T: Send + Unpin,
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        // The same query on either connection type.
        macro_rules! fetch_on {
            ($connection:ty) => {{
                let url = &self.settings.database_url;
                let mut c = <$connection>::connect(url).await.unwrap();
                let query = sqlx::query_scalar(sql);
                let query = match id {
                    Some(id) => query.bind(id),
                    None => query,
                };
                query.fetch_optional(&mut c).await.unwrap()
            }};
        }
        match self.stack.db {
            Db::Sqlite => fetch_on!(sqlx::SqliteConnection),
            Db::Postgres => fetch_on!(sqlx::PgConnection),
        }
    }

    /// A pool of its own on this app's database, as another process would have.
    pub async fn repo(&self, connections: u32) -> Arc<dyn MediaRepo> {
        mediastore::db::connect(&self.settings.database_url, connections)
            .await
            .expect("the database answers")
    }

    /// A blob store of its own on this app's store, as another process would have.
    pub fn blob_store(&self) -> mediastore::storage::BlobStore {
        mediastore::storage::BlobStore::new(&self.settings.storage).expect("the store builds")
    }
}

/// Another client's transaction holding the write lock of an app's database: the app's writes
/// wait until [`WriteLock::release`] (or fail, if that takes longer than their timeout).
pub enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl TestApp {
    pub async fn hold_write_lock(&self) -> WriteLock {
        let url = &self.settings.database_url;
        match self.stack.db {
            Db::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut c)
                    .await
                    .unwrap();
                WriteLock::Sqlite(c)
            }
            Db::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                // Readers go on; every INSERT into media waits.
                for sql in ["BEGIN", "LOCK TABLE media IN EXCLUSIVE MODE"] {
                    sqlx::query(sql).execute(&mut c).await.unwrap();
                }
                WriteLock::Postgres(c)
            }
        }
    }
}

impl WriteLock {
    pub async fn release(self) {
        match self {
            Self::Sqlite(mut c) => drop(sqlx::query("ROLLBACK").execute(&mut c).await.unwrap()),
            Self::Postgres(mut c) => drop(sqlx::query("ROLLBACK").execute(&mut c).await.unwrap()),
        }
    }
}
