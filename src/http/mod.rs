//! The only code that knows actix-web, status codes, multipart and utoipa. One file per
//! resource (`media`, `files`, `ops`), and every route listed in [`routes`], so a path leads to
//! its handler in one step.

mod access;
mod audit;
mod auth;
pub mod cors;
pub mod error;
mod files;
#[cfg(fuzzing)]
pub mod fuzzing;
mod map_request;
mod media;
pub mod media_json;
pub mod metrics;
pub mod openapi;
mod ops;
pub mod problem;
pub mod request_id;
mod serve;
mod signing;
mod state;
mod upload_form;
mod variants;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::config::{AccessSettings, Limits, VariantSettings};

pub use error::{ApiError, Problem};
pub use ops::docs;
pub use problem::ErrorCode;
pub use state::AppState;

/// Every route of the API, as the URL tree. Each handler carries its own OpenAPI operation,
/// collected as it is registered here.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(media::upload) //                  POST   /v1/media
        .service(media::map) //                    POST   /v1/media/map
        .service(media::get_media) //              GET    /v1/media/{id}
        .service(media::head_media) //             HEAD   /v1/media/{id}
        .service(media::delete_media) //           DELETE /v1/media/{id}
        .service(media::media_info) //             GET    /v1/media/{id}/info
        .service(signing::create_signed_urls) //   POST   /v1/media/{id}/signed-urls
        .service(signing::create_upload_token) //  POST   /v1/upload-tokens
        .service(variants::get_media_variant) //   GET    /v1/media/{id}/variants/{variant}
        .service(variants::head_media_variant) //  HEAD   /v1/media/{id}/variants/{variant}
        .service(files::get_file) //               GET    /v1/files/{name}
        .service(files::head_file) //              HEAD   /v1/files/{name}
        .service(variants::get_file_variant) //    GET    /v1/files/{name}/variants/{variant}
        .service(variants::head_file_variant) //   HEAD   /v1/files/{name}/variants/{variant}
        .service(ops::healthz) //                  GET    /healthz
        .service(ops::readyz) //                   GET    /readyz
        .service(ops::prometheus_metrics); //      GET    /metrics
    // GET /openapi.json and /docs/ are served by [`docs`], beside the routes.
}

/// [`routes`] on a plain actix-web app.
pub fn routes_as_actix(cfg: &mut web::ServiceConfig) {
    routes(&mut ServiceConfig::new(cfg));
}

/// The OpenAPI document of [`routes`], stating the upload limits this instance enforces and the
/// variant formats it makes.
pub fn openapi_document(
    limits: &Limits,
    variants: &VariantSettings,
    access: &AccessSettings,
) -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;
    use utoipa_actix_web::AppExt as _;
    let mut api = actix_web::App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1;
    upload_form::document_limits(&mut api, limits);
    variants::document_formats(&mut api, variants);
    if access.download_auth == crate::config::DownloadAuth::Signed {
        access::document_download_gate(&mut api);
    }
    signing::document_limits(&mut api, limits.max_file_bytes);
    api
}

/// Extractor errors answer problem+json with the extractor's own explanation.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default().error_handler(|e, _| ApiError::malformed(e.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default().error_handler(|e, _| ApiError::not_found(e.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default().error_handler(|e, _| ApiError::malformed(e.to_string()).into()),
    );
}
