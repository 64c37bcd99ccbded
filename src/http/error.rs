//! The one error type of the HTTP layer, answered as `application/problem+json` (RFC 9457)
//! with a stable machine `code`. Internal details go to the log, never to the client.

use std::fmt;

use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::problem::{ErrorCode, PROBLEM_JSON};
use crate::db::DbError;
use crate::ingest::IngestError;
use crate::storage::StorageError;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// The body of every error (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:mediastore:problem:<code>`
    #[serde(rename = "type")]
    pub type_uri: String,
    /// The same for every occurrence of a code.
    pub title: &'static str,
    pub status: u16,
    /// For people: what went wrong, and for which file of a request.
    pub detail: String,
    /// Stable machine code, e.g. `file_too_large`; branch on this.
    pub code: &'static str,
}

#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    /// The code's own status, except for bare errors of other layers (a 411, say).
    status: StatusCode,
    detail: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            status: code.status(),
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Says which part of the request the error is about, e.g. `file 2 ("cake.jpg"): `.
    pub fn prefix_detail(&mut self, prefix: &str) {
        self.detail.insert_str(0, prefix);
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedRequest, detail)
    }

    /// Logs the full error chain and answers with a generic message.
    pub fn internal(context: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %Chain(error), "{context}");
        Self::new(
            ErrorCode::Internal,
            "an internal error occurred; it has been logged",
        )
    }

    pub fn storage(context: &str, error: StorageError) -> Self {
        if let StorageError::Full(e) = &error {
            tracing::error!(error = %e, "{context}: storage full");
            return Self::new(ErrorCode::StorageFull, "the media store is out of space");
        }
        if error.is_unavailable() {
            tracing::warn!(error = %Chain(&error), "{context}: blob store unavailable");
            return Self::unavailable("the blob store is unavailable", error.retry_after());
        }
        Self::internal(context, &error)
    }

    /// `503 unavailable`: a dependency is down; `Retry-After` says when to try again.
    pub fn unavailable(detail: &str, retry_after: std::time::Duration) -> Self {
        Self::new(ErrorCode::Unavailable, detail).with_retry_after(retry_after)
    }

    /// `429 rate_limited`: the client's budget is used up for `wait`.
    pub fn rate_limited(detail: &str, wait: std::time::Duration) -> Self {
        Self::new(ErrorCode::RateLimited, detail).with_retry_after(wait)
    }

    /// `Retry-After` in whole seconds, rounded up, at least 1.
    fn with_retry_after(self, wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        self.with_header(
            header::RETRY_AFTER,
            HeaderValue::from_str(&seconds.to_string()).expect("digits"),
        )
    }

    /// `503 overloaded`: every slot stayed busy for `waited` (the queue timeout); `Retry-After`
    /// says as much, between 1 and 30 seconds.
    pub fn overloaded(detail: &str, waited: std::time::Duration) -> Self {
        let seconds = waited.as_secs().clamp(1, 30);
        Self::new(ErrorCode::Overloaded, detail).with_header(
            header::RETRY_AFTER,
            HeaderValue::from_str(&seconds.to_string()).expect("digits"),
        )
    }

    /// A problem for a response that some other layer (routing, an extractor) produced bare.
    pub fn from_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => (
                ErrorCode::MethodNotAllowed,
                "this resource does not accept that method",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => {
                (ErrorCode::FileTooLarge, "the request body is too large")
            }
            StatusCode::REQUEST_TIMEOUT => (
                ErrorCode::RequestTimeout,
                "the request took too long to arrive",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (ErrorCode::UnsupportedMediaType, "unsupported Content-Type")
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                (ErrorCode::Unavailable, "the service is unavailable")
            }
            s if s.is_client_error() => (
                ErrorCode::MalformedRequest,
                "the request could not be understood",
            ),
            _ => (
                ErrorCode::Internal,
                "an internal error occurred; it has been logged",
            ),
        };
        Self {
            status,
            ..Self::new(code, detail)
        }
    }

    fn problem(&self) -> Problem {
        Problem {
            type_uri: self.code.type_uri(),
            title: self.code.title(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status,
            self.code.as_str(),
            self.detail
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type(PROBLEM_JSON);
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.json(self.problem())
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        let detail = e.to_string();
        match e {
            IngestError::TooLarge { .. } => Self::new(ErrorCode::FileTooLarge, detail),
            IngestError::Empty => Self::new(
                ErrorCode::NoFile,
                format!("{detail}; choose a file to upload"),
            ),
            IngestError::UnsupportedType { .. } => {
                Self::new(ErrorCode::UnsupportedMediaType, detail)
            }
            IngestError::InvalidImage { .. }
            | IngestError::TooManyPixels { .. }
            | IngestError::TooManyFrames { .. } => Self::new(ErrorCode::InvalidImage, detail),
            IngestError::IdleTimeout(_) => Self::new(ErrorCode::RequestTimeout, detail),
            IngestError::Body(_) => Self::malformed(detail),
            IngestError::Storage(e) => Self::storage("storing an upload", e),
            IngestError::Db(e) => e.into(),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %Chain(&e), "database unavailable");
            return Self::unavailable("the database is unavailable", e.retry_after());
        }
        if let DbError::TokenQuota { .. } = e {
            return Self::new(
                ErrorCode::TooManyFiles,
                format!("{e}; nothing of this request was kept"),
            );
        }
        if e.is_conflict() {
            tracing::warn!(error = %Chain(&e), "database refused a conflicting write");
            return Self::new(
                ErrorCode::Conflict,
                "the request conflicts with a stored record; nothing was changed",
            );
        }
        Self::internal("database", &e)
    }
}

/// Rewrites any error response that is not problem+json yet (routing 404/405, actix's own
/// extractor and payload errors) into one, so that every error has the same shape.
pub fn problem_for_bare_errors<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, bare) = res.into_parts();
    let mut problem = ApiError::from_status(status).error_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::CONTENT_RANGE] {
        if let Some(value) = bare.headers().get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    let res = ServiceResponse::new(req, problem).map_into_boxed_body();
    Ok(ErrorHandlerResponse::Response(
        res.map_body(|_, body| EitherBody::right(body)),
    ))
}

/// Prints an error with all its sources, for the log.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
