//! Everything under `/v1/media`: upload, download and headers by id, the record, map and
//! delete.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, head, post, web};
use uuid::Uuid;

use super::AppState;
use super::access::{DownloadGate, UploadGate};
use super::auth::ApiKeyAuthorized;
use super::error::{ApiError, Result};
use super::map_request::MapRequest;
use super::media_json::{MediaJson, MediaList};
use super::metrics::{self, GaugeGuard};
use super::problem::{ErrorCode, doc};
use super::serve::{self, Route};
use super::upload_form::{self, UploadForm};
use crate::db::MapError;
use crate::ingest;
use crate::media::{MapItem, MapRefusal};
use crate::variants::VariantError;

/// Upload images
///
/// Called by the browser as soon as the user picks a picture, before the form is submitted. Every
/// part named `file` is one file; other form fields are ignored. All or nothing: if one file is
/// rejected, none is kept. Keep the returned `id`s and send them to your backend with the form.
#[utoipa::path(
    tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    params(
        ("token" = Option<String>, Query, description = "An upload token from \
            `POST /v1/upload-tokens` (or send it as `Upload-Token`); required when \
            UPLOAD_AUTH is token"),
        ("Upload-Token" = Option<String>, Header, description = "The upload token, as a header"),
    ),
    responses(
        (status = 201, description = "Stored; the files in part order", body = MediaList,
            headers(("Location" = String, description = "`/v1/media/{id}` of the first file"))),
        (status = 400, response = inline(doc::UploadBadRequest)),
        (status = 401, response = inline(doc::Unauthorized)),
        (status = 403, response = inline(doc::OriginNotAllowed)),
        (status = 408, response = inline(doc::RequestTimeout)),
        (status = 413, response = inline(doc::UploadTooLarge)),
        (status = 415, response = inline(doc::UnsupportedMediaType)),
        (status = 422, response = inline(doc::InvalidImage)),
        (status = 429, response = inline(doc::RateLimited)),
        (status = 500, response = inline(doc::Internal)),
        (status = 503, response = inline(doc::UploadUnavailable)),
        (status = 507, response = inline(doc::StorageFull)),
    )
)]
#[post("/v1/media")]
pub async fn upload(
    gate: UploadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let _slot = upload_form::upload_slot(&state).await?;
    let _in_progress = GaugeGuard::new(metrics::UPLOADS_IN_PROGRESS);
    let started = std::time::Instant::now();
    let stored = async {
        let limits = upload_form::limits_for(&state.settings.limits, gate.token.as_ref());
        let files = upload_form::receive_files(&state, &limits, &req, payload).await?;
        let bytes: u64 = files.iter().map(|file| file.staged.len).sum();
        let (blobs, recorder) = (state.blobs.clone(), state.recorder.clone());
        let records = ingest::store_all(blobs, recorder, files, gate.token).await?;
        ::metrics::counter!(metrics::UPLOAD_BYTES).increment(bytes);
        Ok::<_, ApiError>(records)
    }
    .await;
    let outcome = match &stored {
        Ok(_) => "created",
        Err(e) => e.code().as_str(),
    };
    ::metrics::counter!(metrics::UPLOADS, "outcome" => outcome).increment(1);
    ::metrics::histogram!(metrics::UPLOAD_SECONDS).record(started.elapsed().as_secs_f64());
    let records = stored?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/media/{}", records[0].id)))
        .json(MediaList::new(records, &state.settings.variants)))
}

/// Download a file by its id
///
/// The file's bytes, streamed. Cacheable forever: a stored file never changes.
#[utoipa::path(
    tag = "downloads",
    params(("id" = Uuid, Path, description = "The media id returned by the upload")),
    responses(
        (status = 200, response = inline(serve::doc::FileBytes)),
        (status = 206, response = inline(serve::doc::FileRange)),
        (status = 304, description = "`If-None-Match` matched: the cached copy is current"),
        (status = 404, response = inline(doc::NotFound)),
        (status = 416, response = inline(doc::RangeNotSatisfiable)),
        (status = 500, response = inline(doc::Internal)),
        (status = 503, response = inline(doc::Unavailable)),
    )
)]
#[get("/v1/media/{id}")]
pub async fn get_media(
    _: DownloadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    serve_by_id(&state, &req, &id).await
}

/// Headers of a file by its id
///
/// The same headers as `GET`, without the body.
#[utoipa::path(
    tag = "downloads",
    params(("id" = Uuid, Path, description = "The media id")),
    responses(
        (status = 200, description = "The headers `GET` would send"),
        (status = 404, response = inline(doc::NotFound)),
    )
)]
#[head("/v1/media/{id}")]
pub async fn head_media(
    _: DownloadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    serve_by_id(&state, &req, &id).await
}

