//! Metadata generated when an upload is mapped to its owner.

use serde::{Deserialize, Serialize};

use super::ImageFormat;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub width: i64,
    pub height: i64,
    pub size: i64,
    pub format: String,
    pub tags: Vec<String>,
    /// ThumbHash of the upright image, base64 (records mapped before it existed have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

impl Metadata {
    /// `content_type` is the detected type of the stored file.
    pub fn generate(
        width: i64,
        height: i64,
        size: i64,
        content_type: &str,
        tags: Vec<String>,
        placeholder: Option<String>,
    ) -> Self {
        let format = ImageFormat::from_mime(content_type)
            .map_or("unknown", ImageFormat::name)
            .to_owned();
        Self {
            width,
            height,
            size,
            format,
            tags,
            placeholder,
        }
    }
}
