//! The OpenAPI document. Paths come from the handlers' own `#[utoipa::path]` attributes as they
//! are registered (utoipa-actix-web), so no route can exist undocumented; this module adds what
//! is shared: info, tags, the bearer security scheme and the problem+json error responses.

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, guard, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDocument, PathItem};
use utoipa::{Modify, OpenApi};

use super::error::{ApiError, Problem};
use super::map_request::MapFile;
use super::problem::ErrorCode;

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
    components(schemas(Problem, MapFile)),
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

/// Which documented paths [`method_not_allowed_fallbacks`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paths {
    /// Paths without parameters, registered before the routes: so `GET /v1/media/map` is a
    /// 405 rather than a lookup of an id called `map`.
    Fixed,
    /// Paths with parameters, registered after the routes.
    WithParameters,
}

/// Every documented path also answers every other method with a 405 problem naming the
/// allowed ones. The paths come from the document itself, so this list cannot drift. Each
/// answers only the methods its path does not take, so it never hides a route.
pub fn method_not_allowed_fallbacks(
    api: &OpenApiDocument,
    paths: Paths,
) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let resources: Vec<(String, Vec<Method>)> = api
        .paths
        .paths
        .iter()
        .filter(|(path, _)| path.contains('{') == (paths == Paths::WithParameters))
        .map(|(path, item)| (path.clone(), allowed_methods(item)))
        .collect();
    move |cfg| {
        for (path, allowed) in resources {
            let allow = allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let others = allowed.clone();
            let not_allowed = guard::fn_guard(move |ctx| !others.contains(&ctx.head().method));
            cfg.service(web::resource(path).guard(not_allowed).to(move || {
                let allow = allow.clone();
                async move {
                    let error = ApiError::new(
                        ErrorCode::MethodNotAllowed,
                        format!("this resource accepts {allow}"),
                    );
                    let allow = HeaderValue::from_str(&allow).expect("method names are ascii");
                    Err::<HttpResponse, _>(error.with_header(header::ALLOW, allow))
                }
            }));
        }
    }
}

fn allowed_methods(item: &PathItem) -> Vec<Method> {
    let operations = [
        (Method::GET, &item.get),
        (Method::HEAD, &item.head),
        (Method::POST, &item.post),
        (Method::PUT, &item.put),
        (Method::PATCH, &item.patch),
        (Method::DELETE, &item.delete),
    ];
    operations
        .into_iter()
        .filter(|(_, op)| op.is_some())
        .map(|(method, _)| method)
        .collect()
}
