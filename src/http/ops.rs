//! The operational routes: `/healthz`, `/readyz`, `/metrics`, and the API's own documents
//! (`/openapi.json`, Swagger UI under `/docs/`).

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde_json::json;
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;
use super::error::{ApiError, Result};
use super::metrics::{DB_POOL_IN_USE, recorder};
use super::problem::doc;

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
        (status = 503, response = inline(doc::Unavailable)),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    // Each check within its own bound, so the answer comes within twice READINESS_TIMEOUT_SECS
    // whatever a dependency does.
    let bound = state.settings.readiness_timeout;
    let database = tokio::time::timeout(bound, state.repo.ping()).await;
    if !matches!(database, Ok(Ok(()))) {
        tracing::warn!(outcome = ?database, "readiness: database unavailable");
        return Err(ApiError::unavailable("the database is unavailable", bound));
    }
    let store = tokio::time::timeout(bound, state.blobs.check_writable()).await;
    if !matches!(store, Ok(Ok(()))) {
        tracing::warn!(outcome = ?store, store = %state.blobs.describe(), "readiness: blob store unavailable");
        return Err(ApiError::unavailable(
            "the blob store is not writable or not reachable",
            bound,
        ));
    }
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

/// Prometheus metrics
///
/// Uploads by outcome code, bytes accepted, latencies, uploads in progress and waiting for a
/// slot, database connections in use, files served by route.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
#[get("/metrics")]
pub async fn prometheus_metrics(state: web::Data<AppState>) -> HttpResponse {
    ::metrics::gauge!(DB_POOL_IN_USE).set(state.repo.connections_in_use() as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(recorder().render())
}

/// `GET /openapi.json` and Swagger UI at `/docs/` (bundled in the binary; works offline).
pub fn docs(api: utoipa::openapi::OpenApi) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.service(web::resource("/docs").route(web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        })))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api));
    }
}
