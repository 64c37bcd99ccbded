//! The NATS JetStream sink: each event published to `<prefix>.media.<event>` and acknowledged
//! by the stream, with `Nats-Msg-Id` set to the event id so that the stream drops a redelivery
//! within its duplicate window.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::cloudevent::Event;
use super::{Sink, SinkError};
use crate::config::EventSettings;

/// How long the stream remembers message ids: a redelivery within it is dropped.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// The longest a publication (and the stream's creation before the first) may wait for NATS.
const TIMEOUT: Duration = Duration::from_secs(5);

pub struct Nats {
    jetstream: jetstream::Context,
    prefix: String,
    stream: String,
    /// Created (or found) once, on the first delivery: the service starts while NATS is down.
    ready: OnceCell<()>,
}

impl Nats {
    /// Connects in the background (retrying), so that start-up never waits for NATS.
    pub async fn connect(url: &str, settings: &EventSettings) -> Result<Self, SinkError> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .name("mediastore")
            .connect(url)
            .await
            .map_err(|e| SinkError(format!("connecting to NATS: {e}")))?;
        let mut jetstream = jetstream::new(client);
        jetstream.set_timeout(TIMEOUT);
        Ok(Self {
            jetstream,
            prefix: settings.nats_prefix.clone(),
            stream: settings.nats_stream.clone(),
            ready: OnceCell::new(),
        })
    }

    async fn ensure_stream(&self) -> Result<(), SinkError> {
        self.ready
            .get_or_try_init(|| async {
                self.jetstream
                    .get_or_create_stream(stream::Config {
                        name: self.stream.clone(),
                        subjects: vec![format!("{}.>", self.prefix)],
                        duplicate_window: DUPLICATE_WINDOW,
                        ..Default::default()
                    })
                    .await
                    .map(drop)
                    .map_err(|e| SinkError(format!("creating the stream {}: {e}", self.stream)))
            })
            .await
            .copied()
    }
}

#[async_trait]
impl Sink for Nats {
    fn name(&self) -> &str {
        "nats"
    }

    fn timeout(&self) -> Duration {
        TIMEOUT
    }

    async fn deliver(&self, event: &Event<'_>) -> Result<(), SinkError> {
        self.ensure_stream().await?;
        let subject = format!("{}.{}", self.prefix, event.event_type());
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.id().as_str());
        let ack = self
            .jetstream
            .publish_with_headers(subject, headers, event.body.clone().into())
            .await
            .map_err(|e| SinkError(format!("publishing: {e}")))?;
        ack.await
            .map(drop)
            .map_err(|e| SinkError(format!("no acknowledgement: {e}")))
    }
}
