//! `/v1/media/{id}/variants/{variant}` and `/v1/files/{name}/variants/{variant}`: a resized,
//! re-encoded copy of a stored image, made on first request and kept (SPEC §10).

use std::collections::BTreeMap;

use actix_web::http::header::{self, EntityTag, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, head, web};
use serde::Deserialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::{IntoParams, ToResponse as _};

use super::AppState;
use super::access::DownloadGate;
use super::error::{ApiError, Result};
use super::media::{no_media, parse_id};
use super::problem::{ErrorCode, doc};
use super::serve;
use crate::config::VariantSettings;
use crate::media::{OutputFormat, Recipe, StoredName, negotiate};
use crate::variants::{Target, VariantError};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VariantQuery {
    /// `jpeg`, `png`, `webp`, and `avif` when `VARIANT_AVIF=true`; wins over `Accept`.
    // The document lists the values this instance takes: `document_formats`.
    format: Option<String>,
}

/// The formats this instance makes: AVIF only with `VARIANT_AVIF=true`.
fn offered_formats(settings: &VariantSettings) -> impl Iterator<Item = OutputFormat> + '_ {
    OutputFormat::ALL
        .into_iter()
        .filter(|&f| f != OutputFormat::Avif || settings.avif)
}

/// States in the OpenAPI document the `format` values this instance accepts.
pub fn document_formats(api: &mut utoipa::openapi::OpenApi, settings: &VariantSettings) {
    use utoipa::openapi::{ObjectBuilder, Type};
    let formats: Vec<&str> = offered_formats(settings).map(OutputFormat::name).collect();
    let schema: utoipa::openapi::RefOr<utoipa::openapi::Schema> = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(formats))
        .into();
    let variant_paths = api
        .paths
        .paths
        .iter_mut()
        .filter(|(path, _)| path.contains("/variants/"));
    for (_, item) in variant_paths {
        for operation in [item.get.as_mut(), item.head.as_mut()]
            .into_iter()
            .flatten()
        {
            let parameters = operation.parameters.iter_mut().flatten();
            for parameter in parameters.filter(|p| p.name == "format") {
                parameter.schema = Some(schema.clone());
            }
        }
    }
}

/// What a `GET` of a variant may answer, by id or by name.
struct VariantResponses;

impl utoipa::IntoResponses for VariantResponses {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let not_modified = ResponseBuilder::new().description("`If-None-Match` matched");
        let mut responses = errors();
        responses.extend([
            ("200", serve::doc::VariantBytes::response().1),
            ("206", serve::doc::FileRange::response().1),
            ("304", not_modified.build().into()),
            ("416", doc::RangeNotSatisfiable::response().1),
        ]);
        responses
            .into_iter()
            .map(|(s, r)| (s.to_owned(), r))
            .collect()
    }
}

/// What a `HEAD` of a variant may answer: the errors of `GET`, without their bodies.
struct VariantHeadResponses;

impl utoipa::IntoResponses for VariantHeadResponses {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let headers = ResponseBuilder::new().description("The headers `GET` would send");
        let mut responses = errors();
        responses.push(("200", headers.build().into()));
        responses
            .into_iter()
            .map(|(s, r)| (s.to_owned(), r))
            .collect()
    }
}

fn errors() -> Vec<(&'static str, RefOr<Response>)> {
    vec![
        ("400", doc::MalformedRequest::response().1),
        ("404", doc::NotFound::response().1),
        ("422", doc::InvalidImage::response().1),
        ("500", doc::Internal::response().1),
        ("503", doc::VariantUnavailable::response().1),
    ]
}

/// A variant of a file, by id
///
/// `{variant}` is a preset of `VARIANT_PRESETS` (default `thumb`, `card`, `large`) or `w<N>`
/// for a width of `VARIANT_WIDTHS`. The format is `?format=` if given, else WebP or AVIF when
/// `Accept` names them, else JPEG (PNG for a source with transparency); a negotiated answer
/// carries `Vary: Accept`. Upright, never upscaled, cacheable forever.
#[utoipa::path(
    tag = "downloads",
    params(
        ("id" = Uuid, Path, description = "The media id"),
        ("variant" = String, Path, description = "A preset name or `w<N>`", example = "card"),
        VariantQuery,
    ),
    responses(VariantResponses)
)]
#[get("/v1/media/{id}/variants/{variant}")]
pub async fn get_media_variant(
    _: DownloadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<VariantQuery>,
) -> Result<HttpResponse> {
    by_id(&state, &req, &path, &query).await
}

/// Headers of a variant, by id
#[utoipa::path(
    tag = "downloads",
    params(
        ("id" = Uuid, Path, description = "The media id"),
        ("variant" = String, Path, description = "A preset name or `w<N>`"),
        VariantQuery,
    ),
    responses(VariantHeadResponses)
)]
#[head("/v1/media/{id}/variants/{variant}")]
pub async fn head_media_variant(
    _: DownloadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<VariantQuery>,
) -> Result<HttpResponse> {
    by_id(&state, &req, &path, &query).await
}

