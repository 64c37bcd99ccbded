//! The closed set of error codes. Each code carries its status, its `code` string, its title
//! and an example, and the same entry both builds errors ([`super::ApiError`]) and documents
//! them in OpenAPI ([`doc`]), so no code string is written twice.

use actix_web::http::StatusCode;
use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{Ref, RefOr};

pub const PROBLEM_JSON: &str = "application/problem+json";

macro_rules! error_codes {
    ($($variant:ident = $status:literal $code:literal $title:literal,
        when $description:literal, e.g. $example:literal;)*) => {
        /// A stable machine code; clients branch on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(Self::$variant),*];

            pub fn status(self) -> StatusCode {
                let status = match self { $(Self::$variant => $status),* };
                StatusCode::from_u16(status).expect("a valid status")
            }

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }

            /// The same for every occurrence of the code (RFC 9457 §3.1.3).
            pub fn title(self) -> &'static str {
                match self { $(Self::$variant => $title),* }
            }

            /// When the code is answered, for the OpenAPI document.
            pub fn description(self) -> &'static str {
                match self { $(Self::$variant => $description),* }
            }

            /// A typical `detail`, for the OpenAPI document.
            pub fn example(self) -> &'static str {
                match self { $(Self::$variant => $example),* }
            }
        }

        /// One OpenAPI response per code, for `response = inline(doc::Name)`.
        pub mod doc {
            $(
                pub struct $variant;
                impl<'r> utoipa::ToResponse<'r> for $variant {
                    fn response() -> (&'r str, utoipa::openapi::RefOr<utoipa::openapi::response::Response>) {
                        (stringify!($variant), super::documented(&[super::ErrorCode::$variant]))
                    }
                }
            )*
            pub use super::together::*;
        }
    };
}

/// A documented response of several codes that share a status on one route.
macro_rules! documented_together {
    ($($name:ident = [$($code:ident),+];)*) => {$(
        pub struct $name;
        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), super::documented(&[$(ErrorCode::$code),+]))
            }
        }
    )*};
}

mod together {
    use super::{ErrorCode, RefOr, Response};

    documented_together! {
        UploadBadRequest = [NoFile, MalformedRequest];
        UploadTooLarge = [FileTooLarge, TooManyFiles];
        UploadUnavailable = [Overloaded, Unavailable];
        VariantUnavailable = [Overloaded, Unavailable];
    }
}

