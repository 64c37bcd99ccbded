//! The `Media` JSON object clients see (SPEC §4).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::db::MediaRecord;
use crate::media::Metadata;

#[derive(Debug, Serialize)]
pub struct MediaJson {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha1: String,
    pub width: i64,
    pub height: i64,
    pub original_name: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    pub url: String,
    pub file_url: String,
    pub owner: Option<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub mapped_at: Option<DateTime<Utc>>,
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Serialize)]
pub struct MediaList {
    pub files: Vec<MediaJson>,
}

impl From<MediaRecord> for MediaJson {
    fn from(r: MediaRecord) -> Self {
        Self {
            url: format!("/v1/media/{}", r.id),
            file_url: format!("/v1/files/{}", r.name),
            id: r.id,
            name: r.name,
            content_type: r.content_type,
            size: r.size,
            sha1: r.sha1,
            width: r.width,
            height: r.height,
            original_name: r.original_name,
            created_at: r.created_at,
            owner: r.owner,
            mapped_at: r.mapped_at,
            metadata: r.metadata.map(|m| m.0),
        }
    }
}

impl MediaList {
    pub fn new(records: impl IntoIterator<Item = MediaRecord>) -> Self {
        Self {
            files: records.into_iter().map(MediaJson::from).collect(),
        }
    }
}

fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn rfc3339_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}
