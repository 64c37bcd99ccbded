//! A stored blob as an HTTP response: the download headers, conditional requests (`304`) and
//! single byte ranges (`206`, `416`), shared by the routes by id and by name.
//!
//! A stored file never changes (its name is its content), so every response may be cached
//! forever and its `ETag` is the SHA-1 in its name.

use std::time::{Duration, SystemTime};

use actix_web::body::SizedStream;
use actix_web::http::header::{
    self, ByteRangeSpec, EntityTag, Header as _, HeaderValue, IfModifiedSince, IfNoneMatch,
    IfRange, Range,
};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};

use super::AppState;
use super::error::{ApiError, Result};
use super::metrics::{DOWNLOAD_SECONDS, FILES_SERVED};
use super::problem::ErrorCode;
use crate::media::StoredName;
use crate::storage::{Blob, BlobBytes, Wanted};

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";
const SANDBOX: &str = "default-src 'none'; sandbox";

/// Which route served a file, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    ById,
    ByName,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Self::ById => "by_id",
            Self::ByName => "by_name",
        }
    }
}

/// The stored blob `name` as the answer to `req` (`GET` or `HEAD`).
pub async fn stored_file(
    state: &AppState,
    req: &HttpRequest,
    name: &StoredName,
    route: Route,
    started: std::time::Instant,
) -> Result<HttpResponse> {
    let served = serve(state, req, name).await;
    if served.is_ok() {
        ::metrics::counter!(FILES_SERVED, "route" => route.label()).increment(1);
        ::metrics::histogram!(DOWNLOAD_SECONDS, "route" => route.label())
            .record(started.elapsed().as_secs_f64());
    }
    served
}

async fn serve(state: &AppState, req: &HttpRequest, name: &StoredName) -> Result<HttpResponse> {
    let wanted = wanted(req);
    let Some(blob) = state
        .blobs
        .open(name, wanted)
        .await
        .map_err(|e| ApiError::storage("opening a stored blob", e))?
    else {
        return Err(ApiError::not_found("no file has that name"));
    };
    let etag = EntityTag::new_strong(name.sha1().to_owned());
    respond(req, blob, etag, modified_time(name), name.format().mime()).await
}

/// What `req` (a plain `GET`, `HEAD`, conditional or ranged) gets of an immutable `blob`.
pub async fn respond(
    req: &HttpRequest,
    blob: Blob,
    etag: EntityTag,
    last_modified: SystemTime,
    content_type: &str,
) -> Result<HttpResponse> {
    let mut response = HttpResponse::Ok();
    response
        .insert_header(header::ETag(etag.clone()))
        .insert_header(header::LastModified(last_modified.into()))
        .insert_header((header::CACHE_CONTROL, CACHE_FOREVER))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, SANDBOX));

    if is_not_modified(req, &etag, last_modified) {
        return Ok(response.status(StatusCode::NOT_MODIFIED).finish());
    }

    let (start, len) = match requested_range(req, &etag, blob.len)? {
        Some((first, last)) => {
            response.status(StatusCode::PARTIAL_CONTENT).insert_header((
                header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{}", blob.len),
            ));
            (first, last - first + 1)
        }
        None => (0, blob.len),
    };
    response.insert_header((header::CONTENT_TYPE, content_type));
    body(response, req, blob, start, len).await
}

/// A plain GET (most downloads) takes the bytes with the lookup; a HEAD, a revalidation or a
/// range needs the size first.
pub fn wanted(req: &HttpRequest) -> Wanted {
    let headers = req.headers();
    let plain_get = req.method() == Method::GET
        && ![
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::RANGE,
        ]
        .iter()
        .any(|h| headers.contains_key(h));
    if plain_get {
        Wanted::Body
    } else {
        Wanted::Size
    }
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
        .map_err(|e| ApiError::storage("reading a stored blob", e))?;
    Ok(match bytes {
        BlobBytes::Whole(bytes) => response.body(bytes),
        BlobBytes::Stream(stream) => response.body(SizedStream::new(len, stream)),
    })
}

/// The upload time in a stored name, as `Last-Modified` gives it.
pub fn modified_time(name: &StoredName) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(name.unix_ms().max(0) as u64)
}

