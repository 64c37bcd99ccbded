//! Downloads by id and by stored name: bytes, headers, conditional requests and ranges.

use crate::helpers::{Media, Stack, TestApp, assert_problem, spawn_app};
use crate::images::{self, OVER_ONE_S3_PART};
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    both_routes_return_identical_bytes_with_every_header,
    head_answers_headers_without_a_body,
    a_matching_if_none_match_answers_304,
    a_single_range_answers_206,
    a_range_outside_the_file_answers_416,
    info_returns_the_record,
    an_unknown_id_is_404,
    a_bad_uuid_is_404,
    path_traversal_attempts_are_404_and_touch_nothing,
);
matrix!(all; blobs_round_trip_by_id_and_by_name_whole_and_in_ranges);

async fn blobs_round_trip_by_id_and_by_name_whole_and_in_ranges(stack: Stack) {
    let app = spawn_app(stack).await;
    let files = [
        (images::jpeg(40, 30), "small.jpg"),
        // Larger than the size read in one go (256 KiB), so the chunked stream serves it.
        (images::large_png(700 * 1024), "streamed.png"),
        // Over one S3 part: a bucket stores it as a multipart upload.
        (images::large_png(OVER_ONE_S3_PART), "large.png"),
    ];
    let mut uploaded: Vec<(Vec<u8>, Media)> = Vec::new();
    for (bytes, file_name) in files {
        let media = app.upload_ok(bytes.clone(), file_name).await;
        uploaded.push((bytes, media));
    }

    for (bytes, media) in &uploaded {
        for path in media.paths() {
            let whole = app.get(path).await;
            assert_eq!(whole.status(), 200, "{path}");
            assert_eq!(
                whole.headers()["content-length"],
                bytes.len().to_string().as_str()
            );
            assert_eq!(
                whole.bytes().await.unwrap().as_ref(),
                bytes.as_slice(),
                "{path}"
            );
            let head = app.client.head(app.url(path)).send().await.unwrap();
            assert_eq!(
                head.headers()["content-length"],
                bytes.len().to_string().as_str()
            );
            let etag = head.headers()["etag"].to_str().unwrap().to_owned();
            let cached = app.get_with(path, "if-none-match", &etag).await;
            assert_eq!(cached.status(), 304);
        }
    }
    // Ranges inside the streamed file, and across the large one's 5 MiB part boundary, small
    // (read whole) and large (streamed).
    let boundary = 5 * 1024 * 1024;
    let ranges = [
        (&uploaded[1], 300_000, 650_000),
        (&uploaded[2], boundary - 10, boundary + 9),
        (&uploaded[2], 1000, boundary + 4000),
    ];
    for ((bytes, media), first, last) in ranges {
        for path in media.paths() {
            let range = app
                .get_with(path, "range", &format!("bytes={first}-{last}"))
                .await;
            assert_eq!(range.status(), 206);
            assert_eq!(
                range.headers()["content-range"],
                format!("bytes {first}-{last}/{}", bytes.len()).as_str()
            );
            assert_eq!(
                range.bytes().await.unwrap().as_ref(),
                &bytes[first..=last],
                "{path}"
            );
        }
    }
    let (small, small_media) = &uploaded[0];
    let past_the_end = app
        .get_with(
            &small_media.url,
            "range",
            &format!("bytes={}-", small.len()),
        )
        .await;
    assert_problem(past_the_end, 416, "range_not_satisfiable").await;

    let mut expected: Vec<String> = uploaded.iter().map(|(_, m)| m.name.clone()).collect();
    expected.sort();
    assert_eq!(app.stored_names().await, expected);
    app.assert_no_staged_files();
}

async fn uploaded(app: &TestApp) -> (Vec<u8>, Media) {
    let bytes = images::jpeg(40, 30);
    let media = app.upload_ok(bytes.clone(), "photo.jpg").await;
    (bytes, media)
}

async fn both_routes_return_identical_bytes_with_every_header(stack: Stack) {
    let app = spawn_app(stack).await;
    let (bytes, media) = uploaded(&app).await;
    for path in media.paths() {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let h = response.headers().clone();
        assert_eq!(h["content-type"], "image/jpeg");
        assert_eq!(h["content-length"], bytes.len().to_string().as_str());
        assert_eq!(h["etag"], format!("\"{}\"", media.sha1).as_str());
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

async fn head_answers_headers_without_a_body(stack: Stack) {
    let app = spawn_app(stack).await;
    let (bytes, media) = uploaded(&app).await;
    for path in media.paths() {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-length"],
            bytes.len().to_string().as_str()
        );
        assert_eq!(response.headers()["content-type"], "image/jpeg");
        assert!(response.bytes().await.unwrap().is_empty());
    }
}

async fn a_matching_if_none_match_answers_304(stack: Stack) {
    let app = spawn_app(stack).await;
    let (_, media) = uploaded(&app).await;
    let etag = format!("\"{}\"", media.sha1);
    for path in media.paths() {
        let response = app.get_with(path, "if-none-match", &etag).await;
        assert_eq!(response.status(), 304);
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
        let other = app.get_with(path, "if-none-match", "\"abc\"").await;
        assert_eq!(other.status(), 200);
    }
}

async fn a_single_range_answers_206(stack: Stack) {
    let app = spawn_app(stack).await;
    let (bytes, media) = uploaded(&app).await;
    let len = bytes.len();
    for path in media.paths() {
        let response = app.get_with(path, "range", "bytes=10-19").await;
        assert_eq!(response.status(), 206);
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes 10-19/{len}").as_str()
        );
        assert_eq!(response.headers()["content-length"], "10");
        assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[10..20]);

        let suffix = app.get_with(path, "range", "bytes=-5").await;
        assert_eq!(suffix.status(), 206);
        assert_eq!(suffix.bytes().await.unwrap().as_ref(), &bytes[len - 5..]);
    }
}

async fn a_range_outside_the_file_answers_416(stack: Stack) {
    let app = spawn_app(stack).await;
    let (bytes, media) = uploaded(&app).await;
    for path in media.paths() {
        let range = format!("bytes={}-", bytes.len() + 10);
        let response = app.get_with(path, "range", &range).await;
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes */{}", bytes.len()).as_str()
        );
        assert_problem(response, 416, "range_not_satisfiable").await;
    }
}

async fn info_returns_the_record(stack: Stack) {
    let app = spawn_app(stack).await;
    let (_, media) = uploaded(&app).await;
    assert_eq!(
        app.info(&media).await,
        media,
        "info is the same Media object the upload returned"
    );
}

async fn an_unknown_id_is_404(stack: Stack) {
    let app = spawn_app(stack).await;
    let id = uuid::Uuid::new_v4();
    for path in [format!("/v1/media/{id}"), format!("/v1/media/{id}/info")] {
        assert_problem(app.get(&path).await, 404, "not_found").await;
    }
}

async fn a_bad_uuid_is_404(stack: Stack) {
    let app = spawn_app(stack).await;
    for path in [
        "/v1/media/not-a-uuid",
        "/v1/media/1",
        "/v1/media/not-a-uuid/info",
    ] {
        assert_problem(app.get(path).await, 404, "not_found").await;
    }
}

async fn path_traversal_attempts_are_404_and_touch_nothing(stack: Stack) {
    let app = spawn_app(stack).await;
    let (_, media) = uploaded(&app).await;
    let name = &media.name;
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
