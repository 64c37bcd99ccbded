//! The only code that knows actix-web, status codes and multipart. Every route is listed in
//! [`routes`], so a path leads to its handler in one step.

mod auth;
mod download;
pub mod error;
mod health;
mod mapping;
mod media_json;
pub mod request_id;
mod upload;

use actix_web::web;

pub use error::{ApiError, Problem};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/media").route(web::post().to(upload::upload)))
        // Before `/v1/media/{id}`, which would otherwise take "map" for an id.
        .service(web::resource("/v1/media/map").route(web::post().to(mapping::map)))
        .service(
            web::resource("/v1/media/{id}")
                .route(web::get().to(download::by_id))
                .route(web::head().to(download::by_id))
                .route(web::delete().to(mapping::delete)),
        )
        .service(web::resource("/v1/media/{id}/info").route(web::get().to(download::info)))
        .service(
            web::resource("/v1/files/{name}")
                .route(web::get().to(download::by_name))
                .route(web::head().to(download::by_name)),
        )
        .service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)));
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
