//! `TestApp`: the application on a real socket, with its own database and blob store.

use std::ffi::OsStr;
use std::future::Future;
use std::time::{Duration, Instant};

use mediastore::config::{ApiKey, Settings, StorageKind, StorageSettings};
use mediastore::jobs::Clock;
use mediastore::startup::Application;

use super::database;
use super::stack::{Db, Stack, Store};
use crate::bucket::TestBucket;

/// The platform backend's key in every test app (unless a test removes it).
pub const API_KEY: &str = "test-api-key-0123456789";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub stack: Stack,
    /// The bucket the blobs go to, when the settings say S3.
    pub bucket: Option<TestBucket>,
    /// The PostgreSQL database this app created and drops.
    postgres_db: Option<String>,
    /// The `mediastore serve` process, when the app is the real binary (killed on drop).
    process: Option<ServeProcess>,
    pub(super) dir: tempfile::TempDir,
}

pub async fn spawn_app(stack: Stack) -> TestApp {
    spawn_app_with(stack, |_| {}).await
}

/// Spawns the app on `stack` with default settings changed by `customize`.
pub async fn spawn_app_with(stack: Stack, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let (mut settings, postgres_db, dir) = test_settings(stack).await;
    customize(&mut settings);
    let address = serve(&settings).await;
    TestApp::new(address, settings, stack.db, postgres_db, dir)
}

/// Spawns the app on a PostgreSQL database the test owns (a cluster of its own, or a proxy in
/// front of one), which it neither creates nor drops, with files in an upload directory.
pub async fn spawn_app_on_postgres(
    database_url: &str,
    customize: impl FnOnce(&mut Settings),
) -> TestApp {
    let (mut settings, _, dir) = test_settings(Stack::SQLITE_FS).await;
    settings.database_url = database_url.to_owned();
    customize(&mut settings);
    let address = serve(&settings).await;
    TestApp::new(address, settings, Db::Postgres, None, dir)
}

/// Spawns the app on `stack` with the clock that decides when off-peak jobs run.
pub async fn spawn_app_with_clock(
    stack: Stack,
    clock: Clock,
    customize: impl FnOnce(&mut Settings),
) -> TestApp {
    let (mut settings, postgres_db, dir) = test_settings(stack).await;
    customize(&mut settings);
    let address = serve_with(&settings, clock).await;
    TestApp::new(address, settings, stack.db, postgres_db, dir)
}

/// Builds the app on `settings` and serves it in the background; returns its address.
async fn serve(settings: &Settings) -> String {
    serve_with(settings, Clock::system()).await
}

async fn serve_with(settings: &Settings, clock: Clock) -> String {
    let app = Application::build_with(settings.clone(), clock)
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

/// The settings of a test app on `stack`: a fresh database, upload directory and bucket.
async fn test_settings(stack: Stack) -> (Settings, Option<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, postgres_db) = match stack.db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.path().join("media.db").display()),
            None,
        ),
        Db::Postgres => {
            let (url, name) = database::create_postgres_database().await;
            (url, Some(name))
        }
    };
    let mut settings = Settings {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        database_url,
        database_max_connections: 5,
        storage: StorageSettings::fs(dir.path().join("uploads")),
        shutdown_timeout: Duration::from_secs(1),
        api_key: Some(ApiKey::new(API_KEY)),
        ..Settings::default()
    };
    // Background variants only where a test asks for them: the others count variants made.
    settings.events.eager_variants = Vec::new();
    if stack.store == Store::S3 {
        settings
            .storage
            .use_bucket(&TestBucket::create().await.settings);
    }
    (settings, postgres_db, dir)
}

/// The real `mediastore serve` on `stack`, as a process of its own: nothing it measures or
/// caches is shared with the other tests of this binary.
pub async fn spawn_process(stack: Stack) -> TestApp {
    spawn_process_with(stack, &[]).await
}

/// [`spawn_process`] with more environment variables for `mediastore serve`.
pub async fn spawn_process_with(stack: Stack, env: &[(&str, &str)]) -> TestApp {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    spawn_process_on(stack, |_| env).await
}

/// [`spawn_process`] with more environment variables, chosen knowing the test settings (to
/// put a proxy in front of the app's database, say). The test's own view (`TestApp::settings`,
/// its queries) stays on the test settings.
pub async fn spawn_process_on(
    stack: Stack,
    env: impl FnOnce(&Settings) -> Vec<(String, String)>,
) -> TestApp {
    let (settings, postgres_db, dir) = test_settings(stack).await;
    let env = env(&settings);
    let port = free_port();
    let process = ServeProcess::start(&dir, &settings, env, port);
    let address = format!("http://127.0.0.1:{port}");
    let mut app = TestApp::new(address, settings, stack.db, postgres_db, dir);
    app.process = Some(process);
    app.wait_until_serving().await;
    app
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|free| free.local_addr())
        .expect("a free port")
        .port()
}

