//! Settings from the environment (and `.env`), read by clap: every variable is named in its
//! error and shown with its default by `mediastore --help`. Tests build [`Settings`] in code
//! (`Settings::default()` reads no environment).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, FromArgMatches};

mod access;
mod events;
mod limits;
mod parse;
mod storage;
mod variants;

pub use access::{AccessSettings, DownloadAuth, UploadAuth};
pub use events::{EventSettings, OffpeakWindow, WebhookSecret};
pub use limits::Limits;
pub use storage::{S3Settings, StorageKind, StorageSettings};
pub use variants::VariantSettings;

#[derive(Clone, Args)]
pub struct Settings {
    /// Address and port to listen on.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,
    /// `sqlite://PATH` (created on first start) or `postgres://user:password@host:port/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/mediastore.db",
        value_parser = parse::database_url, hide_env_values = true)]
    pub database_url: String,
    /// Connections in the database pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
    /// The longest a PostgreSQL call may take, waiting for a connection included, in seconds;
    /// then `503 unavailable`. (SQLite calls wait up to 10 s for its write lock.)
    #[arg(long = "database-timeout-secs", env = "DATABASE_TIMEOUT_SECS",
        value_name = "DATABASE_TIMEOUT_SECS", default_value = "3", value_parser = parse::seconds)]
    pub database_timeout: Duration,
    /// The longest each readiness check (database, blob store) may take, in seconds.
    #[arg(long = "readiness-timeout-secs", env = "READINESS_TIMEOUT_SECS",
        value_name = "READINESS_TIMEOUT_SECS", default_value = "1", value_parser = parse::seconds)]
    pub readiness_timeout: Duration,
    #[command(flatten)]
    pub storage: StorageSettings,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub variants: VariantSettings,
    #[command(flatten)]
    pub access: AccessSettings,
    #[command(flatten)]
    pub events: EventSettings,
    /// Bearer key of the platform backend for map and delete; unset, those routes answer 503.
    #[arg(long, env = "MEDIA_API_KEY", value_parser = parse::api_key, hide_env_values = true)]
    pub api_key: Option<ApiKey>,
    /// Uploads never mapped within this many seconds are deleted by the sweeper.
    #[arg(long = "unmapped-ttl-secs", env = "UNMAPPED_TTL_SECS", value_name = "UNMAPPED_TTL_SECS",
        default_value = "86400", value_parser = parse::seconds)]
    pub unmapped_ttl: Duration,
    /// How often the sweeper runs, in seconds; 0 turns it off (`mediastore gc` still sweeps).
    #[arg(long = "sweep-interval-secs", env = "SWEEP_INTERVAL_SECS",
        value_name = "SWEEP_INTERVAL_SECS", default_value = "300", value_parser = parse::seconds)]
    pub sweep_interval: Duration,
    /// Comma-separated browser origins allowed to upload and read cross-origin.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse::origin)]
    pub cors_allowed_origins: Vec<String>,
    /// Uploads processed at once; more wait for a slot without their bodies being read.
    #[arg(long, env = "MAX_CONCURRENT_UPLOADS", default_value_t = 64, value_parser = parse::at_least_one)]
    pub max_concurrent_uploads: usize,
    /// Open connections accepted at once; more wait in the kernel's accept queue, where they
    /// cost the process nothing.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 256, value_parser = parse::at_least_one)]
    pub max_connections: usize,
    /// How long an upload waits for a slot before `503 overloaded`, in seconds.
    #[arg(long = "upload-queue-timeout-secs", env = "UPLOAD_QUEUE_TIMEOUT_SECS",
        value_name = "UPLOAD_QUEUE_TIMEOUT_SECS", default_value = "30", value_parser = parse::seconds)]
    pub upload_queue_timeout: Duration,
    /// An upload body that sends nothing for this many seconds is answered 408.
    #[arg(long = "body-idle-timeout-secs", env = "BODY_IDLE_TIMEOUT_SECS",
        value_name = "BODY_IDLE_TIMEOUT_SECS", default_value = "30", value_parser = parse::seconds)]
    pub body_idle_timeout: Duration,
    /// On SIGTERM/SIGINT, how many seconds requests in flight may take to finish.
    #[arg(long = "shutdown-timeout-secs", env = "SHUTDOWN_TIMEOUT_SECS",
        value_name = "SHUTDOWN_TIMEOUT_SECS", default_value = "30", value_parser = parse::seconds)]
    pub shutdown_timeout: Duration,
    /// `pretty` (for people) or `json` (one object per line, for machines).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// The platform backend's key. Never printed, not even in `Debug`.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A rule between settings that clap cannot check on its own, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

impl Default for Settings {
    /// The documented defaults, from the same attributes that `--help` shows.
    fn default() -> Self {
        let command = Self::augment_args(clap::Command::new("defaults")).mut_args(|a| a.env(None));
        let matches = command.get_matches_from(["defaults"]);
        Self::from_arg_matches(&matches).expect("the defaults parse")
    }
}

impl Settings {
    /// The rules between settings, which clap checks one variable at a time.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.storage.validate()?;
        self.events.validate(&self.variants.names())?;
        self.access.validate(self.bind_addr)
    }

    /// UPLOAD_AUTH as set, or its default for BIND_ADDR.
    pub fn upload_auth(&self) -> UploadAuth {
        self.access.upload_auth(self.bind_addr)
    }
}

/// A variable set to an empty value (as `.env.example` leaves them) takes its default, as if
/// it were unset. Apply to the CLI's command before it parses.
pub fn ignore_empty_variables(arg: clap::Arg) -> clap::Arg {
    let empty = arg
        .get_env()
        .and_then(std::env::var_os)
        .is_some_and(|value| value.to_string_lossy().trim().is_empty());
    if empty { arg.env(None) } else { arg }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bind_addr", &self.bind_addr)
            .field("database_url", &parse::redact_password(&self.database_url))
            .field("storage", &self.storage)
            .field("limits", &self.limits)
            .field("api_key", &self.api_key)
            .field("access", &self.access)
            .field("unmapped_ttl", &self.unmapped_ttl)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("max_concurrent_uploads", &self.max_concurrent_uploads)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
