//! `TestApp`: the application on a real socket, with its own database and upload directory.

use std::path::{Path, PathBuf};

use mediastore::config::{ApiKey, Settings, StorageSettings};
use mediastore::startup::Application;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The platform backend's key in every test app (unless a test removes it).
pub const API_KEY: &str = "test-api-key-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Where the test PostgreSQL server is; each test creates (and drops) its own database in it.
fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub db: Db,
    postgres_db: Option<String>,
    dir: tempfile::TempDir,
}

/// Runs each named `async fn(Db)` test once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::helpers::Db::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::helpers::Db::Postgres).await
            }
        }
    )*};
}

pub async fn spawn_app(db: Db) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// Spawns the app with default settings changed by `customize`.
pub async fn spawn_app_with(db: Db, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, postgres_db) = match db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.path().join("media.db").display()),
            None,
        ),
        Db::Postgres => {
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
            (format!("{base}/{name}"), Some(name))
        }
    };
    let mut settings = Settings {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        database_url,
        database_max_connections: 5,
        storage: StorageSettings::fs(dir.path().join("uploads")),
        shutdown_timeout: std::time::Duration::from_secs(1),
        api_key: Some(ApiKey::new(API_KEY)),
        ..Settings::default()
    };
    customize(&mut settings);
    start(settings, db, postgres_db, dir).await
}

/// Builds the app on `settings` and serves it in the background.
async fn start(
    settings: Settings,
    db: Db,
    postgres_db: Option<String>,
    dir: tempfile::TempDir,
) -> TestApp {
    let app = Application::build(settings.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        settings,
        db,
        postgres_db,
        dir,
    }
}

impl TestApp {
    /// Another instance of the same service: the same database, its own port and upload
    /// directory, with `customize` applied to a copy of this app's settings.
    pub async fn spawn_sibling(&self, customize: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = self.settings.clone();
        settings.storage.upload_dir = dir.path().join("uploads");
        customize(&mut settings);
        // The first app owns (and drops) the database.
        start(settings, self.db, None, dir).await
    }

    /// Sends the head of a one-file upload and half the file over a raw socket, waits until it
    /// is staged, hangs up, and waits until the service has removed the staging file.
    pub async fn hang_up_half_way(&self, file: &[u8]) {
        let (head, tail) = split_multipart(file);
        let port = self.address.rsplit(':').next().unwrap();
        let mut socket = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let request = format!(
            "POST /v1/media HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
             Content-Length: {}\r\n\r\n",
            head.len() + tail.len()
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        socket.write_all(&head).await.unwrap();
        wait_until("the upload is staged", || !self.staged_files().is_empty()).await;
        drop(socket); // gone, mid-file
        wait_until("the staging file is removed", || {
            self.staged_files().is_empty()
        })
        .await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let Some(name) = self.postgres_db.take() else {
            return;
        };
        // Drop runs inside the test's runtime, so the clean-up gets a thread and runtime of its own.
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
}

/// One file part for an upload form.
pub fn file_part(bytes: Vec<u8>, file_name: &str, content_type: &str) -> Part {
    Part::bytes(bytes)
        .file_name(file_name.to_owned())
        .mime_str(content_type)
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_form(&self, form: Form) -> reqwest::Response {
        self.client
            .post(self.url("/v1/media"))
            .multipart(form)
            .send()
            .await
            .expect("upload request")
    }

    /// Uploads one file as a browser form would.
    pub async fn post_upload(&self, bytes: Vec<u8>, file_name: &str) -> reqwest::Response {
        self.post_form(Form::new().part(
            "file",
            file_part(bytes, file_name, "application/octet-stream"),
        ))
        .await
    }

    /// Uploads one file that must be accepted; returns its `Media` JSON.
    pub async fn upload_ok(&self, bytes: Vec<u8>, file_name: &str) -> Value {
        let response = self.post_upload(bytes, file_name).await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["files"][0].clone()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// Sends `request_line_path` exactly as given (no client-side normalisation of `..`).
    pub async fn raw_get(&self, request_line_path: &str) -> (u16, String) {
        let port = self.address.rsplit(':').next().unwrap();
        let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let request = format!(
            "GET {request_line_path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// `POST /v1/media/map` with the test API key.
    pub async fn map(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/media/map"))
            .bearer_auth(API_KEY)
            .json(body)
            .send()
            .await
            .expect("map")
    }

    /// `DELETE /v1/media/{id}` with the test API key.
    pub async fn delete(&self, id: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/v1/media/{id}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("delete")
    }

    /// Runs the real `mediastore` binary against this app's database and upload directory.
    pub fn run_cli(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_mediastore"))
            .args(args)
            .current_dir(self.dir.path()) // no developer's .env is picked up
            .env("DATABASE_URL", &self.settings.database_url)
            .env("UPLOAD_DIR", self.upload_dir())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .output()
            .expect("running mediastore")
    }

    pub fn upload_dir(&self) -> &Path {
        &self.settings.storage.upload_dir
    }

    /// Every stored file (shards only, not the staging area).
    pub fn stored_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for shard in std::fs::read_dir(self.upload_dir()).unwrap().flatten() {
            // Shards are two-character folders; `.tmp` and anything else are not.
            if shard.file_name().len() != 2 || !shard.file_type().unwrap().is_dir() {
                continue;
            }
            files.extend(
                std::fs::read_dir(shard.path())
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        }
        files.sort();
        files
    }

    /// Files in the staging area: after any finished request there must be none.
    pub fn staged_files(&self) -> Vec<PathBuf> {
        staged_files_in(self.upload_dir())
    }

    pub async fn record_count(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM media").await
    }

    async fn scalar(&self, sql: &'static str) -> i64 {
        match self.db {
            Db::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.settings.database_url)
                    .await
                    .unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
            Db::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.settings.database_url)
                    .await
                    .unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
        }
    }

    /// The record's stored name, straight from the database.
    pub async fn record_name(&self, id: &str) -> Option<String> {
        let id = uuid::Uuid::parse_str(id).unwrap();
        match self.db {
            Db::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.settings.database_url)
                    .await
                    .unwrap();
                sqlx::query_scalar("SELECT name FROM media WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut c)
                    .await
                    .unwrap()
            }
            Db::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.settings.database_url)
                    .await
                    .unwrap();
                sqlx::query_scalar("SELECT name FROM media WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut c)
                    .await
                    .unwrap()
            }
        }
    }

    /// Asserts that nothing at all was kept: no record, no stored file, no staged file.
    pub async fn assert_nothing_kept(&self) {
        assert_eq!(self.record_count().await, 0, "no record may be kept");
        assert_eq!(
            self.stored_files(),
            Vec::<PathBuf>::new(),
            "no file may be kept"
        );
        self.assert_no_staged_files();
    }

    pub fn assert_no_staged_files(&self) {
        assert_eq!(
            self.staged_files(),
            Vec::<PathBuf>::new(),
            "no temporary file may be left"
        );
    }
}

pub const BOUNDARY: &str = "mediastore-test-boundary";

/// A one-file multipart body split in two: the first half of the file, then the rest.
pub fn split_multipart(file: &[u8]) -> (bytes::Bytes, bytes::Bytes) {
    let half = file.len() / 2;
    let mut head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    head.extend_from_slice(&file[..half]);
    let mut tail = file[half..].to_vec();
    tail.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (head.into(), tail.into())
}

/// The two download paths of an uploaded file: by id and by stored name.
pub fn paths(media: &Value) -> [String; 2] {
    [
        media["url"].as_str().unwrap().to_owned(),
        media["file_url"].as_str().unwrap().to_owned(),
    ]
}

/// Borrows `(name, value)` pairs built at run time, as [`TestApp::run_cli`] takes them.
pub fn env_pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Reads a problem+json error and checks its shape; returns it.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status);
    assert_eq!(problem["code"], code, "{problem}");
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(problem["type"].as_str().is_some());
    problem
}

