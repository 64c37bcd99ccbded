use serde_json::Value;

use crate::helpers::{Db, TestApp, assert_problem, paths, spawn_app};
use crate::images;
use crate::on_both_databases;

on_both_databases!(
    both_routes_return_identical_bytes_with_every_header,
    head_answers_headers_without_a_body,
    a_matching_if_none_match_answers_304,
    a_single_range_answers_206,
    a_range_outside_the_file_answers_416,
    info_returns_the_record,
    an_unknown_id_is_404,
    a_bad_uuid_is_404,
    path_traversal_attempts_are_404_and_touch_nothing,
    a_large_file_streams_whole_and_in_ranges,
);

/// Larger than the size read in one go (256 KiB), so the chunked stream serves it.
async fn a_large_file_streams_whole_and_in_ranges(db: Db) {
    let app = spawn_app(db).await;
    let mut bytes = images::png_of_exactly(700 * 1024);
    for (i, b) in bytes.iter_mut().enumerate().skip(1024) {
        *b = (i % 251) as u8; // distinct bytes after the image, so misplaced chunks show
    }
    let media = app.upload_ok(bytes.clone(), "large.png").await;
    for path in paths(&media) {
        let whole = app.get(&path).await;
        assert_eq!(
            whole.headers()["content-length"],
            bytes.len().to_string().as_str()
        );
        assert_eq!(
            whole.bytes().await.unwrap().as_ref(),
            bytes.as_slice(),
            "{path}"
        );
        let range = app
            .client
            .get(app.url(&path))
            .header("range", "bytes=300000-650000")
            .send()
            .await
            .unwrap();
        assert_eq!(range.status(), 206);
        assert_eq!(
            range.bytes().await.unwrap().as_ref(),
            &bytes[300_000..=650_000],
            "{path}"
        );
    }
}

async fn uploaded(app: &TestApp) -> (Vec<u8>, Value) {
    let bytes = images::jpeg(40, 30);
    let media = app.upload_ok(bytes.clone(), "photo.jpg").await;
    (bytes, media)
}

async fn both_routes_return_identical_bytes_with_every_header(db: Db) {
    let app = spawn_app(db).await;
    let (bytes, media) = uploaded(&app).await;
    for path in paths(&media) {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        let h = response.headers().clone();
        assert_eq!(h["content-type"], "image/jpeg");
        assert_eq!(h["content-length"], bytes.len().to_string().as_str());
        assert_eq!(
            h["etag"],
            format!("\"{}\"", media["sha1"].as_str().unwrap()).as_str()
        );
        assert!(h.contains_key("last-modified"));
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(h["accept-ranges"], "bytes");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
        assert_eq!(
            response.bytes().await.unwrap().as_ref(),
            bytes.as_slice(),
            "{path}"
        );
    }
}

async fn head_answers_headers_without_a_body(db: Db) {
    let app = spawn_app(db).await;
    let (bytes, media) = uploaded(&app).await;
    for path in paths(&media) {
        let response = app.client.head(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-length"],
            bytes.len().to_string().as_str()
        );
        assert_eq!(response.headers()["content-type"], "image/jpeg");
        assert!(response.bytes().await.unwrap().is_empty());
    }
}

async fn a_matching_if_none_match_answers_304(db: Db) {
    let app = spawn_app(db).await;
    let (_, media) = uploaded(&app).await;
    let etag = format!("\"{}\"", media["sha1"].as_str().unwrap());
    for path in paths(&media) {
        let response = app
            .client
            .get(app.url(&path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304);
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
        let other = app
            .client
            .get(app.url(&path))
            .header("if-none-match", "\"abc\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 200);
    }
}

async fn a_single_range_answers_206(db: Db) {
    let app = spawn_app(db).await;
    let (bytes, media) = uploaded(&app).await;
    let len = bytes.len();
    for path in paths(&media) {
        let response = app
            .client
            .get(app.url(&path))
            .header("range", "bytes=10-19")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 206);
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes 10-19/{len}").as_str()
        );
        assert_eq!(response.headers()["content-length"], "10");
        assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[10..20]);

        let suffix = app
            .client
            .get(app.url(&path))
            .header("range", "bytes=-5")
            .send()
            .await
            .unwrap();
        assert_eq!(suffix.status(), 206);
        assert_eq!(suffix.bytes().await.unwrap().as_ref(), &bytes[len - 5..]);
    }
}

async fn a_range_outside_the_file_answers_416(db: Db) {
    let app = spawn_app(db).await;
    let (bytes, media) = uploaded(&app).await;
    for path in paths(&media) {
        let response = app
            .client
            .get(app.url(&path))
            .header("range", format!("bytes={}-", bytes.len() + 10))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes */{}", bytes.len()).as_str()
        );
        assert_problem(response, 416, "range_not_satisfiable").await;
    }
}

async fn info_returns_the_record(db: Db) {
    let app = spawn_app(db).await;
    let (_, media) = uploaded(&app).await;
    let response = app
        .get(&format!("{}/info", media["url"].as_str().unwrap()))
        .await;
    assert_eq!(response.status(), 200);
    let info: Value = response.json().await.unwrap();
    assert_eq!(
        info, media,
        "info is the same Media object the upload returned"
    );
}

async fn an_unknown_id_is_404(db: Db) {
    let app = spawn_app(db).await;
    let id = uuid::Uuid::new_v4();
    for path in [format!("/v1/media/{id}"), format!("/v1/media/{id}/info")] {
        assert_problem(app.get(&path).await, 404, "not_found").await;
    }
}

async fn a_bad_uuid_is_404(db: Db) {
    let app = spawn_app(db).await;
    for path in [
        "/v1/media/not-a-uuid",
        "/v1/media/1",
        "/v1/media/not-a-uuid/info",
    ] {
        assert_problem(app.get(path).await, 404, "not_found").await;
    }
}

async fn path_traversal_attempts_are_404_and_touch_nothing(db: Db) {
    let app = spawn_app(db).await;
    let (_, media) = uploaded(&app).await;
    let name = media["name"].as_str().unwrap();
    // A file outside the upload directory that a traversal would reach.
    std::fs::write(app.upload_dir().join("..").join("secret.jpg"), b"secret").unwrap();
    let attempts = [
        "/v1/files/..%2fsecret.jpg".to_owned(),
        "/v1/files/%2e%2e%2fsecret.jpg".to_owned(),
        "/v1/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        "/v1/files/%2fetc%2fpasswd".to_owned(),
        "/v1/files/..%5c..%5csecret.jpg".to_owned(),
        format!("/v1/files/{}%2f..%2f..%2fsecret.jpg", &name[..2]),
        format!("/v1/files/{name}%00.jpg"),
        format!("/v1/files/{}", name.to_uppercase()),
    ];
    for path in &attempts {
        let (status, body) = app.raw_get(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("secret"), "{path}");
    }
    // Literal dot segments, sent without any client-side normalisation.
    for path in [
        "/v1/files/../../secret.jpg",
        "/v1/files/..\\..\\secret.jpg",
        "/v1/files//etc/passwd",
    ] {
        let (status, body) = app.raw_get(path).await;
        assert!(status == 404 || status == 400, "{path}: {status}");
        assert!(
            !body.contains("secret") && !body.contains("root:"),
            "{path}"
        );
    }
}
