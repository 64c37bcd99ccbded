//! The gates in front of uploads and downloads (SPEC §12), as extractors: a handler that takes
//! one is protected by it, and the check runs before the handler touches the body, the store
//! or the database.
//!
//! - [`UploadGate`]: the client's upload budget, then the upload token (required when
//!   `UPLOAD_AUTH=token`; checked whenever one is sent);
//! - [`DownloadGate`]: the client's download budget, then the URL's signature when
//!   `DOWNLOAD_AUTH=signed`.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpRequest, web};
use ipnet::IpNet;

use super::AppState;
use super::audit::Audited;
use super::error::{ApiError, Result};
use super::problem::ErrorCode;
use crate::access::{
    ClientAddr, RateLimiter, SignatureError, SigningKeys, UploadClaims, UploadToken, client_addr,
    signature,
};
use crate::config::{DownloadAuth, Settings, UploadAuth};

pub const UPLOAD_TOKEN: HeaderName = HeaderName::from_static("upload-token");

/// What the gates need, built once from the settings.
pub struct Access {
    pub keys: Option<SigningKeys>,
    pub upload_auth: UploadAuth,
    pub download_auth: DownloadAuth,
    uploads: Option<RateLimiter>,
    downloads: Option<RateLimiter>,
    trusted_proxies: Vec<IpNet>,
}

impl Access {
    pub fn new(settings: &Settings) -> Self {
        let access = &settings.access;
        Self {
            keys: access.keys(),
            upload_auth: settings.upload_auth(),
            download_auth: access.download_auth,
            uploads: access.rate_limit_uploads.map(RateLimiter::new),
            downloads: access.rate_limit_downloads.map(RateLimiter::new),
            trusted_proxies: access.trusted_proxies.clone(),
        }
    }

    /// The keys, or `503` naming the setting: a route that signs cannot work without them.
    pub fn keys(&self) -> Result<&SigningKeys> {
        self.keys.as_ref().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unavailable,
                "this route needs SIGNING_KEYS, which is not configured on the server",
            )
        })
    }

    fn client(&self, req: &HttpRequest) -> ClientAddr {
        let peer = req
            .peer_addr()
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |addr| addr.ip());
        let forwarded_for = forwarded_for(req);
        ClientAddr::new(client_addr(
            peer,
            forwarded_for.as_deref(),
            &self.trusted_proxies,
        ))
    }
}

/// Every `X-Forwarded-For` header, in order, as one list.
fn forwarded_for(req: &HttpRequest) -> Option<String> {
    let mut values = req
        .headers()
        .get_all(header::X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .peekable();
    values.peek()?;
    Some(values.collect::<Vec<_>>().join(","))
}

/// Takes one request from the client's budget. The client's address is only worked out when
/// there is a budget: a download without rate limits does not read `X-Forwarded-For`.
fn spend(
    access: &Access,
    limiter: Option<&RateLimiter>,
    req: &HttpRequest,
    what: &str,
) -> Result<()> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check(access.client(req)).map_err(|wait| {
        ::metrics::counter!(super::metrics::RATE_LIMITED, "route" => what.to_owned()).increment(1);
        ApiError::rate_limited(
            &format!(
                "at most {} {what} per client address; retry in {} s",
                limiter.limit(),
                wait.as_secs_f64().ceil().max(1.0)
            ),
            wait,
        )
    })
}

/// An upload allowed in: the token's claims when one was sent.
pub struct UploadGate {
    pub token: Option<UploadClaims>,
}

impl FromRequest for UploadGate {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(admit_upload(req))
    }
}

fn admit_upload(req: &HttpRequest) -> Result<UploadGate> {
    let access = &AppState::of(req).access;
    spend(access, access.uploads.as_ref(), req, "uploads")?;
    let Some(text) = token_of(req) else {
        return match access.upload_auth {
            UploadAuth::Open => Ok(UploadGate { token: None }),
            UploadAuth::Token => Err({
                Audited::record(req, "upload token", None, false);
                unauthorized(
                    "uploads need a token from POST /v1/upload-tokens, as `?token=` or the \
                 `Upload-Token` header",
                )
            }),
        };
    };
    let Some(keys) = access.keys.as_ref() else {
        Audited::record(req, "upload token", Some(&text), false);
        return Err(unauthorized(
            "this server has no SIGNING_KEYS, so it cannot check upload tokens",
        ));
    };
    let verified = UploadToken::verify(keys, &text);
    Audited::record(req, "upload token", Some(&text), verified.is_ok());
    match verified {
        Ok(token) => Ok(UploadGate {
            token: Some(token.claims),
        }),
        Err(e) => Err(unauthorized(&e.to_string())),
    }
}

/// `Upload-Token:` or `?token=`.
fn token_of(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req.headers().get(UPLOAD_TOKEN) {
        return Some(value.to_str().unwrap_or_default().trim().to_owned());
    }
    web::Query::<TokenQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().token)
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, detail).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Upload-Token"),
    )
}

/// A download allowed through.
pub struct DownloadGate;

impl FromRequest for DownloadGate {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(admit_download(req))
    }
}

fn admit_download(req: &HttpRequest) -> Result<DownloadGate> {
    let access = &AppState::of(req).access;
    spend(access, access.downloads.as_ref(), req, "downloads")?;
    if access.download_auth == DownloadAuth::Public {
        return Ok(DownloadGate);
    }
    let keys = access.keys()?;
    let query = web::Query::<SignatureQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    signature::verify(
        keys,
        req.path(),
        query.expires.as_deref(),
        query.signature.as_deref(),
    )
    .map_err(|e: SignatureError| ApiError::new(ErrorCode::Forbidden, e.to_string()))?;
    Ok(DownloadGate)
}

#[derive(Default, serde::Deserialize)]
struct SignatureQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// States the download gate in the document (when DOWNLOAD_AUTH is signed; public downloads
/// ignore the parameters): every download operation (by id, by name,
/// variants) takes `expires` and `signature`, and may answer `403` and `429`.
pub fn document_download_gate(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::ToResponse as _;
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};

    let parameter = |name: &str, schema: ObjectBuilder, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .schema(Some(schema))
            .description(Some(description))
            .build()
    };
    let expires = parameter(
        "expires",
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0)),
        "Unix seconds until which the signature holds; required when DOWNLOAD_AUTH is signed",
    );
    let signature = parameter(
        "signature",
        ObjectBuilder::new().schema_type(Type::String),
        "base64url HMAC-SHA256 of the path and `expires`, from \
         `POST /v1/media/{id}/signed-urls`; required when DOWNLOAD_AUTH is signed",
    );
    let downloads = api.paths.paths.iter_mut().filter(|(path, _)| {
        path.as_str() == "/v1/media/{id}"
            || path.starts_with("/v1/files/")
            || path.contains("/variants/")
    });
    for (_, item) in downloads {
        for operation in [item.get.as_mut(), item.head.as_mut()]
            .into_iter()
            .flatten()
        {
            let parameters = operation.parameters.get_or_insert_with(Vec::new);
            parameters.extend([expires.clone(), signature.clone()]);
            let responses = &mut operation.responses.responses;
            responses.insert("403".into(), super::problem::doc::Forbidden::response().1);
            responses.insert("429".into(), super::problem::doc::RateLimited::response().1);
        }
    }
}