error_codes! {
    MalformedRequest = 400 "malformed_request" "Malformed request",
        when "The request is malformed or breaks a documented rule",
        e.g. "`owner` must be 1 to 200 printable characters";
    NoFile = 400 "no_file" "No file",
        when "No file was sent: no `file` part, a part without a file name, or an empty file",
        e.g. "the request has no `file` part";
    Unauthorized = 401 "unauthorized" "Unauthorized",
        when "The API key is missing or wrong, or (uploads) the upload token is missing, malformed, wrongly signed or expired",
        e.g. "send the API key as `Authorization: Bearer <key>`";
    Forbidden = 403 "forbidden" "Forbidden",
        when "DOWNLOAD_AUTH is signed and the URL's signature is missing, wrong or expired; nothing was read",
        e.g. "the signed URL expired at 1767225600 (unix seconds)";
    OriginNotAllowed = 403 "origin_not_allowed" "Origin not allowed",
        when "A browser page on an origin not in CORS_ALLOWED_ORIGINS tried to write; nothing was read",
        e.g. "pages on https://evil.example may not write here; add it to CORS_ALLOWED_ORIGINS";
    NotFound = 404 "not_found" "Not found",
        when "No such media or file",
        e.g. "no media has the id 0b3c5a4e-5f0e-4a43-9f55-6d0c3f1c2a9e";
    MethodNotAllowed = 405 "method_not_allowed" "Method not allowed",
        when "The resource does not accept this method; `Allow` lists those it does",
        e.g. "this resource accepts POST";
    RequestTimeout = 408 "request_timeout" "Request timeout",
        when "The upload body stalled",
        e.g. "no data arrived for 30s";
    Conflict = 409 "conflict" "Conflict",
        when "An id is mapped to another owner, or was uploaded with a token for another owner; nothing changed",
        e.g. "these ids are mapped to another owner: 0b3c5a4e-5f0e-4a43-9f55-6d0c3f1c2a9e";
    FileTooLarge = 413 "file_too_large" "File too large",
        when "A file crossed MAX_FILE_BYTES, or the upload token's max_file_bytes; nothing was kept",
        e.g. "file 1 (\"big.jpg\"): the file is larger than the limit of 10485760 bytes";
    TooManyFiles = 413 "too_many_files" "Too many files",
        when "More than MAX_FILES_PER_REQUEST files were sent, or more than the upload token's max_files in all; nothing was kept",
        e.g. "at most 10 files may be uploaded in one request";
    UnsupportedMediaType = 415 "unsupported_media_type" "Unsupported media type",
        when "A file's magic bytes are not an allowed image type; nothing was kept",
        e.g. "file 1 (\"x.jpg\"): the file's content is application/pdf, which is not an accepted image type";
    RangeNotSatisfiable = 416 "range_not_satisfiable" "Range not satisfiable",
        when "The range lies outside the file",
        e.g. "the file has 48213 bytes; the requested range lies outside it";
    InvalidImage = 422 "invalid_image" "Invalid image",
        when "A file's header is unreadable or claims more than MAX_IMAGE_PIXELS, or (variants) the stored image does not decode; nothing was kept",
        e.g. "file 1 (\"bomb.png\"): the image is 100000x100000 pixels, more than the limit of 50000000";
    RateLimited = 429 "rate_limited" "Rate limited",
        when "The client address used up its RATE_LIMIT_UPLOADS or RATE_LIMIT_DOWNLOADS; retry after Retry-After seconds",
        e.g. "at most 60/min uploads per client address; retry in 2 s";
    Internal = 500 "internal" "Internal error",
        when "Unexpected failure; logged under the response's X-Request-Id",
        e.g. "an internal error occurred; it has been logged";
    Unavailable = 503 "unavailable" "Unavailable",
        when "The database or the bucket is down or its breaker open (retry after Retry-After seconds), or (protected routes) no MEDIA_API_KEY is configured",
        e.g. "the database is unavailable";
    Overloaded = 503 "overloaded" "Overloaded",
        when "Every upload (or transform) slot stayed busy for UPLOAD_QUEUE_TIMEOUT_SECS; retry after Retry-After seconds",
        e.g. "too many uploads are in progress; retry after the time in Retry-After";
    StorageFull = 507 "storage_full" "Storage full",
        when "The media store is out of space; nothing was kept",
        e.g. "the media store is out of space";
}

impl ErrorCode {
    /// `urn:mediastore:problem:<code>`
    pub fn type_uri(self) -> String {
        format!("urn:mediastore:problem:{}", self.as_str())
    }

    fn example_body(self) -> serde_json::Value {
        json!({
            "type": self.type_uri(),
            "title": self.title(),
            "status": self.status().as_u16(),
            "detail": self.example(),
            "code": self.as_str(),
        })
    }
}

/// A problem+json response documenting `codes` (which share a status), one example each.
fn documented(codes: &[ErrorCode]) -> RefOr<Response> {
    let description = codes
        .iter()
        .map(|code| format!("`{}`: {}", code.as_str(), code.description()))
        .collect::<Vec<_>>()
        .join("; ");
    let mut content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem")));
    content = match codes {
        [code] => content.example(Some(code.example_body())),
        _ => content.examples_from_iter(codes.iter().map(|code| {
            let example = ExampleBuilder::new().value(Some(code.example_body()));
            (code.as_str(), example)
        })),
    };
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content.build())
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_snake_case_and_an_error_status() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} is written twice");
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code:?}"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }
}
