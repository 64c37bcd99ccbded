//! Entry points for the fuzz targets of `fuzz/`, compiled only with `--cfg fuzzing` (which
//! `cargo fuzz` sets): thin wrappers that reach the private HTTP code the way its handlers do,
//! so what is fuzzed is the code that runs, not a copy of it.

use std::path::Path;

use actix_web::error::PayloadError;
use actix_web::http::header::EntityTag;
use actix_web::{FromRequest as _, HttpRequest, HttpResponse, ResponseError as _, dev, web};
use bytes::Bytes;

use super::map_request::MapRequest;
use super::signing::{SignedUrlsRequest, UploadTokenRequest};
use super::{ApiError, AppState};
use crate::config::{Limits, Settings, StorageSettings};
use crate::ingest::Received;
use crate::media::{MapItem, StoredName};
use crate::storage::BlobStore;

/// A download of the stored blob `name` from `blobs`, as `GET`/`HEAD /v1/files/{name}` answers
/// `req` (its method and its `Range`, `If-None-Match`, `If-Modified-Since` and `If-Range`
/// headers): the store lookup and `serve::respond`, as `serve::serve` calls them. An error is
/// answered as the handler's error would be.
pub async fn download(blobs: &BlobStore, req: &HttpRequest, name: &StoredName) -> HttpResponse {
    let blob = match blobs.open(name, super::serve::wanted(req)).await {
        Ok(Some(blob)) => blob,
        Ok(None) => return ApiError::not_found("no file has that name").error_response(),
        Err(e) => return ApiError::storage("opening a stored blob", e).error_response(),
    };
    let etag = EntityTag::new_strong(name.sha1().to_owned());
    let modified = super::serve::modified_time(name);
    super::serve::respond(req, blob, etag, modified, name.format().mime())
        .await
        .unwrap_or_else(|e| e.error_response())
}

/// The upload handler's body reader, `upload_form::receive_files`, on an app state whose store
/// is a directory and whose database is an in-memory SQLite (which the reader never uses).
pub struct Uploads {
    state: AppState,
}

impl Uploads {
    /// Stores blobs under `upload_dir` (a tmpfs keeps the fuzzer off the disk).
    pub async fn new(upload_dir: &Path) -> Self {
        let settings = Settings {
            storage: StorageSettings::fs(upload_dir),
            database_url: "sqlite::memory:".into(),
            ..Settings::default()
        };
        let repo = crate::db::connect(&settings.database_url, 1)
            .await
            .expect("an in-memory SQLite opens");
        let blobs = BlobStore::new(&settings.storage).expect("a directory store");
        blobs
            .prepare()
            .await
            .expect("the upload directory is usable");
        Self {
            state: AppState::new(settings, repo, blobs),
        }
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.state.blobs
    }

    /// Every `file` part of a `POST /v1/media` whose `Content-Type` is `content_type` and
    /// whose body arrives as `chunks`, under `limits`; or the error the handler answers.
    pub async fn receive_files(
        &self,
        limits: &Limits,
        content_type: &str,
        chunks: Vec<Bytes>,
    ) -> Result<Vec<Received>, ApiError> {
        let (req, _) = actix_web::test::TestRequest::post()
            .uri("/v1/media")
            .insert_header((actix_web::http::header::CONTENT_TYPE, content_type))
            .to_http_parts();
        let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, PayloadError>));
        let mut payload: dev::Payload = dev::Payload::Stream {
            payload: Box::pin(stream),
        };
        let payload = web::Payload::from_request(&req, &mut payload)
            .await
            .expect("a payload is always extracted");
        super::upload_form::receive_files(&self.state, limits, &req, payload).await
    }
}

/// The body of `POST /v1/media/map` as the handler reads it: `None` when it is not the JSON
/// of a `MapRequest` (`400`), else the owner and items once the rules are checked.
pub fn map_request(json: &[u8]) -> Option<Result<(String, Vec<MapItem>), ApiError>> {
    let request: MapRequest = serde_json::from_slice(json).ok()?;
    Some(request.validated())
}

/// The bodies of `POST /v1/upload-tokens` and `POST /v1/media/{id}/signed-urls` as their
/// handlers read them (`json_or_default`; the checks of the values that follow need the app
/// state); `Debug` of what was read.
pub fn signing_requests(json: &[u8]) -> (Option<String>, Option<String>) {
    let token = super::signing::json_or_default::<UploadTokenRequest>(json).ok();
    let urls = super::signing::json_or_default::<SignedUrlsRequest>(json).ok();
    (
        token.map(|t| format!("{t:?}")),
        urls.map(|u| format!("{u:?}")),
    )
}
