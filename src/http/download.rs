//! `GET`/`HEAD /v1/media/{id}` and `/v1/files/{name}`: stream a stored file with caching,
//! conditional and single-range support.
//!
//! A stored file never changes (its name is its content), so both routes may be cached forever.

use actix_web::body::SizedStream;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, get, head, web};
use uuid::Uuid;

use super::error::{ApiError, Result};
use super::media_json::{BinaryFile, MediaJson};
use super::metrics::{DOWNLOAD_SECONDS, FILES_SERVED};
use super::openapi::{Internal, NotFound, RangeNotSatisfiable};
use crate::db::MediaRecord;
use crate::media::StoredName;
use crate::startup::AppState;
use crate::storage::{Blob, BlobBytes, Wanted, modified_time};

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";
const SANDBOX: &str = "default-src 'none'; sandbox";

/// Download a file by its id
///
/// The file's bytes, streamed. Cacheable forever: a stored file never changes.
#[utoipa::path(
    tag = "downloads",
    params(("id" = Uuid, Path, description = "The media id returned by the upload")),
    responses(
        (status = 200, description = "The file's bytes", content((BinaryFile = "image/jpeg"), (BinaryFile = "image/png"), (BinaryFile = "image/gif"), (BinaryFile = "image/webp")), headers(
            ("ETag" = String, description = "`\"<sha1>\"`"),
            ("Last-Modified" = String, description = "The upload time"),
            ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
            ("Accept-Ranges" = String, description = "`bytes`"),
        )),
        (status = 206, description = "One byte range (`Range: bytes=a-b`)", content((BinaryFile = "image/jpeg"), (BinaryFile = "image/png"), (BinaryFile = "image/gif"), (BinaryFile = "image/webp")),
            headers(("Content-Range" = String, description = "`bytes a-b/size`"))),
        (status = 304, description = "`If-None-Match` matched: the cached copy is current"),
        (status = 404, response = inline(NotFound)),
        (status = 416, response = inline(RangeNotSatisfiable)),
        (status = 500, response = inline(Internal)),
    )
)]
#[get("/v1/media/{id}")]
pub async fn get_media(
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
        (status = 404, response = inline(NotFound)),
    )
)]
#[head("/v1/media/{id}")]
pub async fn head_media(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    serve_by_id(&state, &req, &id).await
}

/// Download a file by its stored name
///
/// Needs no database: the name carries the type, the SHA-1 and the upload time. Anything that is
/// not exactly a stored name is `404` before the file system is touched.
#[utoipa::path(
    tag = "downloads",
    params(("name" = String, Path, description = "`<sha1>-<13-digit unix ms>.<jpg|png|gif|webp>`",
        example = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12-1732262400123.jpg")),
    responses(
        (status = 200, description = "The file's bytes, with the same headers as by id", content((BinaryFile = "image/jpeg"), (BinaryFile = "image/png"), (BinaryFile = "image/gif"), (BinaryFile = "image/webp"))),
        (status = 206, description = "One byte range", content((BinaryFile = "image/jpeg"), (BinaryFile = "image/png"), (BinaryFile = "image/gif"), (BinaryFile = "image/webp"))),
        (status = 304, description = "`If-None-Match` matched"),
        (status = 404, response = inline(NotFound)),
        (status = 416, response = inline(RangeNotSatisfiable)),
        (status = 500, response = inline(Internal)),
    )
)]
#[get("/v1/files/{name}")]
pub async fn get_file(
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
        (status = 404, response = inline(NotFound)),
    )
)]
#[head("/v1/files/{name}")]
pub async fn head_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    serve_by_name(&state, &req, &name).await
}

async fn serve_by_id(state: &AppState, req: &HttpRequest, raw_id: &str) -> Result<HttpResponse> {
    let started = std::time::Instant::now();
    let name = stored_name_of(state, raw_id).await?;
    measured("by_id", started, serve(state, req, &name).await)
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
    measured("by_name", started, serve(state, req, &name).await)
}

/// Counts a served file and records the time to its response headers.
fn measured(
    route: &'static str,
    started: std::time::Instant,
    served: Result<HttpResponse>,
) -> Result<HttpResponse> {
    if served.is_ok() {
        ::metrics::counter!(FILES_SERVED, "route" => route).increment(1);
        ::metrics::histogram!(DOWNLOAD_SECONDS, "route" => route)
            .record(started.elapsed().as_secs_f64());
    }
    served
}

/// The record of a file
#[utoipa::path(
    tag = "downloads",
    params(("id" = Uuid, Path, description = "The media id")),
    responses(
        (status = 200, description = "The `Media` record", body = MediaJson),
        (status = 404, response = inline(NotFound)),
        (status = 500, response = inline(Internal)),
    )
)]
#[get("/v1/media/{id}/info")]
pub async fn media_info(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse> {
    let record = find_record(&state, &id).await?;
    Ok(HttpResponse::Ok().json(MediaJson::from(record)))
}

/// The record a path id names; `404` for an unknown id or one that is not a UUID.
async fn find_record(state: &AppState, raw_id: &str) -> Result<MediaRecord> {
    let id = parse_id(raw_id)?;
    state.repo.find(id).await?.ok_or_else(|| no_media(id))
}

/// Ids are UUIDs; anything else cannot name a record, so it is simply not found.
pub fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("no media has that id (ids are UUIDs)"))
}

