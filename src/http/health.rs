//! `GET /healthz` (the process is alive) and `GET /readyz` (it can do its work).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use serde_json::json;

use super::error::{ApiError, Result};
use super::openapi::Unavailable;
use crate::startup::AppState;

/// Liveness
///
/// `200` while the process is alive.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Alive", example = json!({"status": "ok"}))))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness
///
/// `200` when the database answers, a new upload can be staged, and the bucket (with
/// `STORAGE=s3`) answers; a load balancer sends traffic only then.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready", example = json!({"status": "ready"})),
        (status = 503, response = inline(Unavailable)),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    if let Err(e) = state.repo.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return Err(unavailable("the database is unreachable"));
    }
    if let Err(e) = state.blobs.check_writable().await {
        tracing::warn!(error = %e, store = %state.blobs.describe(), "readiness: blob store unavailable");
        return Err(unavailable(
            "the blob store is not writable or not reachable",
        ));
    }
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

fn unavailable(detail: &str) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
}
