//! Access settings (SPEC §12): who may upload, who may download, how fast, and which proxies
//! say who the client is.

use std::net::SocketAddr;

use ipnet::IpNet;

use crate::access::{MIN_KEY_CHARS, RateLimit, SigningKey, SigningKeys};

use super::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UploadAuth {
    /// Anyone who can reach the service may upload.
    Open,
    /// Each upload carries a token from `POST /v1/upload-tokens`.
    Token,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DownloadAuth {
    /// Anyone with a file's URL may download it.
    Public,
    /// Each download URL carries `expires` and `signature` (`POST /v1/media/{id}/signed-urls`).
    Signed,
}

#[derive(Debug, Clone, clap::Args)]
pub struct AccessSettings {
    /// `open` or `token`. Unset: `open` when BIND_ADDR is a loopback address, `token`
    /// otherwise, so that a deployment is never open by accident.
    #[arg(long, env = "UPLOAD_AUTH", value_enum)]
    pub upload_auth: Option<UploadAuth>,
    /// `public` or `signed`.
    #[arg(long, env = "DOWNLOAD_AUTH", value_enum, default_value_t = DownloadAuth::Public)]
    pub download_auth: DownloadAuth,
    /// Comma-separated secrets of at least 32 characters that sign upload tokens and download
    /// URLs: the first signs, all verify. To rotate, put a new key first; drop the old one
    /// once what it signed has expired.
    #[arg(long, env = "SIGNING_KEYS", value_delimiter = ',', value_parser = signing_key,
        hide_env_values = true)]
    pub signing_keys: Vec<SigningKey>,
    /// Uploads per client address, e.g. `60/min`; unset, no limit.
    #[arg(long, env = "RATE_LIMIT_UPLOADS")]
    pub rate_limit_uploads: Option<RateLimit>,
    /// Downloads per client address, e.g. `6000/min`; unset, no limit.
    #[arg(long, env = "RATE_LIMIT_DOWNLOADS")]
    pub rate_limit_downloads: Option<RateLimit>,
    /// Comma-separated CIDRs of proxies whose `X-Forwarded-For` is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = cidr)]
    pub trusted_proxies: Vec<IpNet>,
}

impl AccessSettings {
    /// UPLOAD_AUTH, or its default for `bind_addr`.
    pub fn upload_auth(&self, bind_addr: SocketAddr) -> UploadAuth {
        self.upload_auth.unwrap_or(if bind_addr.ip().is_loopback() {
            UploadAuth::Open
        } else {
            UploadAuth::Token
        })
    }

    pub fn keys(&self) -> Option<SigningKeys> {
        SigningKeys::new(self.signing_keys.clone())
    }

    /// Tokens and signed URLs need a key to check them with; the service will not start
    /// without one rather than refuse every upload or download.
    pub(super) fn validate(&self, bind_addr: SocketAddr) -> Result<(), ConfigError> {
        let needs_keys = match (self.upload_auth(bind_addr), self.download_auth) {
            (UploadAuth::Token, _) => Some("UPLOAD_AUTH is token"),
            (_, DownloadAuth::Signed) => Some("DOWNLOAD_AUTH is signed"),
            _ => None,
        };
        match needs_keys {
            Some(why) if self.signing_keys.is_empty() => Err(ConfigError {
                var: "SIGNING_KEYS",
                value: String::new(),
                reason: format!(
                    "{why} (UPLOAD_AUTH defaults to token when BIND_ADDR is not loopback), so \
                     at least one signing key is needed; or set UPLOAD_AUTH=open"
                ),
            }),
            _ => Ok(()),
        }
    }
}

fn signing_key(raw: &str) -> Result<SigningKey, String> {
    let secret = raw.trim();
    if secret.chars().count() < MIN_KEY_CHARS {
        return Err(format!(
            "a signing key must be at least {MIN_KEY_CHARS} characters (try `openssl rand -base64 32`)"
        ));
    }
    Ok(SigningKey::new(secret))
}

fn cidr(raw: &str) -> Result<IpNet, String> {
    let text = raw.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is not a CIDR like 10.0.0.0/8 or an address"))
}