/// `If-None-Match` wins over `If-Modified-Since` (RFC 9110 §13.2.2).
fn is_not_modified(req: &HttpRequest, etag: &EntityTag, last_modified: SystemTime) -> bool {
    if req.headers().contains_key(header::IF_NONE_MATCH) {
        return match IfNoneMatch::parse(req) {
            Ok(IfNoneMatch::Any) => true,
            Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(etag)),
            Err(_) => false,
        };
    }
    match IfModifiedSince::parse(req) {
        // HTTP dates have whole seconds; the stored time has milliseconds.
        Ok(IfModifiedSince(since)) => last_modified
            .duration_since(SystemTime::from(since))
            .map(|newer_by| newer_by.as_secs() == 0)
            .unwrap_or(true),
        Err(_) => false,
    }
}

/// The single byte range to serve, first and last byte, if the request asks for one we
/// honour. Multiple ranges and unparseable headers are ignored (the whole file is served, as
/// RFC 9110 allows), and so is a range whose `If-Range` is not this file's `ETag`; a range
/// that lies outside the file is `416`.
fn requested_range(req: &HttpRequest, etag: &EntityTag, len: u64) -> Result<Option<(u64, u64)>> {
    let Ok(Range::Bytes(specs)) = Range::parse(req) else {
        return Ok(None);
    };
    if req.headers().contains_key(header::IF_RANGE) {
        match IfRange::parse(req) {
            Ok(IfRange::EntityTag(tag)) if tag.strong_eq(etag) => {}
            _ => return Ok(None),
        }
    }
    let [spec] = specs.as_slice() else {
        return Ok(None);
    };
    if let ByteRangeSpec::FromTo(first, last) = spec
        && first > last
    {
        return Ok(None); // not a valid range at all (RFC 9110 §14.1.1)
    }
    match spec.to_satisfiable_range(len) {
        Some(range) => Ok(Some(range)),
        None => Err(ApiError::new(
            ErrorCode::RangeNotSatisfiable,
            format!("the file has {len} bytes; the requested range lies outside it"),
        )
        .with_header(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii"),
        )),
    }
}

/// The download responses in OpenAPI terms, shared by the routes by id and by name.
pub mod doc {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::response::{Response, ResponseBuilder};
    use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, Type};

    use crate::media::{ImageFormat, OutputFormat};

    fn text_header(description: &str) -> utoipa::openapi::header::Header {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(description))
            .build()
    }

    /// The bytes in each stored type, with `headers`.
    fn bytes(description: &str, headers: &[(&str, &str)]) -> RefOr<Response> {
        let types: Vec<&str> = ImageFormat::ALL.iter().map(|f| f.mime()).collect();
        bytes_of(&types, description, headers)
    }

    /// The bytes in each of `types`, with `headers`.
    fn bytes_of(types: &[&str], description: &str, headers: &[(&str, &str)]) -> RefOr<Response> {
        let binary = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
        };
        let mut response = ResponseBuilder::new().description(description);
        for mime in types {
            let content = ContentBuilder::new().schema(Some(binary())).build();
            response = response.content(*mime, content);
        }
        for (name, description) in headers {
            response = response.header(*name, text_header(description));
        }
        response.build().into()
    }

    macro_rules! responses {
        ($($name:ident => $body:expr;)*) => {$(
            pub struct $name;
            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), $body)
                }
            }
        )*};
    }

    responses! {
        FileBytes => bytes("The file's bytes; cacheable forever, since a stored file never changes", &[
            ("ETag", "`\"<sha1>\"`"),
            ("Last-Modified", "The upload time"),
            ("Cache-Control", "`public, max-age=31536000, immutable`"),
            ("Accept-Ranges", "`bytes`"),
        ]);
        VariantBytes => bytes_of(
            &OutputFormat::ALL.map(OutputFormat::mime),
            "The variant's bytes; cacheable forever",
            &[
                ("ETag", "Strong: the same for the same bytes"),
                ("Vary", "`Accept`, when the format was negotiated"),
                ("Cache-Control", "`public, max-age=31536000, immutable`"),
            ],
        );
        FileRange => bytes("One byte range (`Range: bytes=a-b`)", &[
            ("Content-Range", "`bytes a-b/size`"),
        ]);
    }
}
