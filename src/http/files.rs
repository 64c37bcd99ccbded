//! Everything under `/v1/files`: a stored file by its name, with no database access.

use actix_web::{HttpRequest, HttpResponse, get, head, web};

use super::AppState;
use super::access::DownloadGate;
use super::error::{ApiError, Result};
use super::problem::doc;
use super::serve::{self, Route};
use crate::media::StoredName;

/// Download a file by its stored name
///
/// Needs no database: the name carries the type, the SHA-1 and the upload time. Anything that is
/// not exactly a stored name is `404` before the file system is touched.
#[utoipa::path(
    tag = "downloads",
    params(("name" = String, Path, description = "`<sha1>-<13-digit unix ms>.<jpg|png|gif|webp>`",
        example = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12-1732262400123.jpg")),
    responses(
        (status = 200, response = inline(serve::doc::FileBytes)),
        (status = 206, response = inline(serve::doc::FileRange)),
        (status = 304, description = "`If-None-Match` matched"),
        (status = 404, response = inline(doc::NotFound)),
        (status = 416, response = inline(doc::RangeNotSatisfiable)),
        (status = 500, response = inline(doc::Internal)),
        (status = 503, response = inline(doc::Unavailable)),
    )
)]
#[get("/v1/files/{name}")]
pub async fn get_file(
    _: DownloadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    serve_by_name(&state, &req, &name).await
}

/// Headers of a file by its stored name
#[utoipa::path(
    tag = "downloads",
    params(("name" = String, Path, description = "The stored name")),
    responses(
        (status = 200, description = "The headers `GET` would send"),
        (status = 404, response = inline(doc::NotFound)),
    )
)]
#[head("/v1/files/{name}")]
pub async fn head_file(
    _: DownloadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    serve_by_name(&state, &req, &name).await
}

async fn serve_by_name(
    state: &AppState,
    req: &HttpRequest,
    raw_name: &str,
) -> Result<HttpResponse> {
    let started = std::time::Instant::now();
    // Validated before any file system access: anything that is not a stored name is 404.
    let name =
        StoredName::parse(raw_name).map_err(|_| ApiError::not_found("no file has that name"))?;
    serve::stored_file(state, req, &name, Route::ByName, started).await
}
