//! Settings from the environment (and `.env`). Every error names its variable; tests build
//! [`Settings`] in code instead of touching the process environment.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::media::{ImageFormat, Limits};

mod storage;
pub use storage::{S3Settings, StorageKind};

#[derive(Clone)]
pub struct Settings {
    pub bind_addr: SocketAddr,
    pub database_url: String,
    pub database_max_connections: u32,
    /// The blob directory for `STORAGE=fs`; for `STORAGE=s3` only its `.tmp` staging area is used.
    pub upload_dir: PathBuf,
    pub storage: StorageKind,
    /// The bucket, when `S3_BUCKET` is set (required by `STORAGE=s3`).
    pub s3: Option<S3Settings>,
    pub limits: Limits,
    pub api_key: Option<ApiKey>,
    pub unmapped_ttl: Duration,
    /// How often the sweeper runs; zero turns it off (`mediastore gc` still sweeps once).
    pub sweep_interval: Duration,
    pub cors_allowed_origins: Vec<String>,
    pub max_concurrent_uploads: usize,
    /// Open connections the service accepts; more wait in the kernel's accept queue, where
    /// they cost the process nothing.
    pub max_connections: usize,
    /// How long an upload waits for one of the `max_concurrent_uploads` slots before `503`.
    pub upload_queue_timeout: Duration,
    pub body_idle_timeout: Duration,
    pub shutdown_timeout: Duration,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// One clear line naming the variable, e.g. `MAX_FILE_BYTES="ten": expected a whole number`.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bind_addr", &self.bind_addr)
            .field("database_url", &redact_password(&self.database_url))
            .field("upload_dir", &self.upload_dir)
            .field("storage", &self.storage)
            .field("s3", &self.s3)
            .field("limits", &self.limits)
            .field("api_key", &self.api_key)
            .field("unmapped_ttl", &self.unmapped_ttl)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("max_concurrent_uploads", &self.max_concurrent_uploads)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            match url[scheme_end + 3..at].find(':') {
                Some(colon) => format!(
                    "{}:<redacted>{}",
                    &url[..scheme_end + 3 + colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Default for Settings {
    /// The documented defaults; what `mediastore serve` uses with an empty environment.
    fn default() -> Self {
        Self {
            bind_addr: "127.0.0.1:8080".parse().expect("static address"),
            database_url: "sqlite://data/mediastore.db".into(),
            database_max_connections: 10,
            upload_dir: "uploads".into(),
            storage: StorageKind::Fs,
            s3: None,
            limits: Limits::default(),
            api_key: None,
            unmapped_ttl: Duration::from_secs(86_400),
            sweep_interval: Duration::from_secs(300),
            cors_allowed_origins: Vec::new(),
            max_concurrent_uploads: 64,
            max_connections: 256,
            upload_queue_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            log_format: LogFormat::Pretty,
        }
    }
}

impl Settings {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_vars(|name| vars.get(name).cloned())
    }

    /// Builds settings from any variable source; unset and empty variables take their default.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let d = Self::default();
        let max_concurrent_uploads =
            env.parse("MAX_CONCURRENT_UPLOADS", d.max_concurrent_uploads)?;
        if max_concurrent_uploads == 0 {
            return Err(env.invalid("MAX_CONCURRENT_UPLOADS", "must be at least 1"));
        }
        let (storage, s3) = env.storage()?;
        let max_connections = env.parse("MAX_CONNECTIONS", d.max_connections)?;
        if max_connections == 0 {
            return Err(env.invalid("MAX_CONNECTIONS", "must be at least 1"));
        }
        Ok(Self {
            bind_addr: env.parse("BIND_ADDR", d.bind_addr)?,
            database_url: env.database_url("DATABASE_URL", d.database_url)?,
            database_max_connections: env
                .parse("DATABASE_MAX_CONNECTIONS", d.database_max_connections)?,
            upload_dir: env
                .get("UPLOAD_DIR")
                .map(PathBuf::from)
                .unwrap_or(d.upload_dir),
            storage,
            s3,
            limits: Limits {
                max_file_bytes: env.parse("MAX_FILE_BYTES", d.limits.max_file_bytes)?,
                max_files_per_request: env
                    .parse("MAX_FILES_PER_REQUEST", d.limits.max_files_per_request)?,
                allowed_types: env.allowed_types("ALLOWED_TYPES", d.limits.allowed_types)?,
                max_image_pixels: env.parse("MAX_IMAGE_PIXELS", d.limits.max_image_pixels)?,
            },
            api_key: env.get("MEDIA_API_KEY").map(ApiKey),
            unmapped_ttl: env.seconds("UNMAPPED_TTL_SECS", d.unmapped_ttl)?,
            sweep_interval: env.seconds("SWEEP_INTERVAL_SECS", d.sweep_interval)?,
            cors_allowed_origins: env.origins("CORS_ALLOWED_ORIGINS")?,
            max_concurrent_uploads,
            max_connections,
            upload_queue_timeout: env
                .seconds("UPLOAD_QUEUE_TIMEOUT_SECS", d.upload_queue_timeout)?,
            body_idle_timeout: env.seconds("BODY_IDLE_TIMEOUT_SECS", d.body_idle_timeout)?,
            shutdown_timeout: env.seconds("SHUTDOWN_TIMEOUT_SECS", d.shutdown_timeout)?,
            log_format: match env.get("LOG_FORMAT").as_deref() {
                None | Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(_) => return Err(env.invalid("LOG_FORMAT", "expected `pretty` or `json`")),
            },
        })
    }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn invalid(&self, var: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            var,
            value: self.get(var).unwrap_or_default(),
            reason: reason.into(),
        }
    }

    fn parse<T: FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e: T::Err| self.invalid(var, e.to_string())),
        }
    }

    fn seconds(&self, var: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        self.parse(var, default.as_secs()).map(Duration::from_secs)
    }

    fn list(&self, var: &str) -> Vec<String> {
        self.get(var)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Exact origins (`https://app.example.com`); `*` is refused so that access stays deliberate.
    fn origins(&self, var: &'static str) -> Result<Vec<String>, ConfigError> {
        let origins = self.list(var);
        for origin in &origins {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if !rest.is_some_and(|host| !host.is_empty() && !host.contains('/')) {
                return Err(self.invalid(
                    var,
                    format!("`{origin}` is not an origin like https://app.example.com"),
                ));
            }
        }
        Ok(origins)
    }

    fn allowed_types(
        &self,
        var: &'static str,
        default: Vec<ImageFormat>,
    ) -> Result<Vec<ImageFormat>, ConfigError> {
        if self.get(var).is_none() {
            return Ok(default);
        }
        self.list(var)
            .iter()
            .map(|mime| {
                ImageFormat::from_mime(mime).ok_or_else(|| {
                    self.invalid(
                        var,
                        format!(
                            "`{mime}` is not one of image/jpeg, image/png, image/gif, image/webp"
                        ),
                    )
                })
            })
            .collect()
    }

    fn database_url(&self, var: &'static str, default: String) -> Result<String, ConfigError> {
        let url = self.get(var).unwrap_or(default);
        if ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| url.starts_with(p))
        {
            Ok(url)
        } else {
            Err(self.invalid(var, "expected sqlite://PATH or postgres://..."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn an_empty_environment_gives_the_documented_defaults() {
        let s = from(&[]).unwrap();
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://data/mediastore.db");
        assert_eq!(s.limits.max_file_bytes, 10_485_760);
        assert_eq!(s.limits.allowed_types.len(), 4);
        assert!(s.api_key.is_none());
    }

    #[test]
    fn a_bad_number_names_its_variable() {
        let err = from(&[("MAX_FILE_BYTES", "ten")]).unwrap_err();
        assert_eq!(err.var, "MAX_FILE_BYTES");
        assert!(
            err.to_string()
                .starts_with("invalid configuration: MAX_FILE_BYTES=\"ten\"")
        );
    }

    #[test]
    fn an_unknown_allowed_type_is_refused() {
        let err = from(&[("ALLOWED_TYPES", "image/png,application/pdf")]).unwrap_err();
        assert_eq!(err.var, "ALLOWED_TYPES");
    }

    #[test]
    fn cors_origins_must_be_exact_origins() {
        assert_eq!(
            from(&[("CORS_ALLOWED_ORIGINS", "*")]).unwrap_err().var,
            "CORS_ALLOWED_ORIGINS"
        );
        assert_eq!(
            from(&[("CORS_ALLOWED_ORIGINS", "https://a.example/path")])
                .unwrap_err()
                .var,
            "CORS_ALLOWED_ORIGINS"
        );
        let s = from(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://a.example, http://127.0.0.1:3000",
        )])
        .unwrap();
        assert_eq!(
            s.cors_allowed_origins,
            ["https://a.example", "http://127.0.0.1:3000"]
        );
    }

    #[test]
    fn a_database_url_of_another_kind_is_refused() {
        assert_eq!(
            from(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
    }

    #[test]
    fn s3_storage_needs_a_bucket_and_takes_its_settings() {
        assert_eq!(from(&[("STORAGE", "s3")]).unwrap_err().var, "S3_BUCKET");
        assert_eq!(from(&[("STORAGE", "nfs")]).unwrap_err().var, "STORAGE");
        assert_eq!(
            from(&[("S3_BUCKET", "b"), ("S3_ACCESS_KEY_ID", "k")])
                .unwrap_err()
                .var,
            "S3_SECRET_ACCESS_KEY"
        );
        let s = from(&[
            ("STORAGE", "s3"),
            ("S3_BUCKET", "media"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("S3_ALLOW_HTTP", "true"),
            ("S3_PREFIX", "/prod/images/"),
        ])
        .unwrap();
        assert_eq!(s.storage, StorageKind::S3);
        let s3 = s.s3.unwrap();
        assert_eq!(s3.prefix, "prod/images");
        assert_eq!(s3.region, "us-east-1");
        assert!(s3.allow_http);
        assert_eq!(from(&[]).unwrap().storage, StorageKind::Fs);
        assert_eq!(
            from(&[("S3_BUCKET", "b"), ("S3_ENDPOINT", "http://10.0.0.5:3900")])
                .unwrap_err()
                .var,
            "S3_ALLOW_HTTP",
            "plain http is refused unless allowed"
        );
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let s = from(&[
            ("MEDIA_API_KEY", "hunter2"),
            ("DATABASE_URL", "postgres://u:pw@h/db"),
            ("S3_BUCKET", "b"),
            ("S3_ACCESS_KEY_ID", "AKIA"),
            ("S3_SECRET_ACCESS_KEY", "s3cr3t"),
        ])
        .unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains(":pw@"), "{printed}");
    }
}
