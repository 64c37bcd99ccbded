//! The `Media` JSON object, typed: an answer with a field missing, extra or of the wrong type
//! fails to parse. Timestamps stay the strings the service wrote, so that comparing two
//! answers compares exactly what was sent.

use serde::Deserialize;

use super::app::TestApp;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    pub id: uuid::Uuid,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha1: String,
    pub width: u64,
    pub height: u64,
    pub original_name: Option<String>,
    pub created_at: String,
    pub url: String,
    pub file_url: String,
    pub owner: Option<String>,
    pub mapped_at: Option<String>,
    pub metadata: Option<Metadata>,
    /// EXIF orientation, 1 to 8.
    pub orientation: u8,
    /// Only for animations.
    #[serde(default)]
    pub frames: Option<u32>,
    /// Each preset and width variant to its URL by id.
    pub variants: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub width: u64,
    pub height: u64,
    pub size: u64,
    pub format: String,
    pub tags: Vec<String>,
    /// A ThumbHash, base64.
    pub placeholder: Option<String>,
}

/// The answer of an upload or a map: the files, in request order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaList {
    pub files: Vec<Media>,
}

impl Media {
    /// The two download paths: by id and by stored name.
    pub fn paths(&self) -> [&str; 2] {
        [&self.url, &self.file_url]
    }

    /// `GET /v1/media/{id}/info`.
    pub fn info_path(&self) -> String {
        format!("{}/info", self.url)
    }
}

/// Reads a response body as `T`, naming the body when it does not parse.
pub async fn read_json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> T {
    let body = response.bytes().await.expect("a body");
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("unexpected JSON ({e}): {}", String::from_utf8_lossy(&body)))
}

impl TestApp {
    /// Uploads one file that must be accepted.
    pub async fn upload_ok(&self, bytes: Vec<u8>, file_name: &str) -> Media {
        let response = self.post_upload(bytes, file_name).await;
        assert_eq!(response.status(), 201);
        let mut list: MediaList = read_json(response).await;
        assert_eq!(list.files.len(), 1);
        list.files.remove(0)
    }

    /// The record as `GET /v1/media/{id}/info` answers it.
    pub async fn info(&self, media: &Media) -> Media {
        let response = self.get(&media.info_path()).await;
        assert_eq!(response.status(), 200);
        read_json(response).await
    }
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(<sha1::Sha1 as sha1::Digest>::digest(bytes))
}
