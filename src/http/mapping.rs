//! Routes of the platform backend (API key): `POST /v1/media/map` and `DELETE /v1/media/{id}`.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, post, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::ApiKeyAuthorized;
use super::download::parse_id;
use super::error::{ApiError, Result};
use super::media_json::MediaList;
use super::openapi::{
    Conflict, Internal, MalformedRequest, NotFound, OriginNotAllowed, Unauthorized, Unavailable,
};
use crate::db::{MapError, MapItem};
use crate::media::StoredName;
use crate::startup::AppState;

const MAX_OWNER_CHARS: usize = 200;
const MAX_FILES_PER_MAP: usize = 100;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 64;

/// Maps uploads to their owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MapRequest {
    /// The platform's user: 1 to 200 printable characters.
    #[schema(example = "user-42")]
    owner: String,
    /// 1 to 100 files, each id at most once.
    files: Vec<MapFile>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MapFile {
    id: Uuid,
    /// At most 20 tags of 1 to 64 printable characters; replaces earlier tags.
    #[serde(default)]
    #[schema(example = json!(["cake", "venue"]))]
    tags: Vec<String>,
}

/// Map uploads to their owner
///
/// Called by the platform's backend when the user submits the form. In one transaction every id
/// is mapped, or none is; each file gets generated metadata. Mapping again to the same owner is
/// idempotent and replaces the tags.
#[utoipa::path(
    tag = "platform",
    security(("api_key" = [])),
    request_body = MapRequest,
    responses(
        (status = 200, description = "Mapped; the files in request order", body = MediaList),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, response = inline(Unauthorized)),
        (status = 403, response = inline(OriginNotAllowed)),
        (status = 404, response = inline(NotFound)),
        (status = 409, response = inline(Conflict)),
        (status = 500, response = inline(Internal)),
        (status = 503, response = inline(Unavailable)),
    )
)]
#[post("/v1/media/map")]
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

/// Delete a file
///
/// Removes the record and then the file; both download routes answer `404` afterwards.
#[utoipa::path(
    tag = "platform",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The media id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = inline(Unauthorized)),
        (status = 403, response = inline(OriginNotAllowed)),
        (status = 404, response = inline(NotFound)),
        (status = 500, response = inline(Internal)),
        (status = 503, response = inline(Unavailable)),
    )
)]
#[delete("/v1/media/{id}")]
pub async fn delete_media(
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
    state.stored_names.forget(&id);
    // The record goes first: if the file removal fails, `gc` finds an orphan, never a dangling record.
    if let Ok(name) = StoredName::parse(&record.name) {
        state
            .blobs
            .remove(&name)
            .await
            .map_err(|e| ApiError::io("removing a deleted file", e))?;
    }
    // Again, in case a download by id looked the record up before the delete and cached it.
    state.stored_names.forget(&id);
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
