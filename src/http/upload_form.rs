//! The HTTP side of an upload: a slot to run in, then the multipart body read part by part
//! into the ingest pipeline.

use std::time::Duration;

use actix_multipart::{Field, Multipart};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::error::{ApiError, Result};
use super::metrics::{self, GaugeGuard};
use super::problem::ErrorCode;
use crate::access::UploadClaims;
use crate::config::Limits;
use crate::ingest::{self, Received};

/// The multipart part name that carries a file.
const FILE_PART: &str = "file";

/// Back pressure: the body is not read until a slot is free, so a waiting client costs a
/// connection, not memory or a staging file.
pub async fn upload_slot(state: &AppState) -> Result<OwnedSemaphorePermit> {
    let _waiting = GaugeGuard::new(metrics::UPLOADS_WAITING);
    let queue_timeout = state.settings.upload_queue_timeout;
    let slot =
        tokio::time::timeout(queue_timeout, state.upload_slots.clone().acquire_owned()).await;
    match slot {
        Ok(Ok(slot)) => Ok(slot),
        _ => {
            ::metrics::counter!(metrics::UPLOADS, "outcome" => "overloaded").increment(1);
            Err(ApiError::overloaded(
                "too many uploads are in progress; retry after the time in Retry-After",
                queue_timeout,
            ))
        }
    }
}

/// Every `file` part of the body, received and checked, in part order; other form fields are
/// ignored. The first bad file fails the request (its staging file, and those before it, are
/// deleted as they drop).
pub async fn receive_files(
    state: &AppState,
    limits: &Limits,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Vec<Received>> {
    let idle = state.settings.body_idle_timeout;
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut received = Vec::new();

    while let Some(field) = next_part(&mut multipart, idle).await? {
        if field.name() != Some(FILE_PART) {
            continue;
        }
        let Some(original_name) = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned)
        else {
            return Err(ApiError::new(
                ErrorCode::NoFile,
                "the `file` part carries no file (its Content-Disposition has no filename)",
            ));
        };
        if received.len() == limits.max_files_per_request {
            return Err(ApiError::new(
                ErrorCode::TooManyFiles,
                format!(
                    "at most {} files may be uploaded in one request",
                    limits.max_files_per_request
                ),
            ));
        }
        let part_number = received.len() + 1;
        let label = format!("file {part_number} ({original_name:?}): ");
        let file = ingest::receive(field, Some(original_name), &state.blobs, limits, idle)
            .await
            .map_err(|e| {
                let mut error = ApiError::from(e);
                error.prefix_detail(&label);
                error
            })?;
        received.push(file);
    }
    if received.is_empty() {
        return Err(ApiError::new(
            ErrorCode::NoFile,
            "the request has no `file` part",
        ));
    }
    Ok(received)
}

/// The server's limits, lowered to an upload token's: its `max_file_bytes` per file, and its
/// `max_files` already within one request (its total over requests is checked as the files are
/// recorded).
pub fn limits_for(limits: &Limits, token: Option<&UploadClaims>) -> Limits {
    let mut limits = limits.clone();
    if let Some(token) = token {
        if let Some(max) = token.max_file_bytes {
            limits.max_file_bytes = limits.max_file_bytes.min(max);
        }
        if let Some(max) = token.max_files {
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            limits.max_files_per_request = limits.max_files_per_request.min(max);
        }
    }
    limits
}

async fn next_part(multipart: &mut Multipart, idle: Duration) -> Result<Option<Field>> {
    match tokio::time::timeout(idle, multipart.next()).await {
        Err(_) => Err(ApiError::new(
            ErrorCode::RequestTimeout,
            format!("no data arrived for {idle:?}"),
        )),
        Ok(None) => Ok(None),
        Ok(Some(Ok(field))) => Ok(Some(field)),
        Ok(Some(Err(e))) => Err(ApiError::malformed(format!(
            "the body is not valid multipart/form-data: {e}"
        ))),
    }
}

/// The multipart body, for the OpenAPI document (the handler streams the parts itself); its
/// limits are this instance's, set by [`document_limits`].
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    file: Vec<super::media_json::BinaryFile>,
}

/// States `limits` in the document's `UploadForm`: how many `file` parts, how large each.
pub fn document_limits(api: &mut utoipa::openapi::OpenApi, limits: &Limits) {
    use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let file = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
        .min_length(Some(1)); // an empty file is `400 no_file`
    let files = ArrayBuilder::new()
        .items(file)
        .min_items(Some(1))
        .max_items(Some(limits.max_files_per_request))
        .description(Some(format!(
            "One or more image files, one `file` part each, each at most {} bytes and {} \
             pixels. The type is detected from the bytes; the file name is kept for display \
             only.",
            limits.max_file_bytes, limits.max_image_pixels
        )));
    // Other form fields are ignored, but their names must survive the multipart parser: no
    // control characters other than tab, and a backslash only before another character.
    let field_names = ObjectBuilder::new().schema_type(Type::String).pattern(Some(
        r"^(?:[^\u0000-\u0008\u000A-\u001F\u007F\\]|\\[^\u0000-\u0008\u000A-\u001F\u007F])*$",
    ));
    let form = ObjectBuilder::new()
        .property("file", files)
        .required("file")
        .property_names(Some(field_names));
    let components = api.components.get_or_insert_with(Default::default);
    components.schemas.insert("UploadForm".into(), form.into());
}
