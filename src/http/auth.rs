//! The platform backend's API key: `Authorization: Bearer <MEDIA_API_KEY>`.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest};
use subtle::ConstantTimeEq;

use super::AppState;
use super::audit::Audited;
use super::error::ApiError;
use super::problem::ErrorCode;

/// Proof that the request carries the configured API key. Taking it as a handler argument is
/// what protects a route. With no key configured the route is closed (503), never open.
pub struct ApiKeyAuthorized;

impl FromRequest for ApiKeyAuthorized {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorize(req))
    }
}

fn authorize(req: &HttpRequest) -> Result<ApiKeyAuthorized, ApiError> {
    let state = AppState::of(req);
    let Some(expected) = &state.settings.api_key else {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "this route needs MEDIA_API_KEY, which is not configured on the server",
        ));
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // Constant time, so the key cannot be guessed byte by byte from response times.
    let accepted = presented.is_some_and(|key| bool::from(key.as_bytes().ct_eq(expected.expose())));
    Audited::record(req, "api key", presented, accepted);
    match presented {
        Some(_) if accepted => Ok(ApiKeyAuthorized),
        Some(_) => Err(unauthorized("the API key is wrong")),
        None => Err(unauthorized(
            "send the API key as `Authorization: Bearer <key>`",
        )),
    }
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, detail)
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
}