/// A variant of a file, by stored name
///
/// As by id, with no database access.
#[utoipa::path(
    tag = "downloads",
    params(
        ("name" = String, Path, description = "The stored name"),
        ("variant" = String, Path, description = "A preset name or `w<N>`", example = "w320"),
        VariantQuery,
    ),
    responses(VariantResponses)
)]
#[get("/v1/files/{name}/variants/{variant}")]
pub async fn get_file_variant(
    _: DownloadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<VariantQuery>,
) -> Result<HttpResponse> {
    by_name(&state, &req, &path, &query).await
}

/// Headers of a variant, by stored name
#[utoipa::path(
    tag = "downloads",
    params(
        ("name" = String, Path, description = "The stored name"),
        ("variant" = String, Path, description = "A preset name or `w<N>`"),
        VariantQuery,
    ),
    responses(VariantHeadResponses)
)]
#[head("/v1/files/{name}/variants/{variant}")]
pub async fn head_file_variant(
    _: DownloadGate,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<VariantQuery>,
) -> Result<HttpResponse> {
    by_name(&state, &req, &path, &query).await
}

async fn by_id(
    state: &AppState,
    req: &HttpRequest,
    (raw_id, variant): &(String, String),
    query: &VariantQuery,
) -> Result<HttpResponse> {
    let id = parse_id(raw_id)?;
    // The request is checked before the database is asked.
    let (recipe, target, negotiated) = requested(state, req, variant, query)?;
    let name = state.repo.name_of(id).await?.ok_or_else(|| no_media(id))?;
    serve_variant(state, req, &name, (variant, &recipe), target, negotiated).await
}

async fn by_name(
    state: &AppState,
    req: &HttpRequest,
    (raw_name, variant): &(String, String),
    query: &VariantQuery,
) -> Result<HttpResponse> {
    let name =
        StoredName::parse(raw_name).map_err(|_| ApiError::not_found("no file has that name"))?;
    let (recipe, target, negotiated) = requested(state, req, variant, query)?;
    serve_variant(state, req, &name, (variant, &recipe), target, negotiated).await
}

/// The recipe `variant` names and the format to answer in; whether it came from `Accept`.
fn requested(
    state: &AppState,
    req: &HttpRequest,
    variant: &str,
    query: &VariantQuery,
) -> Result<(Recipe, Target, bool)> {
    let settings = &state.settings.variants;
    let recipe = Recipe::find(variant, &settings.presets, &settings.widths).ok_or_else(|| {
        ApiError::not_found(format!(
            "no variant is named {variant:?}; see VARIANT_PRESETS and VARIANT_WIDTHS"
        ))
    })?;
    if let Some(raw) = &query.format {
        let format = OutputFormat::parse(raw)
            .filter(|f| offered_formats(settings).any(|offered| offered == *f))
            .ok_or_else(|| {
                let names: Vec<&str> = offered_formats(settings).map(OutputFormat::name).collect();
                ApiError::malformed(format!("format must be one of {}", names.join(", ")))
            })?;
        return Ok((recipe, Target::Exactly(format), false));
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let target = negotiate(accept, settings.avif).map_or(Target::Fallback, Target::Exactly);
    Ok((recipe, target, true))
}

async fn serve_variant(
    state: &AppState,
    req: &HttpRequest,
    source: &StoredName,
    (label, recipe): (&str, &Recipe),
    target: Target,
    negotiated: bool,
) -> Result<HttpResponse> {
    let made = state
        .variants
        .get(source, recipe, label, target, serve::wanted(req))
        .await
        .map_err(variant_error)?;
    let etag = EntityTag::new_strong(made.etag);
    let last_modified = serve::modified_time(source);
    let mut response =
        serve::respond(req, made.blob, etag, last_modified, made.format.mime()).await?;
    if negotiated {
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    Ok(response)
}

fn variant_error(e: VariantError) -> ApiError {
    match e {
        VariantError::SourceMissing => ApiError::not_found("no file has that name"),
        VariantError::Render(e @ crate::variants::render::RenderError::Encode { .. }) => {
            ApiError::internal("encoding a variant", &e)
        }
        VariantError::Render(e) => ApiError::new(ErrorCode::InvalidImage, e.to_string()),
        VariantError::Storage(e) => ApiError::storage("making a variant", e),
        // Only a delete of the source removes a kept variant: the file is gone, not broken.
        VariantError::VanishedAfterWrite => {
            tracing::warn!("a variant was removed as it was made: its file was deleted");
            ApiError::not_found("the file was deleted while its variant was made")
        }
        VariantError::Overloaded(waited) => ApiError::overloaded(
            "every transform slot is busy; retry after the time in Retry-After",
            waited,
        ),
    }
}
