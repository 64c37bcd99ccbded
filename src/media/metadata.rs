//! Metadata generated when an upload is mapped to its owner.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub width: i64,
    pub height: i64,
    pub size: i64,
    pub format: String,
    pub tags: Vec<String>,
}
