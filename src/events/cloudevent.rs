//! The CloudEvents 1.0 JSON document of an outbox row (SPEC §11).

use chrono::SecondsFormat;
use serde::Serialize;

use crate::db::OutboxRow;

/// What becomes `data`: the `Media` JSON clients see, made by the HTTP layer.
pub type RenderData =
    std::sync::Arc<dyn Fn(&crate::db::MediaRecord) -> serde_json::Value + Send + Sync>;

#[derive(Serialize)]
struct CloudEvent {
    specversion: &'static str,
    id: String,
    source: &'static str,
    #[serde(rename = "type")]
    event_type: String,
    time: String,
    subject: String,
    datacontenttype: &'static str,
    data: serde_json::Value,
}

/// An event ready for any sink: its id, type (`media.mapped`) and JSON document.
pub struct Event<'a> {
    pub row: &'a OutboxRow,
    pub body: Vec<u8>,
}

impl<'a> Event<'a> {
    pub fn new(row: &'a OutboxRow, render: &RenderData) -> Self {
        let document = CloudEvent {
            specversion: "1.0",
            id: row.id.to_string(),
            source: "mediastore",
            event_type: format!("mediastore.{}", row.event_type),
            time: row.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            subject: row.media_id.to_string(),
            datacontenttype: "application/json",
            data: render(&row.record.0),
        };
        let body = serde_json::to_vec(&document).expect("an event serialises");
        Self { row, body }
    }

    pub fn id(&self) -> String {
        self.row.id.to_string()
    }

    /// `media.uploaded`, ...
    pub fn event_type(&self) -> &str {
        &self.row.event_type
    }
}
