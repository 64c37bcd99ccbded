//! CORS for the platform's pages: browsers on `CORS_ALLOWED_ORIGINS` may upload and read.
//!
//! Only `GET`, `HEAD` and `POST` are allowed, and never the `Authorization` header, so a browser
//! can never call the protected routes (map needs the key; delete is `DELETE`): their preflight
//! fails. The API key stays on the platform's backend. `Upload-Token` is allowed: it is how a
//! form presents the token its backend minted.

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web;

use super::AppState;
use super::access::UPLOAD_TOKEN;
use super::error::ApiError;
use super::problem::ErrorCode;
use super::request_id::X_REQUEST_ID;

pub fn cors(allowed_origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::HEAD, Method::POST])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::RANGE,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::IF_RANGE,
            UPLOAD_TOKEN,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            X_REQUEST_ID,
            header::CONTENT_RANGE,
            header::CONTENT_LENGTH,
            header::ACCEPT_RANGES,
        ])
        .max_age(3600);
    for origin in allowed_origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// CORS alone only hides responses from scripts: a multipart form `POST` is a "simple" request
/// that browsers send without a preflight, so it would still be stored. Writes whose `Origin`
/// is neither configured nor the service's own (Swagger UI) are refused before they are read.
pub async fn refuse_foreign_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let is_write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if is_write
        && let Some(origin) = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
    {
        let state = req
            .app_data::<web::Data<AppState>>()
            .expect("AppState is registered");
        let own = {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        };
        if origin != own
            && !state
                .settings
                .cors_allowed_origins
                .iter()
                .any(|allowed| allowed == origin)
        {
            let error = ApiError::new(
                ErrorCode::OriginNotAllowed,
                format!("pages on {origin} may not write here; add it to CORS_ALLOWED_ORIGINS"),
            );
            return Ok(req.error_response(error).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}