fn no_media(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no media has the id {id}"))
}

async fn stored_name_of(state: &AppState, raw_id: &str) -> Result<StoredName> {
    let id = parse_id(raw_id)?;
    if let Some(name) = state.stored_names.get(&id) {
        return Ok(name);
    }
    let record = state.repo.find(id).await?.ok_or_else(|| no_media(id))?;
    let name = StoredName::parse(&record.name).map_err(|_| {
        tracing::error!(id = %record.id, name = %record.name, "record holds an invalid stored name");
        no_media(record.id)
    })?;
    state.stored_names.insert(id, name.clone());
    Ok(name)
}

async fn serve(state: &AppState, req: &HttpRequest, name: &StoredName) -> Result<HttpResponse> {
    // A plain GET (most downloads) takes the bytes with the lookup; a HEAD, a revalidation or a
    // range needs the size first.
    let headers = req.headers();
    let plain_get = req.method() == Method::GET
        && ![
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::RANGE,
        ]
        .iter()
        .any(|h| headers.contains_key(h));
    let wanted = if plain_get {
        Wanted::Body
    } else {
        Wanted::Size
    };
    let Some(blob) = state
        .blobs
        .open(name, wanted)
        .await
        .map_err(|e| ApiError::io("opening a stored blob", e))?
    else {
        return Err(ApiError::not_found("no file has that name"));
    };
    let etag = format!("\"{}\"", name.sha1());
    let last_modified = modified_time(name);

    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((
            header::LAST_MODIFIED,
            header::HttpDate::from(last_modified).to_string(),
        ))
        .insert_header((header::CACHE_CONTROL, CACHE_FOREVER))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, SANDBOX));

    if is_not_modified(req, &etag, last_modified) {
        return Ok(response.status(StatusCode::NOT_MODIFIED).finish());
    }

    let (start, len) = match requested_range(req, &etag, blob.len)? {
        Some(range) => {
            response.status(StatusCode::PARTIAL_CONTENT).insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", range.start(), range.end(), blob.len),
            ));
            (*range.start(), range.end() - range.start() + 1)
        }
        None => (0, blob.len),
    };
    response.insert_header((header::CONTENT_TYPE, name.format().mime()));
    body(response, req, blob, start, len).await
}

async fn body(
    mut response: HttpResponseBuilder,
    req: &HttpRequest,
    blob: Blob,
    start: u64,
    len: u64,
) -> Result<HttpResponse> {
    if req.method() == Method::HEAD {
        // actix sends the headers of a sized body and omits the bytes for HEAD.
        let empty = futures_util::stream::empty::<std::io::Result<bytes::Bytes>>();
        return Ok(response.body(SizedStream::new(len, empty)));
    }
    let bytes = blob
        .read(start, len)
        .await
        .map_err(|e| ApiError::io("reading a stored blob", e))?;
    Ok(match bytes {
        BlobBytes::Whole(bytes) => response.body(bytes),
        BlobBytes::Stream(stream) => response.body(SizedStream::new(len, stream)),
    })
}

/// `If-None-Match` wins over `If-Modified-Since` (RFC 9110 §13.2.2).
fn is_not_modified(req: &HttpRequest, etag: &str, last_modified: std::time::SystemTime) -> bool {
    if let Some(inm) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag);
    }
    let since = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<header::HttpDate>().ok());
    match since {
        // HTTP dates have whole seconds; the stored time has milliseconds.
        Some(since) => {
            let since = std::time::SystemTime::from(since);
            last_modified
                .duration_since(since)
                .map(|d| d.as_secs() == 0)
                .unwrap_or(true)
        }
        None => false,
    }
}

/// The single byte range to serve, if the request asks for one we honour. Multiple ranges and
/// unparseable headers are ignored (the whole file is served, as RFC 9110 allows); a range
/// that lies outside the file is `416`.
fn requested_range(
    req: &HttpRequest,
    etag: &str,
    len: u64,
) -> Result<Option<std::ops::RangeInclusive<u64>>> {
    let Some(range) = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    if let Some(if_range) = req.headers().get(header::IF_RANGE)
        && if_range.as_bytes() != etag.as_bytes()
    {
        return Ok(None);
    }
    let Ok(parsed) = http_range_header::parse_range_header(range) else {
        return Ok(None);
    };
    match parsed.validate(len) {
        Ok(ranges) if ranges.len() == 1 => Ok(ranges.into_iter().next()),
        Ok(_) => Ok(None),
        Err(_) => Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            format!("the file has {len} bytes; the requested range lies outside it"),
        )
        .with_header(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
        )),
    }
}
