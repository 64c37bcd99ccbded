//! The webhook sink: each event `POST`ed to a URL, signed as Standard Webhooks do. A 2xx answer
//! is a delivery; anything else, or no answer within WEBHOOK_TIMEOUT_SECS, is a failure.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use hmac::{KeyInit, Mac};

use super::cloudevent::Event;
use super::{Sink, SinkError};
use crate::config::WebhookSecret;

pub struct Webhook {
    name: String,
    url: String,
    secret: WebhookSecret,
    timeout: Duration,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(url: &str, secret: WebhookSecret, timeout: Duration) -> Result<Self, SinkError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A webhook that redirects is answering something else than a delivery.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SinkError(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            name: format!("webhook:{url}"),
            url: url.to_owned(),
            secret,
            timeout,
            client,
        })
    }
}

/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

#[async_trait]
impl Sink for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn deliver(&self, event: &Event<'_>) -> Result<(), SinkError> {
        let id = event.id();
        let timestamp = chrono::Utc::now().timestamp();
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/cloudevents+json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(self.secret.expose(), &id, timestamp, &event.body),
            )
            .body(event.body.clone())
            .send()
            .await
            .map_err(|e| SinkError(format!("{e}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SinkError(format!("answered {status}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_as_the_standard_webhooks_example() {
        let secret = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
