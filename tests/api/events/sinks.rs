//! The two sinks as a consumer sees them: an HTTP receiver that checks Standard Webhooks
//! signatures, and a JetStream stream of the test's own on the shared NATS server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use mediastore::config::Settings;
use serde_json::Value;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The NATS server of the test command (`tests/run` starts one when none answers).
pub fn nats_url() -> String {
    std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub at: Instant,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub answered: u16,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Checked as the Standard Webhooks specification says, independently of the service.
    pub fn signature_is_valid(&self) -> bool {
        let key = base64::engine::general_purpose::STANDARD
            .decode(SECRET.trim_start_matches("whsec_"))
            .unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.body);
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        self.signature
            .split(' ')
            .any(|s| s == format!("v1,{expected}"))
    }
}

/// An HTTP endpoint that records every delivery and answers each with the next status of its
/// script (then 200 for ever).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
    script: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    pub async fn start(script: &[u16]) -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().rev().copied().collect::<Vec<_>>()));
        let state = (got.clone(), script.clone());
        let server = HttpServer::new(move || {
            let state = state.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (got, script) = state.clone();
                async move {
                    let header = |name| {
                        req.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned()
                    };
                    let answered = script.lock().unwrap().pop().unwrap_or(200);
                    got.lock().unwrap().push(Delivery {
                        at: Instant::now(),
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        body: body.to_vec(),
                        answered,
                    });
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap())
                        .finish()
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let url = format!("http://127.0.0.1:{}/hook", server.addrs()[0].port());
        tokio::spawn(server.run());
        Self { url, got, script }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }

    pub fn answer_always(&self, status: u16) {
        *self.script.lock().unwrap() = vec![status; 10_000];
    }

    /// The same configuration for a process app ([`spawn_process_with`](crate::helpers)).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("WEBHOOK_URLS".into(), self.url.clone()),
            ("WEBHOOK_SECRET".into(), SECRET.to_owned()),
        ]
    }

    pub fn configure(&self, settings: &mut Settings) {
        settings.events.webhook_urls = vec![self.url.clone()];
        settings.events.webhook_secret = Some(SECRET.parse().unwrap());
    }
}

/// A stream and subject prefix of this test's own on the shared NATS server.
pub struct TestStream {
    pub prefix: String,
    pub name: String,
    jetstream: async_nats::jetstream::Context,
}

impl TestStream {
    pub async fn new() -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let client = async_nats::connect(nats_url())
            .await
            .expect("NATS answers (TEST_NATS_URL)");
        Self {
            prefix: format!("t{tag}"),
            name: format!("T{}", tag.to_uppercase()),
            jetstream: async_nats::jetstream::new(client),
        }
    }

    /// The same configuration for a process app ([`spawn_process_with`](crate::helpers)).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("EVENTS_NATS_URL".into(), nats_url()),
            ("EVENTS_NATS_PREFIX".into(), self.prefix.clone()),
            ("EVENTS_NATS_STREAM".into(), self.name.clone()),
        ]
    }

    pub fn configure(&self, settings: &mut Settings) {
        settings.events.nats_url = Some(nats_url());
        settings.events.nats_prefix = self.prefix.clone();
        settings.events.nats_stream = self.name.clone();
    }

    /// The stream's messages once it holds `count`: subject, `Nats-Msg-Id` and the document.
    pub async fn messages(&self, count: u64) -> Vec<(String, String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(mut stream) = self.jetstream.get_stream(&self.name).await
                && stream.info().await.unwrap().state.messages >= count
            {
                let mut out = Vec::new();
                for seq in 1..=count {
                    let message = stream.get_raw_message(seq).await.unwrap();
                    let id = message.headers.get("Nats-Msg-Id").unwrap().to_string();
                    out.push((
                        message.subject.to_string(),
                        id,
                        serde_json::from_slice(&message.payload).unwrap(),
                    ));
                }
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "the stream never held {count} messages"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every message the stream holds now (none if it does not exist yet).
    pub async fn all_messages(&self) -> Vec<(String, String, Value)> {
        let Ok(mut stream) = self.jetstream.get_stream(&self.name).await else {
            return Vec::new();
        };
        let count = stream.info().await.unwrap().state.messages;
        self.messages(count).await
    }

    pub async fn delete(self) {
        let _ = self.jetstream.delete_stream(&self.name).await;
    }
}

pub fn assert_cloudevent(event: &Value, kind: &str, media: &str) {
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["source"], "mediastore");
    assert_eq!(event["type"], format!("mediastore.media.{kind}"));
    assert_eq!(event["subject"], media);
    assert_eq!(event["datacontenttype"], "application/json");
    assert_eq!(event["data"]["id"], media);
    assert!(uuid::Uuid::parse_str(event["id"].as_str().unwrap()).is_ok());
    assert!(chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).is_ok());
}