/// `mediastore serve` on a test app's database and store, and what it takes to start it again
/// (the same environment).
struct ServeProcess {
    child: std::process::Child,
    env: Vec<(String, String)>,
}

impl ServeProcess {
    fn start(
        dir: &tempfile::TempDir,
        settings: &Settings,
        env: Vec<(String, String)>,
        port: u16,
    ) -> Self {
        let mut command = mediastore_binary(dir, settings);
        if let Some(s3) = settings.storage.s3() {
            command
                .env("STORAGE", "s3")
                .envs(TestBucket::existing(s3).env());
        }
        let child = command
            .args(["serve"])
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("MEDIA_API_KEY", API_KEY)
            .envs(env.iter().cloned())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starting mediastore serve");
        Self { child, env }
    }

    /// SIGKILL: no shutdown, no flushing, whatever was in flight.
    fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestApp {
    fn new(
        address: String,
        settings: Settings,
        db: Db,
        postgres_db: Option<String>,
        dir: tempfile::TempDir,
    ) -> Self {
        // The store is whatever the settings ended with, whatever the stack asked for.
        let bucket = match settings.storage.kind {
            StorageKind::S3 => Some(TestBucket::existing(settings.storage.s3().unwrap())),
            StorageKind::Fs => None,
        };
        let store = if bucket.is_some() {
            Store::S3
        } else {
            Store::Fs
        };
        TestApp {
            address,
            client: reqwest::Client::new(),
            settings,
            stack: Stack::new(db, store),
            bucket,
            postgres_db,
            process: None,
            dir,
        }
    }

    /// Another instance of the same service: the same database and bucket, its own port and
    /// upload directory, with `customize` applied to a copy of this app's settings.
    pub async fn spawn_sibling(&self, customize: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = self.settings.clone();
        settings.storage.upload_dir = dir.path().join("uploads");
        customize(&mut settings);
        let address = serve(&settings).await;
        // The first app owns (and drops) the database.
        TestApp::new(address, settings, self.stack.db, None, dir)
    }

    /// The process id of the real binary, when the app is one ([`spawn_process`]).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.child.id())
    }

    /// Kills the real binary with SIGKILL, as a crash or the OOM killer would.
    pub fn kill_hard(&mut self) {
        self.process
            .as_mut()
            .expect("a process app (spawn_process)")
            .kill_hard();
    }

    /// Starts the real binary again after [`kill_hard`](Self::kill_hard): the same database,
    /// store and environment. On a new port: the old one, free since the kill, may have been
    /// handed to another test's app meanwhile.
    pub async fn restart(&mut self) {
        let old = self.process.take().expect("a process app (spawn_process)");
        let port = free_port();
        self.process = Some(ServeProcess::start(
            &self.dir,
            &self.settings,
            old.env,
            port,
        ));
        self.address = format!("http://127.0.0.1:{port}");
        // The old connections died with the process; a pooled one would fail the next request.
        self.client = reqwest::Client::new();
        self.wait_until_serving().await;
    }

    async fn wait_until_serving(&self) {
        wait_until("mediastore serve answers", || async {
            self.client.get(self.url("/healthz")).send().await.is_ok()
        })
        .await;
    }

    /// Runs the real `mediastore` binary against this app's database and store.
    pub fn run_cli(&self, args: &[&str]) -> std::process::Output {
        self.run_cli_with(args, std::iter::empty::<(&str, &str)>())
    }

    /// [`run_cli`](Self::run_cli) with more environment variables.
    pub fn run_cli_with(
        &self,
        args: &[&str],
        env: impl IntoIterator<Item = (impl AsRef<OsStr>, impl AsRef<OsStr>)>,
    ) -> std::process::Output {
        let mut command = mediastore_binary(&self.dir, &self.settings);
        if let Some(bucket) = &self.bucket {
            command.env("STORAGE", "s3").envs(bucket.env());
        }
        command
            .args(args)
            .envs(env)
            .output()
            .expect("running mediastore")
    }
}

/// The `mediastore` binary on `settings`' database and upload directory, run in `dir` so that no
/// developer's `.env` is picked up.
pub fn mediastore_binary(dir: &tempfile::TempDir, settings: &Settings) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mediastore"));
    command
        .current_dir(dir.path())
        .env("DATABASE_URL", &settings.database_url)
        .env("UPLOAD_DIR", &settings.storage.upload_dir)
        .env("VARIANT_EAGER", "none")
        .env("RUST_LOG", "warn");
    command
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill_hard();
        }
        if let Some(name) = self.postgres_db.take() {
            database::drop_postgres_database(name);
        }
    }
}

/// Polls `check` every 20 ms for up to 10 s; fails the test naming `what` if it never holds.
pub async fn wait_until<F: Future<Output = bool>>(what: &str, check: impl FnMut() -> F) {
    wait_until_within(Duration::from_secs(10), what, check).await
}

/// [`wait_until`] for up to `limit`.
pub async fn wait_until_within<F: Future<Output = bool>>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
