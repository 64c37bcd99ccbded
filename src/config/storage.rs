//! Where blobs live: `STORAGE=fs` (the sharded upload directory, the default) or `STORAGE=s3`
//! (an S3-compatible bucket). The `S3_*` variables are read whenever `S3_BUCKET` is set, so
//! that `mediastore migrate-store` can copy between the two whatever `STORAGE` says.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StorageKind {
    #[default]
    Fs,
    S3,
}

impl fmt::Display for StorageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fs => "fs",
            Self::S3 => "s3",
        })
    }
}

/// Everything the blob store is built from, and nothing else.
#[derive(Clone, clap::Args)]
pub struct StorageSettings {
    /// Where blobs live: `fs` (UPLOAD_DIR, sharded) or `s3` (an S3-compatible bucket).
    #[arg(long = "storage", env = "STORAGE", value_name = "STORAGE", value_enum,
        default_value_t = StorageKind::Fs)]
    pub kind: StorageKind,
    /// Root of the sharded blob directory; staging files live in `<dir>/.tmp` (with `s3`, only
    /// the staging area is used).
    #[arg(long, env = "UPLOAD_DIR", default_value = "uploads")]
    pub upload_dir: PathBuf,
    /// The bucket; required for STORAGE=s3, and read whenever set.
    #[arg(long, env = "S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// For stores other than AWS (Garage, Ceph, SeaweedFS, MinIO): `http://host:port`.
    #[arg(long, env = "S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Unset credentials fall back to the instance's role (AWS metadata service).
    #[arg(long, env = "S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    #[arg(long, env = "S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Allow a plain-http endpoint (a store on your own network).
    #[arg(long, env = "S3_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set)]
    pub s3_allow_http: bool,
    /// The longest a request to the bucket may take, connecting included, in seconds.
    #[arg(long = "s3-timeout-secs", env = "S3_TIMEOUT_SECS", value_name = "S3_TIMEOUT_SECS",
        default_value = "3", value_parser = super::parse::seconds)]
    pub s3_timeout: Duration,
    /// A folder inside the bucket, such as `media`; empty for the bucket root.
    #[arg(long, env = "S3_PREFIX", default_value = "",
        value_parser = |p: &str| Ok::<_, String>(p.trim().trim_matches('/').to_owned()))]
    pub s3_prefix: String,
    /// Bytes of small stored files (up to 256 KiB each) and variants that downloads keep in
    /// memory; 0 turns the cache off.
    #[arg(long, env = "DOWNLOAD_CACHE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub download_cache_bytes: u64,
}

/// An S3-compatible bucket. Keys are `<prefix>/<2 chars>/<stored name>`, or without the prefix
/// folder when `prefix` is empty.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: bool,
    /// Without leading or trailing `/`; empty for the bucket root.
    pub prefix: String,
    /// The longest one request may take.
    pub timeout: Duration,
}

impl Default for StorageSettings {
    fn default() -> Self {
        super::Settings::default().storage
    }
}

impl StorageSettings {
    /// The sharded directory at `upload_dir`.
    pub fn fs(upload_dir: impl Into<PathBuf>) -> Self {
        Self {
            kind: StorageKind::Fs,
            upload_dir: upload_dir.into(),
            ..Self::default()
        }
    }

    /// The bucket, when `S3_BUCKET` is set.
    pub fn s3(&self) -> Option<S3Settings> {
        Some(S3Settings {
            bucket: self.s3_bucket.clone()?,
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
            allow_http: self.s3_allow_http,
            prefix: self.s3_prefix.clone(),
            timeout: self.s3_timeout,
        })
    }

    /// Stores blobs in `bucket` from now on.
    pub fn use_bucket(&mut self, bucket: &S3Settings) {
        self.kind = StorageKind::S3;
        self.s3_bucket = Some(bucket.bucket.clone());
        self.s3_endpoint = bucket.endpoint.clone();
        self.s3_region = bucket.region.clone();
        self.s3_access_key_id = bucket.access_key_id.clone();
        self.s3_secret_access_key = bucket.secret_access_key.clone();
        self.s3_allow_http = bucket.allow_http;
        self.s3_prefix = bucket.prefix.clone();
        self.s3_timeout = bucket.timeout;
    }

    /// The rules between variables, which clap checks one at a time.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |var, value: &str, reason: &str| ConfigError {
            var,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(s3) = &self.s3() else {
            return match self.kind {
                StorageKind::S3 => Err(invalid("S3_BUCKET", "", "STORAGE=s3 needs a bucket name")),
                StorageKind::Fs => Ok(()),
            };
        };
        if let Some(endpoint) = &s3.endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                let reason = "expected http://host:port or https://host";
                return Err(invalid("S3_ENDPOINT", endpoint, reason));
            }
            if endpoint.starts_with("http://") && !s3.allow_http {
                let reason = "S3_ENDPOINT is plain http; set S3_ALLOW_HTTP=true to allow it";
                return Err(invalid("S3_ALLOW_HTTP", "false", reason));
            }
        }
        if s3.access_key_id.is_some() != s3.secret_access_key.is_some() {
            let reason = "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together or not at all";
            return Err(invalid("S3_SECRET_ACCESS_KEY", "", reason));
        }
        // Refuses empty, `.` and `..` segments, which no object key may hold.
        if object_store::path::Path::parse(&s3.prefix).is_err() {
            let reason = "expected a folder such as `media/`";
            return Err(invalid("S3_PREFIX", &s3.prefix, reason));
        }
        Ok(())
    }
}

impl S3Settings {
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            prefix: String::new(),
            timeout: Duration::from_secs(3),
        }
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageSettings")
            .field("kind", &self.kind)
            .field("upload_dir", &self.upload_dir)
            .field("s3", &self.s3())
            .finish()
    }
}
