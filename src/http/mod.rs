//! The only code that knows actix-web, status codes and multipart. Every route is listed in
//! [`routes`], so a path leads to its handler in one step.

mod auth;
pub mod cors;
mod download;
pub mod error;
mod health;
mod mapping;
mod media_json;
pub mod metrics;
pub mod name_cache;
pub mod openapi;
pub mod request_id;
mod upload;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, Problem};

/// Every route of the API. Each handler carries its own OpenAPI operation, collected as it is
/// registered here.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upload::upload)
        .service(mapping::map)
        .service(download::get_media)
        .service(download::head_media)
        .service(mapping::delete_media)
        .service(download::media_info)
        .service(download::get_file)
        .service(download::head_file)
        .service(health::healthz)
        .service(health::readyz)
        .service(metrics::prometheus_metrics);
}

/// [`routes`] on a plain actix-web app.
pub fn routes_as_actix(cfg: &mut web::ServiceConfig) {
    routes(&mut ServiceConfig::new(cfg));
}

/// `GET /openapi.json` and Swagger UI at `/docs/` (bundled in the binary; works offline).
pub fn docs(api: utoipa::openapi::OpenApi) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.service(web::resource("/docs").route(web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        })))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api));
    }
}

/// The OpenAPI document of [`routes`].
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;
    use utoipa_actix_web::AppExt as _;
    actix_web::App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1
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
