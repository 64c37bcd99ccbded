//! The `Media` JSON object clients see: the record, its download URLs, and once mapped, its
//! owner and generated metadata.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::VariantSettings;
use crate::db::MediaRecord;
use crate::media::Metadata;

/// A stored file's record.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Media)]
pub struct MediaJson {
    /// Opaque id (random UUID v4).
    pub id: Uuid,
    /// Stored name: `<sha1>-<13-digit unix ms>.<ext>`.
    #[schema(example = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12-1732262400123.jpg")]
    pub name: String,
    /// Detected from the magic bytes, never from the client.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    pub size: i64,
    pub sha1: String,
    pub width: i64,
    pub height: i64,
    /// The client's file name, for display only.
    pub original_name: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Download by id.
    pub url: String,
    /// Download by stored name.
    pub file_url: String,
    /// Set when mapped; `null` before.
    pub owner: Option<String>,
    /// The only owner the file may be mapped to, from its upload token; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_hint: Option<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub mapped_at: Option<DateTime<Utc>>,
    /// Generated when mapped; `null` before.
    pub metadata: Option<MetadataJson>,
    /// EXIF orientation (1 to 8) kept in the stored file; `width` and `height` are as
    /// displayed, swapped for 5 to 8.
    #[schema(minimum = 1, maximum = 8)]
    pub orientation: i32,
    /// Frames of an animated GIF, PNG or WebP; absent for still images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<i32>,
    /// Each preset and width variant to its URL by id (made on first request).
    #[schema(example = json!({"card": "/v1/media/0b0e3d1c-5f1a-4c8e-9d7b-2a6f0c3e4b5a/variants/card",
        "w320": "/v1/media/0b0e3d1c-5f1a-4c8e-9d7b-2a6f0c3e4b5a/variants/w320"}))]
    pub variants: BTreeMap<String, String>,
}

/// Metadata generated when a file is mapped.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Metadata)]
pub struct MetadataJson {
    pub width: i64,
    pub height: i64,
    pub size: i64,
    #[schema(example = "jpeg")]
    pub format: String,
    pub tags: Vec<String>,
    /// A ThumbHash of the upright image (base64): a page draws a blurred preview from it
    /// before the image arrives. `null` if the image could not be decoded.
    #[schema(example = "1QcSHQRnh493V4dIh4eXh1h4kJUI")]
    pub placeholder: Option<String>,
}

impl From<Metadata> for MetadataJson {
    fn from(m: Metadata) -> Self {
        Self {
            width: m.width,
            height: m.height,
            size: m.size,
            format: m.format,
            tags: m.tags,
            placeholder: m.placeholder,
        }
    }
}

/// A file's bytes, in OpenAPI terms.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BinaryFile(#[allow(dead_code)] Vec<u8>);

/// The files of a request, in request order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MediaList)]
pub struct MediaList {
    pub files: Vec<MediaJson>,
}

impl MediaJson {
    /// The record as clients see it, with a URL for each variant `settings` offers.
    pub fn new(r: MediaRecord, settings: &VariantSettings) -> Self {
        let url = format!("/v1/media/{}", r.id);
        let variants = variant_names(settings)
            .map(|name| (name.clone(), format!("{url}/variants/{name}")))
            .collect();
        Self {
            file_url: format!("/v1/files/{}", r.name),
            url,
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
            owner_hint: r.owner_hint,
            mapped_at: r.mapped_at,
            metadata: r.metadata.map(|m| m.0.into()),
            orientation: r.orientation,
            frames: r.frames,
            variants,
        }
    }
}

/// Every variant name `settings` offers: the presets, then `w<N>` for each width.
pub fn variant_names(settings: &VariantSettings) -> impl Iterator<Item = String> + Clone + '_ {
    settings.names().into_iter()
}

impl MediaList {
    pub fn new(records: impl IntoIterator<Item = MediaRecord>, settings: &VariantSettings) -> Self {
        Self {
            files: records
                .into_iter()
                .map(|r| MediaJson::new(r, settings))
                .collect(),
        }
    }
}

/// RFC 3339 in UTC with milliseconds, as every time in the API is written.
pub(super) fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn rfc3339_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}
