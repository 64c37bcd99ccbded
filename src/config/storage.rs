//! Where blobs live: `STORAGE=fs` (the sharded upload directory, the default) or `STORAGE=s3`
//! (an S3-compatible bucket). The `S3_*` variables are read whenever `S3_BUCKET` is set, so that
//! `mediastore migrate-store` can copy between the two whatever `STORAGE` says.

use std::fmt;

use super::{ConfigError, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageKind {
    #[default]
    Fs,
    S3,
}

impl std::str::FromStr for StorageKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fs" => Ok(Self::Fs),
            "s3" => Ok(Self::S3),
            _ => Err("expected `fs` or `s3`".into()),
        }
    }
}

impl fmt::Display for StorageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fs => "fs",
            Self::S3 => "s3",
        })
    }
}

/// An S3-compatible bucket. Keys are `<prefix>/<2 chars>/<stored name>`, or without the prefix
/// folder when `prefix` is empty.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// For stores other than AWS (Garage, Ceph, SeaweedFS, MinIO): `http://host:port`.
    pub endpoint: Option<String>,
    pub region: String,
    /// Unset credentials fall back to the instance's role (AWS metadata service).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: bool,
    /// A folder inside the bucket, without leading or trailing `/`; empty for the bucket root.
    pub prefix: String,
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

impl Env<'_> {
    pub(super) fn storage(&self) -> Result<(StorageKind, Option<S3Settings>), ConfigError> {
        let kind: StorageKind = self.parse("STORAGE", StorageKind::Fs)?;
        let s3 = self.s3()?;
        if kind == StorageKind::S3 && s3.is_none() {
            return Err(self.invalid("S3_BUCKET", "STORAGE=s3 needs a bucket name"));
        }
        Ok((kind, s3))
    }

    fn s3(&self) -> Result<Option<S3Settings>, ConfigError> {
        let Some(bucket) = self.get("S3_BUCKET") else {
            return Ok(None);
        };
        let defaults = S3Settings::new(bucket);
        let endpoint = self.get("S3_ENDPOINT");
        if let Some(endpoint) = &endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(self.invalid("S3_ENDPOINT", "expected http://host:port or https://host"));
        }
        let allow_http: bool = self.parse("S3_ALLOW_HTTP", false)?;
        if endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
            && !allow_http
        {
            return Err(self.invalid(
                "S3_ALLOW_HTTP",
                "S3_ENDPOINT is plain http; set S3_ALLOW_HTTP=true to allow it",
            ));
        }
        let access_key_id = self.get("S3_ACCESS_KEY_ID");
        let secret_access_key = self.get("S3_SECRET_ACCESS_KEY");
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(self.invalid(
                "S3_SECRET_ACCESS_KEY",
                "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together or not at all",
            ));
        }
        let prefix = self
            .get("S3_PREFIX")
            .map(|p| p.trim_matches('/').to_owned())
            .unwrap_or_default();
        // Refuses empty, `.` and `..` segments, which no object key may hold.
        if object_store::path::Path::parse(&prefix).is_err() {
            return Err(self.invalid("S3_PREFIX", "expected a folder such as `media/`"));
        }
        Ok(Some(S3Settings {
            endpoint,
            region: self.get("S3_REGION").unwrap_or(defaults.region.clone()),
            access_key_id,
            secret_access_key,
            allow_http,
            prefix,
            ..defaults
        }))
    }
}
