//! What the platform's backend asks the service to sign (SPEC §12): upload tokens for its
//! forms, and download URLs that expire.

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::auth::ApiKeyAuthorized;
use super::error::{ApiError, Result};
use super::map_request::{MAX_OWNER_CHARS, is_printable};
use super::media::{no_media, parse_id};
use super::media_json::{rfc3339, variant_names};
use super::problem::doc;
use crate::access::{SignedPath, UploadClaims, UploadToken, unix_now};

/// The longest an upload token or a signed URL may live: a week.
const MAX_EXPIRES_IN: u64 = 7 * 24 * 3600;
const DEFAULT_TOKEN_EXPIRES_IN: u64 = 3600;
const DEFAULT_URL_EXPIRES_IN: u64 = 600;
/// The most files one token may store (the schema states it too).
const MAX_TOKEN_FILES: u32 = 10_000;

/// What an upload token allows; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadTokenRequest {
    /// The only owner the token's files may be mapped to (a map to another is `409`).
    #[schema(
        example = "user-42",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    owner_hint: Option<String>,
    /// How many files the token may store, over all its uploads.
    #[schema(example = 10, minimum = 1, maximum = 10000)]
    max_files: Option<u32>,
    /// How large each file may be, at most MAX_FILE_BYTES.
    #[schema(example = 10485760, minimum = 1)]
    max_file_bytes: Option<u64>,
    /// Seconds until the token expires, 1 to 604800; 3600 by default.
    #[schema(example = 3600, minimum = 1, maximum = 604800)]
    expires_in: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadTokenResponse {
    /// Opaque to the browser: send it as `?token=` or `Upload-Token` with each upload.
    token: String,
    #[schema(example = "2026-12-02T12:00:00.000Z")]
    #[serde(serialize_with = "rfc3339")]
    expires_at: DateTime<Utc>,
}

