//! The OpenAPI document. Paths come from the handlers' own `#[utoipa::path]` attributes as they
//! are registered (utoipa-actix-web), so no route can exist undocumented; this module adds what
//! is shared: info, tags, the bearer security scheme and the problem+json error responses.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDocument, PathItem, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::error::{ApiError, PROBLEM_JSON, Problem};

pub const BEARER: &str = "api_key";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mediastore",
        description = "Content-addressed media storage. Browsers upload pictures while a form is \
            being filled in; the platform's backend maps them to their owner on submit; frontends \
            fetch files by id or by stored name. Every error is `application/problem+json` with a \
            stable `code`.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&BearerKey),
    tags(
        (name = "uploads", description = "Browser uploads, while the user fills the form in"),
        (name = "downloads", description = "Fetching files and records; immutable, cacheable forever"),
        (name = "platform", description = "Calls of the platform's backend, with the API key"),
        (name = "operations", description = "Health and readiness probes"),
    )
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "`Authorization: Bearer <MEDIA_API_KEY>`; only the platform's backend has it",
            ))
            .build();
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// A documented problem+json response with an example; used as `response = inline(Name)`.
macro_rules! problem_responses {
    ($($name:ident: $status:literal $code:literal $description:literal $detail:literal;)*) => {$(
        pub struct $name;
        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), problem_response($status, $code, $description, $detail))
            }
        }
    )*};
}

fn problem_response(status: u16, code: &str, description: &str, detail: &str) -> RefOr<Response> {
    let title = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let example = json!({
        "type": format!("urn:mediastore:problem:{code}"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    });
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .example(Some(example))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content)
        .build()
        .into()
}

problem_responses! {
    MalformedRequest: 400 "malformed_request" "The request body is malformed or breaks a rule" "`owner` must be 1 to 200 printable characters";
    NoFile: 400 "no_file" "No file was sent (`no_file`: no `file` part, a part without a file name, an empty file), or the body is not multipart/form-data (`malformed_request`)" "the request has no `file` part";
    OriginNotAllowed: 403 "origin_not_allowed" "A browser page on an origin not in CORS_ALLOWED_ORIGINS tried to write; nothing was read" "pages on https://evil.example may not write here; add it to CORS_ALLOWED_ORIGINS";
    Unauthorized: 401 "unauthorized" "The API key is missing or wrong" "send the API key as `Authorization: Bearer <key>`";
    NotFound: 404 "not_found" "No such media or file" "no media has the id 0b3c5a4e-5f0e-4a43-9f55-6d0c3f1c2a9e";
    RequestTimeout: 408 "request_timeout" "The upload body stalled" "no data arrived for 30s";
    Conflict: 409 "conflict" "An id is mapped to another owner; nothing changed" "these ids are mapped to another owner: 0b3c5a4e-5f0e-4a43-9f55-6d0c3f1c2a9e";
    FileTooLarge: 413 "file_too_large" "A file crossed MAX_FILE_BYTES, or more than MAX_FILES_PER_REQUEST files were sent (`too_many_files`); nothing was kept" "file 1 (\"big.jpg\"): the file is larger than the limit of 10485760 bytes";
    UnsupportedMediaType: 415 "unsupported_media_type" "A file's magic bytes are not an allowed image type; nothing was kept" "file 1 (\"x.jpg\"): the file's content is application/pdf, which is not an accepted image type";
    RangeNotSatisfiable: 416 "range_not_satisfiable" "The range lies outside the file" "the file has 48213 bytes; the requested range lies outside it";
    InvalidImage: 422 "invalid_image" "A file's header is unreadable or claims more than MAX_IMAGE_PIXELS; nothing was kept" "file 1 (\"bomb.png\"): the image is 100000x100000 pixels, more than the limit of 50000000";
    Internal: 500 "internal" "Unexpected failure; logged under the response's X-Request-Id" "an internal error occurred; it has been logged";
    Unavailable: 503 "unavailable" "The database or blob store is unusable, or (protected routes) no MEDIA_API_KEY is configured" "the database is unreachable";
    Overloaded: 503 "overloaded" "Every upload slot stayed busy for UPLOAD_QUEUE_TIMEOUT_SECS; retry after Retry-After seconds" "too many uploads are in progress; retry after the time in Retry-After";
    StorageFull: 507 "storage_full" "The media store is out of space; nothing was kept" "the media store is out of space";
}

/// Every documented path also answers every other method with a 405 problem naming the
/// allowed ones. The paths come from the document itself, so this list cannot drift.
pub fn method_not_allowed_fallbacks(
    api: &OpenApiDocument,
) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let resources: Vec<(String, String)> = api
        .paths
        .paths
        .iter()
        .map(|(path, item)| (path.clone(), allowed_methods(item)))
        .collect();
    move |cfg| {
        for (path, allow) in resources {
            cfg.service(web::resource(path).to(move || {
                let allow = allow.clone();
                async move {
                    let error = ApiError::new(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                        format!("this resource accepts {allow}"),
                    );
                    let allow = HeaderValue::from_str(&allow).expect("method names are ascii");
                    Err::<HttpResponse, _>(error.with_header(header::ALLOW, allow))
                }
            }));
        }
    }
}

fn allowed_methods(item: &PathItem) -> String {
    let operations = [
        ("GET", &item.get),
        ("HEAD", &item.head),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ];
    operations
        .iter()
        .filter(|(_, op)| op.is_some())
        .map(|(method, _)| *method)
        .collect::<Vec<_>>()
        .join(", ")
}
