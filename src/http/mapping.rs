//! Routes of the platform backend (API key): `POST /v1/media/map` and `DELETE /v1/media/{id}`.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::ApiKeyAuthorized;
use super::download::parse_id;
use super::error::{ApiError, Result};
use super::media_json::MediaList;
use crate::db::{MapError, MapItem};
use crate::media::StoredName;
use crate::startup::AppState;

const MAX_OWNER_CHARS: usize = 200;
const MAX_FILES_PER_MAP: usize = 100;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapRequest {
    owner: String,
    files: Vec<MapFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapFile {
    id: Uuid,
    #[serde(default)]
    tags: Vec<String>,
}

pub async fn map(
    _: ApiKeyAuthorized,
    state: web::Data<AppState>,
    body: web::Json<MapRequest>,
) -> Result<HttpResponse> {
    let request = body.into_inner();
    validate(&request)?;
    let items: Vec<MapItem> = request
        .files
        .into_iter()
        .map(|f| MapItem {
            id: f.id,
            tags: f.tags,
        })
        .collect();
    let mapped = state
        .repo
        .map(&request.owner, &items, chrono::Utc::now())
        .await
        .map_err(|e| match e {
            MapError::NotFound(ids) => {
                ApiError::not_found(format!("no media has these ids: {}", list(&ids)))
            }
            MapError::Conflict(ids) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("these ids are mapped to another owner: {}", list(&ids)),
            ),
            MapError::Db(e) => e.into(),
        })?;
    Ok(HttpResponse::Ok().json(MediaList::new(mapped)))
}

pub async fn delete(
    _: ApiKeyAuthorized,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let id = parse_id(&id)?;
    let record = state
        .repo
        .delete(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no media has the id {id}")))?;
    // The record goes first: if the file removal fails, `gc` finds an orphan, never a dangling record.
    if let Ok(name) = StoredName::parse(&record.name) {
        state
            .blobs
            .remove(&name)
            .await
            .map_err(|e| ApiError::io("removing a deleted file", e))?;
    }
    Ok(HttpResponse::NoContent().finish())
}

fn validate(request: &MapRequest) -> Result<()> {
    let owner_chars = request.owner.chars().count();
    if owner_chars == 0
        || owner_chars > MAX_OWNER_CHARS
        || request.owner.chars().any(char::is_control)
    {
        return Err(ApiError::malformed(format!(
            "`owner` must be 1 to {MAX_OWNER_CHARS} printable characters"
        )));
    }
    if request.files.is_empty() || request.files.len() > MAX_FILES_PER_MAP {
        return Err(ApiError::malformed(format!(
            "`files` must hold 1 to {MAX_FILES_PER_MAP} entries"
        )));
    }
    let mut seen = HashSet::new();
    for file in &request.files {
        if !seen.insert(file.id) {
            return Err(ApiError::malformed(format!(
                "id {} appears more than once",
                file.id
            )));
        }
        if file.tags.len() > MAX_TAGS {
            return Err(ApiError::malformed(format!(
                "id {}: at most {MAX_TAGS} tags",
                file.id
            )));
        }
        let bad_tag = |t: &String| {
            t.is_empty() || t.chars().count() > MAX_TAG_CHARS || t.chars().any(char::is_control)
        };
        if file.tags.iter().any(bad_tag) {
            return Err(ApiError::malformed(format!(
                "id {}: each tag must be 1 to {MAX_TAG_CHARS} printable characters",
                file.id
            )));
        }
    }
    Ok(())
}

fn list(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
