//! Events and background jobs (SPEC §11): where events go, how hard delivery tries, and which
//! variants are made ahead of their first request.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use chrono::NaiveTime;

use super::{ConfigError, parse};

#[derive(Debug, Clone, clap::Args)]
pub struct EventSettings {
    /// NATS server of the JetStream sink, e.g. `nats://127.0.0.1:4222`; unset, no NATS sink.
    #[arg(long, env = "EVENTS_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// Subjects are `<prefix>.media.<event>`.
    #[arg(long, env = "EVENTS_NATS_PREFIX", default_value = "mediastore", value_parser = subject_token)]
    pub nats_prefix: String,
    /// The JetStream stream, created (over `<prefix>.>`) if missing.
    #[arg(long, env = "EVENTS_NATS_STREAM", default_value = "MEDIASTORE", value_parser = subject_token)]
    pub nats_stream: String,
    /// Comma-separated webhook endpoints; each gets every event.
    #[arg(long, env = "WEBHOOK_URLS", value_delimiter = ',', value_parser = webhook_url)]
    pub webhook_urls: Vec<String>,
    /// `whsec_<base64>` (Standard Webhooks): the HMAC key is the decoded bytes.
    #[arg(long, env = "WEBHOOK_SECRET", value_parser = webhook_secret, hide_env_values = true)]
    pub webhook_secret: Option<WebhookSecret>,
    /// The longest one webhook request may take, in seconds.
    #[arg(long = "webhook-timeout-secs", env = "WEBHOOK_TIMEOUT_SECS",
        value_name = "WEBHOOK_TIMEOUT_SECS", default_value = "10", value_parser = parse::seconds)]
    pub webhook_timeout: Duration,
    /// Failed deliveries of one event to one sink before it becomes a dead letter.
    #[arg(long, env = "EVENT_MAX_ATTEMPTS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_attempts: u32,
    /// An event older than this many seconds that fails again becomes a dead letter.
    #[arg(long = "event-ttl-secs", env = "EVENT_TTL_SECS", value_name = "EVENT_TTL_SECS",
        default_value = "86400", value_parser = parse::seconds)]
    pub ttl: Duration,
    /// The first retry's delay in milliseconds; each next one doubles (with jitter).
    #[arg(long = "event-retry-base-ms", env = "EVENT_RETRY_BASE_MS",
        value_name = "EVENT_RETRY_BASE_MS", default_value = "1000", value_parser = parse::millis)]
    pub retry_base: Duration,
    /// The longest delay between two attempts, in seconds.
    #[arg(long = "event-retry-max-secs", env = "EVENT_RETRY_MAX_SECS",
        value_name = "EVENT_RETRY_MAX_SECS", default_value = "3600", value_parser = parse::seconds)]
    pub retry_max: Duration,
    /// How often dispatchers and the job worker look for rows written by other instances, in
    /// milliseconds (this instance's own wake them at once).
    #[arg(long = "queue-poll-ms", env = "QUEUE_POLL_MS", value_name = "QUEUE_POLL_MS",
        default_value = "500", value_parser = parse::millis)]
    pub poll: Duration,
    /// Variants made right after a map, comma-separated; `none` for none.
    #[arg(
        long,
        env = "VARIANT_EAGER",
        value_delimiter = ',',
        default_value = "thumb,card"
    )]
    pub eager_variants: Vec<String>,
    /// Variants made only inside OFFPEAK_WINDOW, comma-separated (`none`); unset: `large` when
    /// VARIANT_AVIF=true (as AVIF), else none.
    #[arg(long, env = "VARIANT_OFFPEAK", value_delimiter = ',')]
    pub offpeak_variants: Option<Vec<String>>,
    /// `HH:MM-HH:MM`, local time; may span midnight.
    #[arg(long, env = "OFFPEAK_WINDOW", default_value = "01:00-05:00", value_parser = window)]
    pub offpeak_window: OffpeakWindow,
    /// How long a worker holds a job before another may take it (a crashed worker's job is
    /// picked up again after this), in seconds.
    #[arg(long = "job-lease-secs", env = "JOB_LEASE_SECS", value_name = "JOB_LEASE_SECS",
        default_value = "300", value_parser = parse::seconds)]
    pub job_lease: Duration,
    /// Attempts of a job before it is marked failed.
    #[arg(long, env = "JOB_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub job_max_attempts: u32,
    /// The pause after each off-peak job, in milliseconds, so that the night's work never
    /// takes the whole machine.
    #[arg(long = "offpeak-pause-ms", env = "OFFPEAK_PAUSE_MS", value_name = "OFFPEAK_PAUSE_MS",
        default_value = "1000", value_parser = parse::millis)]
    pub offpeak_pause: Duration,
}