async fn serve_by_id(state: &AppState, req: &HttpRequest, raw_id: &str) -> Result<HttpResponse> {
    let started = std::time::Instant::now();
    let id = parse_id(raw_id)?;
    let name = state.repo.name_of(id).await?.ok_or_else(|| no_media(id))?;
    serve::stored_file(state, req, &name, Route::ById, started).await
}

/// The record of a file
#[utoipa::path(
    tag = "downloads",
    params(("id" = Uuid, Path, description = "The media id")),
    responses(
        (status = 200, description = "The `Media` record", body = MediaJson),
        (status = 404, response = inline(doc::NotFound)),
        (status = 500, response = inline(doc::Internal)),
        (status = 503, response = inline(doc::Unavailable)),
    )
)]
#[get("/v1/media/{id}/info")]
pub async fn media_info(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse> {
    let id = parse_id(&id)?;
    let record = state.repo.find(id).await?.ok_or_else(|| no_media(id))?;
    Ok(HttpResponse::Ok().json(MediaJson::new(record, &state.settings.variants)))
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
        (status = 400, response = inline(doc::MalformedRequest)),
        (status = 401, response = inline(doc::Unauthorized)),
        (status = 403, response = inline(doc::OriginNotAllowed)),
        (status = 404, response = inline(doc::NotFound)),
        (status = 409, response = inline(doc::Conflict)),
        (status = 500, response = inline(doc::Internal)),
        (status = 503, response = inline(doc::Unavailable)),
    )
)]
#[post("/v1/media/map")]
pub async fn map(
    _: ApiKeyAuthorized,
    state: web::Data<AppState>,
    body: web::Json<MapRequest>,
) -> Result<HttpResponse> {
    let (owner, mut items) = body.into_inner().validated()?;
    add_placeholders(&state, &mut items).await?;
    let mapped = state
        .repo
        .map(&owner, &items, chrono::Utc::now())
        .await
        .map_err(|e| match e {
            MapError::Refused(MapRefusal::NotFound(ids)) => {
                ApiError::not_found(format!("no media has these ids: {}", list(&ids)))
            }
            MapError::Refused(MapRefusal::Conflict(ids)) => ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "these ids are mapped to, or were uploaded for, another owner: {}",
                    list(&ids)
                ),
            ),
            MapError::Db(e) => e.into(),
        })?;
    Ok(HttpResponse::Ok().json(MediaList::new(mapped, &state.settings.variants)))
}

/// The ThumbHash of each known file, made before the mapping's transaction. A placeholder is
/// an extra, so it never refuses a mapping (the platform's form submit): an image that cannot
/// be decoded, a full transform queue or an unavailable store leaves it `null` (mapping again
/// makes it). After the store fails once, the request stops asking it.
async fn add_placeholders(state: &AppState, items: &mut [MapItem]) -> Result<()> {
    for item in items.iter_mut() {
        let Some(name) = state.repo.name_of(item.id).await? else {
            continue; // the mapping answers 404 for it
        };
        match state.variants.placeholder(&name).await {
            Ok(hash) => item.placeholder = Some(hash),
            Err(e) => {
                tracing::warn!(error = %e, %name, "no placeholder");
                if matches!(&e, VariantError::Storage(e) if e.is_unavailable()) {
                    break;
                }
            }
        }
    }
    Ok(())
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
        (status = 401, response = inline(doc::Unauthorized)),
        (status = 403, response = inline(doc::OriginNotAllowed)),
        (status = 404, response = inline(doc::NotFound)),
        (status = 500, response = inline(doc::Internal)),
        (status = 503, response = inline(doc::Unavailable)),
    )
)]
#[delete("/v1/media/{id}")]
pub async fn delete_media(
    _: ApiKeyAuthorized,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let id = parse_id(&id)?;
    let record = state.repo.delete(id).await?.ok_or_else(|| no_media(id))?;
    // The record goes first: if the file removal fails, `gc` finds an orphan, never a dangling record.
    if let Ok(name) = record.stored_name() {
        state
            .blobs
            .remove(&name)
            .await
            .map_err(|e| ApiError::storage("removing a deleted file", e))?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Ids are UUIDs; anything else cannot name a record, so it is simply not found.
pub(super) fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("no media has that id (ids are UUIDs)"))
}

pub(super) fn no_media(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no media has the id {id}"))
}

fn list(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
