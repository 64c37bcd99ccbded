//! The real `mediastore serve`, as a process of its own whose log the tests read (the test
//! apps of this binary have no log, and `spawn_process` discards the binary's).

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::Service;
use crate::helpers::{API_KEY, wait_until};

/// `mediastore serve` with the access settings `env`, logging JSON to a file.
pub struct Served {
    child: Child,
    address: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Served {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|free| free.local_addr())
            .unwrap()
            .port();
        let file = |name: &str| Stdio::from(std::fs::File::create(dir.path().join(name)).unwrap());
        let child = Command::new(env!("CARGO_BIN_EXE_mediastore"))
            .current_dir(dir.path())
            .arg("serve")
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("m.db").display()),
            )
            .env("UPLOAD_DIR", dir.path().join("uploads"))
            .env("MEDIA_API_KEY", API_KEY)
            .env_remove("UPLOAD_AUTH")
            .env_remove("DOWNLOAD_AUTH")
            .env_remove("SIGNING_KEYS")
            .env_remove("RATE_LIMIT_UPLOADS")
            .env_remove("RATE_LIMIT_DOWNLOADS")
            .envs(env.iter().copied())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(file("stdout.log"))
            .stderr(file("stderr.log"))
            .spawn()
            .expect("starting mediastore serve");
        let served = Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            dir,
        };
        wait_until("mediastore serve answers", || async {
            served
                .http()
                .get(served.at("/healthz"))
                .send()
                .await
                .is_ok()
        })
        .await;
        served
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }

    pub fn audit_lines(&self) -> Vec<Value> {
        self.log("stdout.log")
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["target"] == "audit")
            .collect()
    }
}

impl Service for Served {
    fn http(&self) -> &reqwest::Client {
        &self.client
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