/// Mint an upload token
///
/// Called by the platform's backend when it renders a form, so that the browser may upload
/// while the user fills it in. The token is signed and stateless: nothing is stored until it
/// is used.
#[utoipa::path(
    tag = "platform",
    security(("api_key" = [])),
    request_body(content = Option<UploadTokenRequest>, description = "Limits of the token; \
        an empty body takes the defaults"),
    responses(
        (status = 201, description = "The token", body = UploadTokenResponse),
        (status = 400, response = inline(doc::MalformedRequest)),
        (status = 401, response = inline(doc::Unauthorized)),
        (status = 403, response = inline(doc::OriginNotAllowed)),
        (status = 503, response = inline(doc::Unavailable)),
    )
)]
#[post("/v1/upload-tokens")]
pub async fn create_upload_token(
    _: ApiKeyAuthorized,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let keys = state.access.keys()?;
    let request: UploadTokenRequest = json_or_default(&body)?;
    if let Some(owner) = &request.owner_hint
        && !is_printable(owner, MAX_OWNER_CHARS)
    {
        return Err(ApiError::malformed(format!(
            "`owner_hint` must be 1 to {MAX_OWNER_CHARS} printable characters"
        )));
    }
    if request.max_files == Some(0) || request.max_file_bytes == Some(0) {
        return Err(ApiError::malformed(
            "`max_files` and `max_file_bytes` must be at least 1",
        ));
    }
    if request.max_files.is_some_and(|n| n > MAX_TOKEN_FILES) {
        return Err(ApiError::malformed(format!(
            "`max_files` may be at most {MAX_TOKEN_FILES}"
        )));
    }
    let server_max = state.settings.limits.max_file_bytes;
    if request.max_file_bytes.is_some_and(|max| max > server_max) {
        return Err(ApiError::malformed(format!(
            "`max_file_bytes` may not exceed this server's MAX_FILE_BYTES ({server_max})"
        )));
    }
    let expires_at = expiry(request.expires_in.unwrap_or(DEFAULT_TOKEN_EXPIRES_IN))?;
    let claims = UploadClaims {
        id: Uuid::new_v4(),
        expires_at: expires_at.timestamp(),
        owner_hint: request.owner_hint,
        max_files: request.max_files,
        max_file_bytes: request.max_file_bytes,
    };
    Ok(HttpResponse::Created().json(UploadTokenResponse {
        token: UploadToken::mint(keys, &claims),
        expires_at,
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedUrlsRequest {
    /// Seconds until the URLs expire, 1 to 604800; 600 by default.
    #[schema(example = 600, minimum = 1, maximum = 604800)]
    expires_in: Option<u64>,
}

/// A file's download URLs, signed; the same names as in `Media`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedUrls {
    #[schema(example = "2026-12-02T12:10:00.000Z")]
    #[serde(serialize_with = "rfc3339")]
    expires_at: DateTime<Utc>,
    /// Download by id.
    url: String,
    /// Download by stored name (needs no database: the one to put behind a CDN).
    file_url: String,
    /// Each variant by id.
    variants: std::collections::BTreeMap<String, String>,
    /// Each variant by stored name.
    file_variants: std::collections::BTreeMap<String, String>,
}

/// Sign a file's download URLs
///
/// For `DOWNLOAD_AUTH=signed`: URLs of the original and of each variant, by id and by stored
/// name, that work until `expires_at`. Paths are relative to this service (or the CDN in
/// front of it); the signature is in the query, so a CDN that caches by URL keeps working.
#[utoipa::path(
    tag = "platform",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The media id")),
    request_body(content = Option<SignedUrlsRequest>, description = "An empty body takes \
        the default expiry"),
    responses(
        (status = 200, description = "The signed URLs", body = SignedUrls),
        (status = 400, response = inline(doc::MalformedRequest)),
        (status = 401, response = inline(doc::Unauthorized)),
        (status = 403, response = inline(doc::OriginNotAllowed)),
        (status = 404, response = inline(doc::NotFound)),
        (status = 500, response = inline(doc::Internal)),
        (status = 503, response = inline(doc::Unavailable)),
    )
)]
#[post("/v1/media/{id}/signed-urls")]
pub async fn create_signed_urls(
    _: ApiKeyAuthorized,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let keys = state.access.keys()?;
    let request: SignedUrlsRequest = json_or_default(&body)?;
    let expires_at = expiry(request.expires_in.unwrap_or(DEFAULT_URL_EXPIRES_IN))?;
    let id = parse_id(&id)?;
    let name = state.repo.name_of(id).await?.ok_or_else(|| no_media(id))?;
    let expires = expires_at.timestamp();
    let sign = |path: String| {
        SignedPath {
            path: &path,
            expires,
        }
        .signed_url(keys)
    };
    let (by_id, by_name) = (format!("/v1/media/{id}"), format!("/v1/files/{name}"));
    let variants = variant_names(&state.settings.variants);
    Ok(HttpResponse::Ok().json(SignedUrls {
        expires_at,
        url: sign(by_id.clone()),
        file_url: sign(by_name.clone()),
        variants: variants
            .clone()
            .map(|v| (v.clone(), sign(format!("{by_id}/variants/{v}"))))
            .collect(),
        file_variants: variants
            .map(|v| (v.clone(), sign(format!("{by_name}/variants/{v}"))))
            .collect(),
    }))
}

/// An empty body is the defaults; anything else must be the JSON object.
pub(super) fn json_or_default<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    let malformed =
        |e: serde_json::Error| ApiError::malformed(format!("the body is not valid: {e}"));
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // `null` is what a JSON client sends for "no body" (the body is optional).
    match serde_json::from_slice::<serde_json::Value>(body).map_err(malformed)? {
        serde_json::Value::Null => Ok(T::default()),
        // serde would read a struct from an array of its fields' values as well.
        value if !value.is_object() => Err(ApiError::malformed(
            "the body is not valid: it must be a JSON object",
        )),
        mut value => {
            // JSON Schema counts `600.0` as an integer, so it is taken as one.
            if let Some(fields) = value.as_object_mut() {
                for field in fields.values_mut() {
                    if let Some(n) = field.as_f64().filter(|n| n.fract() == 0.0 && *n >= 0.0)
                        && !field.is_u64()
                        && n <= u64::MAX as f64
                    {
                        *field = serde_json::Value::from(n as u64);
                    }
                }
            }
            serde_json::from_value(value).map_err(malformed)
        }
    }
}

fn expiry(expires_in: u64) -> Result<DateTime<Utc>> {
    if !(1..=MAX_EXPIRES_IN).contains(&expires_in) {
        return Err(ApiError::malformed(format!(
            "`expires_in` must be 1 to {MAX_EXPIRES_IN} seconds"
        )));
    }
    let at = unix_now() + expires_in as i64;
    Ok(DateTime::from_timestamp(at, 0).expect("a week from now is a valid time"))
}

/// States this instance's MAX_FILE_BYTES as the most a token's `max_file_bytes` may be.
pub fn document_limits(api: &mut utoipa::openapi::OpenApi, max_file_bytes: u64) {
    use utoipa::openapi::{RefOr, Schema};
    let Some(components) = api.components.as_mut() else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(request))) =
        components.schemas.get_mut("UploadTokenRequest")
        && let Some(RefOr::T(Schema::Object(field))) = request.properties.get_mut("max_file_bytes")
    {
        field.maximum = Some((max_file_bytes as f64).into());
    }
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema as _;

    use super::super::map_request::PRINTABLE;
    use super::*;

    #[test]
    fn the_owner_hint_pattern_is_the_owner_rule() {
        let schema = serde_json::to_value(UploadTokenRequest::schema()).unwrap();
        assert_eq!(schema["properties"]["owner_hint"]["pattern"], PRINTABLE);
        assert_eq!(
            schema["properties"]["owner_hint"]["maxLength"],
            MAX_OWNER_CHARS
        );
        assert_eq!(
            schema["properties"]["expires_in"]["maximum"],
            MAX_EXPIRES_IN
        );
    }
}
