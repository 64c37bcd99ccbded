//! The goose scenarios: seed, upload, download-by-id, download-by-name, mixed.

use crate::images::TestImage;
use crate::stats;
use goose::prelude::*;
use reqwest::multipart::{Form, Part};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Images the upload scenarios send (seed: the whole 96 KB–2.6 MB pool; upload: one 1.3 MB).
pub static POOL: OnceLock<Vec<TestImage>> = OnceLock::new();
/// The stored file the download scenarios fetch: (id, name).
pub static TARGET: OnceLock<(String, String)> = OnceLock::new();
/// Bearer key of `POST /v1/media/map`.
pub static API_KEY: OnceLock<String> = OnceLock::new();

static NEXT_IMAGE: AtomicUsize = AtomicUsize::new(0);

fn next_image() -> &'static TestImage {
    let pool = POOL.get().expect("image pool set before the load test");
    &pool[NEXT_IMAGE.fetch_add(1, Ordering::Relaxed) % pool.len()]
}

fn outcome(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() { "timeout" } else { "error" }
}

/// A multipart form with one `file` part per image, the bytes shared, not copied.
pub fn form(images: &[&TestImage]) -> Form {
    images.iter().fold(Form::new(), |form, img| {
        let part = Part::stream_with_length(img.bytes.clone(), img.bytes.len() as u64)
            .file_name(img.file_name.clone())
            .mime_str(img.mime())
            .expect("valid mime type");
        form.part("file", part)
    })
}

/// `(id, name)` of each file in a `201` answer of `POST /v1/media`.
pub fn stored(body: &[u8]) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    v["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .filter_map(|f| {
                    Some((
                        f["id"].as_str()?.to_string(),
                        f["name"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /v1/media` with `images` as `file` parts; the stored files on `201`.
async fn upload(
    user: &mut GooseUser,
    images: &[&TestImage],
) -> Result<Vec<(String, String)>, Box<TransactionError>> {
    let size: u64 = images.iter().map(|i| i.bytes.len() as u64).sum();
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/v1/media")?
        .multipart(form(images));
    let request = GooseRequest::builder()
        .name("POST /v1/media")
        .set_request_builder(builder)
        .expect_status_code(201)
        .build();
    let t = stats::start();
    let goose = user.request(request).await?;
    match goose.response {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(body) if status == 201 => {
                    stats::record(t, "201", size, body.len() as u64, size);
                    Ok(stored(&body))
                }
                Ok(body) => {
                    stats::record(t, &status.to_string(), size, body.len() as u64, 0);
                    Ok(Vec::new())
                }
                Err(e) => {
                    stats::record(t, outcome(&e), size, 0, 0);
                    Ok(Vec::new())
                }
            }
        }
        Err(e) => {
            stats::record(t, outcome(&e), 0, 0, 0);
            Ok(Vec::new())
        }
    }
}

/// `GET path`, reading the whole body.
async fn fetch(user: &mut GooseUser, path: &str, name: &str) -> TransactionResult {
    let request = GooseRequest::builder()
        .path(path)
        .name(name)
        .expect_status_code(200)
        .build();
    let t = stats::start();
    let goose = user.request(request).await?;
    match goose.response {
        Ok(resp) => {
            let status = resp.status().as_u16().to_string();
            match resp.bytes().await {
                Ok(body) => stats::record(t, &status, 0, body.len() as u64, 0),
                Err(e) => stats::record(t, outcome(&e), 0, 0, 0),
            }
        }
        Err(e) => stats::record(t, outcome(&e), 0, 0, 0),
    }
    Ok(())
}

/// seed: one upload of the next image of the pool (run with `--iterations 1`).
pub async fn seed_upload(user: &mut GooseUser) -> TransactionResult {
    let img = next_image();
    upload(user, &[img]).await?;
    Ok(())
}

/// download-by-id: the target file through the record.
pub async fn download_by_id(user: &mut GooseUser) -> TransactionResult {
    let (id, _) = TARGET.get().expect("target uploaded before the load test");
    fetch(user, &format!("/v1/media/{id}"), "GET /v1/media/{id}").await
}

/// download-by-name: the target file by stored name.
pub async fn download_by_name(user: &mut GooseUser) -> TransactionResult {
    let (_, name) = TARGET.get().expect("target uploaded before the load test");
    fetch(user, &format!("/v1/files/{name}"), "GET /v1/files/{name}").await
}

/// mixed: the form flow. Upload 1–3 files one by one (as a form does while it is filled
/// in), map them to `load-user-N`, then fetch each by id and by name.
pub async fn mixed_flow(user: &mut GooseUser) -> TransactionResult {
    let n = 1 + NEXT_IMAGE.load(Ordering::Relaxed) % 3;
    let mut files = Vec::new();
    for _ in 0..n {
        let img = next_image();
        files.extend(upload(user, &[img]).await?);
    }
    if files.is_empty() {
        return Ok(());
    }
    let body = serde_json::json!({
        "owner": format!("load-user-{}", user.weighted_users_index),
        "files": files.iter().map(|(id, _)| serde_json::json!({"id": id, "tags": ["load"]})).collect::<Vec<_>>(),
    });
    let key = API_KEY.get().map(String::as_str).unwrap_or("");
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/v1/media/map")?
        .bearer_auth(key)
        .json(&body);
    let request = GooseRequest::builder()
        .name("POST /v1/media/map")
        .set_request_builder(builder)
        .expect_status_code(200)
        .build();
    let t = stats::start();
    let goose = user.request(request).await?;
    match goose.response {
        Ok(resp) => {
            let status = resp.status().as_u16().to_string();
            let len = resp.bytes().await.map_or(0, |b| b.len() as u64);
            stats::record(t, &status, 0, len, 0);
        }
        Err(e) => stats::record(t, outcome(&e), 0, 0, 0),
    }
    for (id, name) in &files {
        fetch(user, &format!("/v1/media/{id}"), "GET /v1/media/{id}").await?;
        fetch(user, &format!("/v1/files/{name}"), "GET /v1/files/{name}").await?;
    }
    Ok(())
}
