//! `POST /v1/media`: multipart upload, all or nothing across the request's `file` parts.

use std::time::Duration;

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use uuid::Uuid;

use super::error::{ApiError, Result};
use super::media_json::MediaList;
use crate::db::MediaRecord;
use crate::ingest::{Ingested, ingest};
use crate::media::StoredName;
use crate::startup::AppState;

/// The multipart part name that carries a file.
const FILE_PART: &str = "file";

pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let limits = &state.settings.limits;
    let idle = state.settings.body_idle_timeout;
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut received: Vec<(Ingested, Option<String>)> = Vec::new();

    while let Some(field) = next_part(&mut multipart, idle).await? {
        if field.name() != Some(FILE_PART) {
            continue; // other form fields are allowed and ignored
        }
        let Some(original_name) = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned)
        else {
            return Err(ApiError::no_file(
                "the `file` part carries no file (its Content-Disposition has no filename)",
            ));
        };
        if received.len() == limits.max_files_per_request {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_files",
                format!(
                    "at most {} files may be uploaded in one request",
                    limits.max_files_per_request
                ),
            ));
        }
        let part_number = received.len() + 1;
        let ingested = ingest(field, &state.blobs, limits, idle)
            .await
            .map_err(|e| {
                let mut error = ApiError::from(e);
                error.prefix_detail(&format!("file {part_number} ({original_name:?}): "));
                error
            })?;
        received.push((ingested, Some(original_name).filter(|n| !n.is_empty())));
    }
    if received.is_empty() {
        return Err(ApiError::no_file("the request has no `file` part"));
    }

    // Every byte is in and valid. From here the work runs to completion in its own task, so a
    // client that hangs up now cannot leave files without records (or records without files).
    let records = tokio::spawn(store_all(state.clone(), received))
        .await
        .map_err(|e| ApiError::internal("upload task", &e))??;

    let location = records[0].id;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/media/{location}")))
        .json(MediaList::new(records)))
}

async fn next_part(multipart: &mut Multipart, idle: Duration) -> Result<Option<Field>> {
    match tokio::time::timeout(idle, multipart.next()).await {
        Err(_) => Err(ApiError::new(
            actix_web::http::StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("no data arrived for {idle:?}"),
        )),
        Ok(None) => Ok(None),
        Ok(Some(Ok(field))) => Ok(Some(field)),
        Ok(Some(Err(e))) => Err(multipart_error(e)),
    }
}

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::malformed(format!("the body is not valid multipart/form-data: {e}"))
}

/// Moves every file to its final name and records them all in one transaction. If anything
/// fails, the files already moved are removed again.
async fn store_all(
    state: web::Data<AppState>,
    received: Vec<(Ingested, Option<String>)>,
) -> Result<Vec<MediaRecord>> {
    let mut committed = Committed {
        store: &state.blobs,
        names: Vec::new(),
    };
    let mut records = Vec::with_capacity(received.len());
    for (file, original_name) in received {
        let (name, created_at) = state
            .blobs
            .commit(file.staged, file.sha1_hex.clone(), file.format)
            .await
            .map_err(|e| ApiError::io("moving an upload into place", e))?;
        records.push(MediaRecord {
            id: Uuid::new_v4(),
            name: name.to_string(),
            content_type: file.format.mime().to_owned(),
            size: file.size as i64,
            sha1: file.sha1_hex,
            width: file.dimensions.width as i64,
            height: file.dimensions.height as i64,
            original_name,
            created_at,
            owner: None,
            mapped_at: None,
            metadata: None,
        });
        committed.names.push(name);
    }
    state.repo.insert_all(&records).await?;
    committed.names.clear();
    Ok(records)
}

/// Files moved into place but not yet recorded; removed on drop unless the insert succeeded.
struct Committed<'a> {
    store: &'a crate::storage::BlobStore,
    names: Vec<StoredName>,
}

impl Drop for Committed<'_> {
    fn drop(&mut self) {
        for name in &self.names {
            if let Err(e) = self.store.remove_blocking(name) {
                tracing::error!(error = %e, %name, "could not remove a file whose record failed; gc will");
            }
        }
    }
}
