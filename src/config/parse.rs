//! Value parsers for the settings: each refuses what the service could not use, with a reason
//! that clap prints beside the variable's name.

use std::time::Duration;

use crate::media::ImageFormat;

use super::ApiKey;

pub(super) fn seconds(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse()
        .map(Duration::from_secs)
        .map_err(|_| "expected a whole number of seconds".into())
}

pub(super) fn millis(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse()
        .map(Duration::from_millis)
        .map_err(|_| "expected a whole number of milliseconds".into())
}

pub(super) fn at_least_one(raw: &str) -> Result<usize, String> {
    match raw.trim().parse() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number".into()),
    }
}

/// A variant width, 1 to 10000 pixels.
pub(super) fn width(raw: &str) -> Result<u32, String> {
    match raw.trim().parse() {
        Ok(n @ 1..=10_000) => Ok(n),
        _ => Err("expected widths from 1 to 10000".into()),
    }
}

pub(super) fn api_key(raw: &str) -> Result<ApiKey, String> {
    Ok(ApiKey::new(raw.trim()))
}

/// Exact origins (`https://app.example.com`); `*` is refused so that access stays deliberate.
pub(super) fn origin(raw: &str) -> Result<String, String> {
    let origin = raw.trim();
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    if host.is_some_and(|host| !host.is_empty() && !host.contains('/')) {
        Ok(origin.to_owned())
    } else {
        Err(format!(
            "`{origin}` is not an origin like https://app.example.com"
        ))
    }
}

pub(super) fn image_type(raw: &str) -> Result<ImageFormat, String> {
    let mime = raw.trim();
    ImageFormat::from_mime(mime).ok_or_else(|| {
        format!("`{mime}` is not one of image/jpeg, image/png, image/gif, image/webp")
    })
}

pub(super) fn database_url(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    if ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        Ok(url.to_owned())
    } else {
        Err("expected sqlite://PATH or postgres://...".into())
    }
}

pub(super) fn redact_password(url: &str) -> String {
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
