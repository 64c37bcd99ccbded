//! `GET /healthz` (the process is alive) and `GET /readyz` (it can do its work).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::error::{ApiError, Result};
use crate::startup::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    if let Err(e) = state.repo.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return Err(unavailable("the database is unreachable"));
    }
    if let Err(e) = state.blobs.check_writable().await {
        tracing::warn!(error = %e, "readiness: upload directory not writable");
        return Err(unavailable("the blob store is not writable"));
    }
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

fn unavailable(detail: &str) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
}