impl EventSettings {
    /// The sinks events are written for: `nats`, then `webhook:<url>` for each URL.
    pub fn sinks(&self) -> Vec<String> {
        let nats = self.nats_url.iter().map(|_| "nats".to_owned());
        let webhooks = self.webhook_urls.iter().map(|u| format!("webhook:{u}"));
        nats.chain(webhooks).collect()
    }

    /// VARIANT_EAGER (`none` for none).
    pub fn eager(&self) -> Vec<String> {
        without_none(&self.eager_variants)
    }

    /// VARIANT_OFFPEAK (`none` for none), or its default for VARIANT_AVIF.
    pub fn offpeak(&self, avif: bool) -> Vec<String> {
        match &self.offpeak_variants {
            Some(variants) => without_none(variants),
            None if avif => vec!["large".to_owned()],
            None => Vec::new(),
        }
    }

    pub(super) fn validate(&self, variant_names: &[String]) -> Result<(), ConfigError> {
        if !self.webhook_urls.is_empty() && self.webhook_secret.is_none() {
            return Err(ConfigError {
                var: "WEBHOOK_SECRET",
                value: String::new(),
                reason: "WEBHOOK_URLS is set, and webhooks are always signed".into(),
            });
        }
        let named = [("VARIANT_EAGER", self.eager())].into_iter().chain(
            self.offpeak_variants
                .as_deref()
                .map(|v| ("VARIANT_OFFPEAK", without_none(v))),
        );
        for (var, variants) in named {
            if let Some(unknown) = variants.iter().find(|v| !variant_names.contains(v)) {
                return Err(ConfigError {
                    var,
                    value: variants.join(","),
                    reason: format!(
                        "`{unknown}` is not a variant (VARIANT_PRESETS and VARIANT_WIDTHS name them)"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// An empty value means the default, so `none` says "no variants".
fn without_none(variants: &[String]) -> Vec<String> {
    let named = variants
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && *v != "none");
    named.map(str::to_owned).collect()
}

/// The Standard Webhooks signing key. Never printed.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl std::str::FromStr for WebhookSecret {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        webhook_secret(raw)
    }
}

fn webhook_secret(raw: &str) -> Result<WebhookSecret, String> {
    let encoded = raw.trim().strip_prefix("whsec_").unwrap_or(raw.trim());
    match base64::engine::general_purpose::STANDARD.decode(encoded) {
        Ok(key) if key.len() >= 24 => Ok(WebhookSecret(key)),
        Ok(_) => Err("the key must decode to at least 24 bytes".into()),
        Err(_) => Err("expected whsec_ and base64, e.g. whsec_$(openssl rand -base64 32)".into()),
    }
}

fn webhook_url(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    if (url.starts_with("http://") || url.starts_with("https://"))
        && !url.contains(char::is_whitespace)
    {
        Ok(url.to_owned())
    } else {
        Err(format!("`{url}` is not an http:// or https:// URL"))
    }
}

/// A NATS subject token or stream name: letters, digits, `-` and `_`.
fn subject_token(raw: &str) -> Result<String, String> {
    let token = raw.trim();
    if !token.is_empty()
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(token.to_owned())
    } else {
        Err("expected letters, digits, `-` and `_`".into())
    }
}

/// When off-peak jobs may run: from `start` (inclusive) to `end` (exclusive), local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffpeakWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl OffpeakWindow {
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end // spans midnight
        }
    }
}

fn window(raw: &str) -> Result<OffpeakWindow, String> {
    let invalid = || format!("`{raw}` is not HH:MM-HH:MM, e.g. 01:00-05:00");
    let (start, end) = raw.trim().split_once('-').ok_or_else(invalid)?;
    let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| invalid());
    Ok(OffpeakWindow {
        start: time(start)?,
        end: time(end)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_may_span_midnight() {
        let night = window("22:30-02:00").unwrap();
        let at = |t| NaiveTime::parse_from_str(t, "%H:%M").unwrap();
        assert!(night.contains(at("23:00")));
        assert!(night.contains(at("01:59")));
        assert!(!night.contains(at("02:00")));
        assert!(!night.contains(at("12:00")));
        let early = window("01:00-05:00").unwrap();
        assert!(early.contains(at("01:00")) && !early.contains(at("05:00")));
        assert!(window("1-5").is_err() && window("25:00-01:00").is_err());
    }

    #[test]
    fn webhook_secrets_are_standard_webhooks_keys() {
        let secret = webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(secret.expose().len(), 24);
        assert!(webhook_secret("whsec_short").is_err());
        assert!(webhook_secret("whsec_not base64!").is_err());
        assert!(!format!("{secret:?}").contains("MfKQ"));
    }
}