/// Polls `condition` every 20 ms for up to 10 s; fails the test naming `what` if it never holds.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Staged files under `root/.tmp`: loose ones and those in each process's folder, not the
/// processes' lock files.
pub fn staged_files_in(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(area) = std::fs::read_dir(root.join(".tmp")) else {
        return files;
    };
    for entry in area.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if path.extension().is_none_or(|ext| ext != "lock") {
            files.push(path);
        }
    }
    files
}

/// Runs two sweepers at once (each its own pool and store, as two instances would) and checks
/// that together they expired `expected` uploads, none of them twice.
pub async fn assert_two_sweepers_share_the_work(
    first: (
        &dyn mediastore::db::MediaRepo,
        &mediastore::storage::BlobStore,
    ),
    second: (
        &dyn mediastore::db::MediaRepo,
        &mediastore::storage::BlobStore,
    ),
    expected: usize,
) {
    // Everything created so far has expired.
    let cutoff = chrono::Utc::now();
    let (a, b) = tokio::join!(
        mediastore::lifecycle::sweep_expired(first.0, first.1, cutoff),
        mediastore::lifecycle::sweep_expired(second.0, second.1, cutoff),
    );
    let (a, b) = (a.expect("first sweeper"), b.expect("second sweeper"));
    let mut ids: Vec<_> = a.iter().chain(&b).map(|r| r.id).collect();
    assert_eq!(ids.len(), expected);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no upload was removed twice");
}

/// `mediastore gc` succeeded, named the expired upload, and removed it alone.
pub fn assert_gc_expired_only(output: &std::process::Output, expired_id: &str) {
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains(expired_id), "{printed}");
    assert!(
        printed.contains("removed 1 expired uploads and 0 orphan files"),
        "{printed}"
    );
}

/// `bytes` as a finished staging file of `store`, ready to commit.
pub async fn staged(
    store: &mediastore::storage::BlobStore,
    bytes: &[u8],
) -> mediastore::storage::Staged {
    let mut file = store.stage().await.unwrap();
    file.append(bytes::Bytes::copy_from_slice(bytes))
        .await
        .unwrap();
    file.finish().await.unwrap()
}
