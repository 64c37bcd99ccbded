//! `POST /v1/media`: multipart upload, all or nothing across the request's `file` parts.

use std::time::Duration;

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, post, web};
use futures_util::StreamExt;
use uuid::Uuid;

use super::error::{ApiError, Result};
use super::media_json::{BinaryFile, MediaList};
use super::metrics::{self, GaugeGuard};
use super::openapi::{
    FileTooLarge, Internal, InvalidImage, NoFile, OriginNotAllowed, Overloaded, RequestTimeout,
    StorageFull, UnsupportedMediaType,
};
use crate::db::MediaRecord;
use crate::ingest::{Ingested, ingest};
use crate::media::StoredName;
use crate::startup::AppState;
use crate::storage::BlobStore;

/// The multipart part name that carries a file.
const FILE_PART: &str = "file";

/// The multipart body, for the OpenAPI document (the handler streams the parts itself).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One or more image files, one `file` part each (1 to `MAX_FILES_PER_REQUEST`). The type is
    /// detected from the bytes; the file name is kept for display only.
    file: Vec<BinaryFile>,
}

/// Upload images
///
/// Called by the browser as soon as the user picks a picture, before the form is submitted. Every
/// part named `file` is one file; other form fields are ignored. All or nothing: if one file is
/// rejected, none is kept. Keep the returned `id`s and send them to your backend with the form.
#[utoipa::path(
    tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored; the files in part order", body = MediaList,
            headers(("Location" = String, description = "`/v1/media/{id}` of the first file"))),
        (status = 400, response = inline(NoFile)),
        (status = 403, response = inline(OriginNotAllowed)),
        (status = 408, response = inline(RequestTimeout)),
        (status = 413, response = inline(FileTooLarge)),
        (status = 415, response = inline(UnsupportedMediaType)),
        (status = 422, response = inline(InvalidImage)),
        (status = 500, response = inline(Internal)),
        (status = 503, response = inline(Overloaded)),
        (status = 507, response = inline(StorageFull)),
    )
)]
#[post("/v1/media")]
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    // Back pressure: the body is not read until a slot is free, so a waiting client costs a
    // connection, not memory or a staging file.
    let waiting = GaugeGuard::new(metrics::UPLOADS_WAITING);
    let queue_timeout = state.settings.upload_queue_timeout;
    let slot =
        tokio::time::timeout(queue_timeout, state.upload_slots.clone().acquire_owned()).await;
    drop(waiting);
    let Ok(Ok(_slot)) = slot else {
        ::metrics::counter!(metrics::UPLOADS, "outcome" => "overloaded").increment(1);
        let retry_after = queue_timeout.as_secs().clamp(1, 30).to_string();
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many uploads are in progress; retry after the time in Retry-After",
        )
        .with_header(
            header::RETRY_AFTER,
            HeaderValue::from_str(&retry_after).expect("digits"),
        ));
    };
    let _in_progress = GaugeGuard::new(metrics::UPLOADS_IN_PROGRESS);
    let started = std::time::Instant::now();
    let result = receive_and_store(&state, &req, payload).await;
    let outcome = match &result {
        Ok(_) => "created",
        Err(e) => e.code(),
    };
    ::metrics::counter!(metrics::UPLOADS, "outcome" => outcome).increment(1);
    ::metrics::histogram!(metrics::UPLOAD_SECONDS).record(started.elapsed().as_secs_f64());
    result
}

async fn receive_and_store(
    state: &web::Data<AppState>,
    req: &HttpRequest,
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
                StatusCode::PAYLOAD_TOO_LARGE,
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
    let bytes: u64 = received.iter().map(|(file, _)| file.size).sum();
    let records = tokio::spawn(store_all(state.clone(), received))
        .await
        .map_err(|e| ApiError::internal("upload task", &e))??;

    ::metrics::counter!(metrics::UPLOAD_BYTES).increment(bytes);
    let location = records[0].id;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/media/{location}")))
        .json(MediaList::new(records)))
}

async fn next_part(multipart: &mut Multipart, idle: Duration) -> Result<Option<Field>> {
    match tokio::time::timeout(idle, multipart.next()).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
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
/// fails, the blobs already stored are removed again. Runs in a task of its own, so it is not
/// cancelled half way when the client hangs up.
async fn store_all(
    state: web::Data<AppState>,
    received: Vec<(Ingested, Option<String>)>,
) -> Result<Vec<MediaRecord>> {
    let mut unrecorded = Unrecorded {
        blobs: state.blobs.clone(),
        names: Vec::new(),
    };
    let mut records = Vec::with_capacity(received.len());
    for (file, original_name) in received {
        let (name, created_at) = state
            .blobs
            .commit(file.staged, file.sha1_hex.clone(), file.format)
            .await
            .map_err(|e| ApiError::io("storing an upload", e))?;
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
        unrecorded.names.push(name);
    }
    state.repo.insert_all(&records).await?;
    unrecorded.names.clear();
    Ok(records)
}

/// Blobs stored but not yet recorded. Dropped with names left (an error, a panic, or the task
/// dropped at shutdown), it removes them in a task of their own.
struct Unrecorded {
    blobs: BlobStore,
    names: Vec<StoredName>,
}

impl Drop for Unrecorded {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let names = std::mem::take(&mut self.names);
        let blobs = self.blobs.clone();
        let removal = async move {
            for name in names {
                if let Err(e) = blobs.remove(&name).await {
                    tracing::error!(error = %e, %name, "could not remove a blob whose record failed; gc will");
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(removal)),
            Err(_) => tracing::error!("no runtime to remove unrecorded blobs; gc will"),
        }
    }
}
