use image::ImageFormat;
use reqwest::multipart::Form;
use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::helpers::{Db, assert_problem, file_part, spawn_app, spawn_app_with};
use crate::images;
use crate::on_both_databases;

on_both_databases!(
    each_accepted_type_is_stored_under_its_sha1_and_detected_extension,
    upload_returns_the_media_json_and_a_location,
    a_pdf_renamed_to_jpg_is_refused_with_415,
    a_zero_byte_file_is_refused_with_400,
    a_file_of_exactly_the_limit_is_accepted,
    a_file_one_byte_over_the_limit_is_refused_with_413,
    a_header_claiming_ten_billion_pixels_is_refused_with_422,
    a_truncated_jpeg_is_refused_with_422,
    when_the_third_of_three_files_is_bad_none_is_kept,
    three_good_files_are_returned_in_part_order,
    too_many_files_are_refused_with_413,
    a_part_without_a_file_name_is_refused_with_400,
    a_request_without_a_file_part_is_refused_with_400,
    malformed_multipart_is_refused_with_400,
    a_type_not_in_allowed_types_is_refused_with_415,
    fifty_concurrent_uploads_of_the_same_bytes_get_fifty_names,
    two_files_with_the_same_bytes_in_one_request_get_two_names,
);

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

async fn each_accepted_type_is_stored_under_its_sha1_and_detected_extension(db: Db) {
    let app = spawn_app(db).await;
    let cases = [
        (ImageFormat::Jpeg, "jpg", "image/jpeg", "jpeg"),
        (ImageFormat::Png, "png", "image/png", "png"),
        (ImageFormat::Gif, "gif", "image/gif", "gif"),
        (ImageFormat::WebP, "webp", "image/webp", "webp"),
    ];
    for (format, ext, mime, label) in cases {
        let bytes = images::encoded(12, 7, format);
        // The client's name and type say nothing true: only the bytes count.
        let media = app.upload_ok(bytes.clone(), &format!("{label}.bin")).await;
        let sha = sha1_hex(&bytes);
        let name = media["name"].as_str().unwrap();
        assert!(name.starts_with(&format!("{sha}-")), "{name}");
        assert!(name.ends_with(&format!(".{ext}")), "{name}");
        assert_eq!(media["content_type"], mime);
        assert_eq!(media["sha1"], sha.as_str());
        assert_eq!(media["size"], bytes.len());
        assert_eq!(
            (media["width"].as_u64(), media["height"].as_u64()),
            (Some(12), Some(7))
        );
        let on_disk = app.upload_dir().join(&sha[..2]).join(name);
        assert_eq!(
            std::fs::read(&on_disk).unwrap(),
            bytes,
            "{label} stored byte for byte"
        );
        assert_eq!(
            app.record_name(media["id"].as_str().unwrap())
                .await
                .as_deref(),
            Some(name)
        );
    }
    assert_eq!(app.record_count().await, 4);
    app.assert_no_staged_files();
}

async fn upload_returns_the_media_json_and_a_location(db: Db) {
    let app = spawn_app(db).await;
    let bytes = images::png(3, 2);
    let response = app.post_upload(bytes.clone(), "cake.png").await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    let media = &body["files"][0];
    let id = media["id"].as_str().unwrap();
    let parsed = uuid::Uuid::parse_str(id).unwrap();
    assert_eq!(parsed.get_version_num(), 4, "ids are random UUID v4");
    assert_eq!(location, format!("/v1/media/{id}"));
    assert_eq!(media["url"], location.as_str());
    assert_eq!(
        media["file_url"],
        format!("/v1/files/{}", media["name"].as_str().unwrap())
    );
    assert_eq!(media["original_name"], "cake.png");
    let name = media["name"].as_str().unwrap();
    let millis: i64 = name[41..54].parse().unwrap();
    let created =
        chrono::DateTime::parse_from_rfc3339(media["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        created.timestamp_millis(),
        millis,
        "created_at is the time in the name"
    );
    assert_eq!(media["owner"], Value::Null);
    assert_eq!(media["metadata"], Value::Null);
}

async fn a_pdf_renamed_to_jpg_is_refused_with_415(db: Db) {
    let app = spawn_app(db).await;
    let form = Form::new().part(
        "file",
        file_part(images::pdf(), "invoice.jpg", "image/jpeg"),
    );
    let problem = assert_problem(app.post_form(form).await, 415, "unsupported_media_type").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("application/pdf"),
        "{problem}"
    );
    app.assert_nothing_kept().await;
}

async fn a_zero_byte_file_is_refused_with_400(db: Db) {
    let app = spawn_app(db).await;
    assert_problem(
        app.post_upload(Vec::new(), "empty.png").await,
        400,
        "no_file",
    )
    .await;
    app.assert_nothing_kept().await;
}

const LIMIT: u64 = 64 * 1024;

async fn a_file_of_exactly_the_limit_is_accepted(db: Db) {
    let app = spawn_app_with(db, |s| s.limits.max_file_bytes = LIMIT).await;
    let media = app
        .upload_ok(images::png_of_exactly(LIMIT as usize), "edge.png")
        .await;
    assert_eq!(media["size"], LIMIT);
    assert_eq!(app.stored_files().len(), 1);
    assert_eq!(
        std::fs::metadata(&app.stored_files()[0]).unwrap().len(),
        LIMIT
    );
}

async fn a_file_one_byte_over_the_limit_is_refused_with_413(db: Db) {
    let app = spawn_app_with(db, |s| s.limits.max_file_bytes = LIMIT).await;
    let response = app
        .post_upload(images::png_of_exactly(LIMIT as usize + 1), "big.png")
        .await;
    let problem = assert_problem(response, 413, "file_too_large").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&LIMIT.to_string())
    );
    app.assert_nothing_kept().await;
}

async fn a_header_claiming_ten_billion_pixels_is_refused_with_422(db: Db) {
    let app = spawn_app(db).await;
    let problem = assert_problem(
        app.post_upload(images::png_bomb_header(), "bomb.png").await,
        422,
        "invalid_image",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("100000x100000"),
        "{problem}"
    );
    app.assert_nothing_kept().await;
}

async fn a_truncated_jpeg_is_refused_with_422(db: Db) {
    let app = spawn_app(db).await;
    assert_problem(
        app.post_upload(images::truncated_jpeg(), "cut.jpg").await,
        422,
        "invalid_image",
    )
    .await;
    app.assert_nothing_kept().await;
}

async fn when_the_third_of_three_files_is_bad_none_is_kept(db: Db) {
    let app = spawn_app(db).await;
    let form = Form::new()
        .part("file", file_part(images::png(4, 4), "a.png", "image/png"))
        .part("file", file_part(images::jpeg(4, 4), "b.jpg", "image/jpeg"))
        .part("file", file_part(images::pdf(), "c.jpg", "image/jpeg"));
    let problem = assert_problem(app.post_form(form).await, 415, "unsupported_media_type").await;
    assert!(
        problem["detail"].as_str().unwrap().starts_with("file 3"),
        "{problem}"
    );
    app.assert_nothing_kept().await;
}

async fn three_good_files_are_returned_in_part_order(db: Db) {
    let app = spawn_app(db).await;
    let form = Form::new()
        .part(
            "file",
            file_part(images::png(1, 1), "first.png", "image/png"),
        )
        .text("title", "ignored form field")
        .part(
            "file",
            file_part(images::jpeg(2, 2), "second.jpg", "image/jpeg"),
        )
        .part(
            "file",
            file_part(images::png(3, 3), "third.png", "image/png"),
        );
    let response = app.post_form(form).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let names: Vec<_> = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["original_name"].clone())
        .collect();
    assert_eq!(names, ["first.png", "second.jpg", "third.png"]);
    assert_eq!(location, body["files"][0]["url"].as_str().unwrap());
    assert_eq!(app.record_count().await, 3);
    assert_eq!(app.stored_files().len(), 3);
}

async fn too_many_files_are_refused_with_413(db: Db) {
    let app = spawn_app_with(db, |s| s.limits.max_files_per_request = 2).await;
    let mut form = Form::new();
    for i in 0..3 {
        form = form.part(
            "file",
            file_part(images::png(2, 2), &format!("{i}.png"), "image/png"),
        );
    }
    assert_problem(app.post_form(form).await, 413, "too_many_files").await;
    app.assert_nothing_kept().await;
}

async fn a_part_without_a_file_name_is_refused_with_400(db: Db) {
    let app = spawn_app(db).await;
    let form = Form::new().text("file", "just text");
    assert_problem(app.post_form(form).await, 400, "no_file").await;
    app.assert_nothing_kept().await;
}

async fn a_request_without_a_file_part_is_refused_with_400(db: Db) {
    let app = spawn_app(db).await;
    let form = Form::new().part("photo", file_part(images::png(2, 2), "a.png", "image/png"));
    assert_problem(app.post_form(form).await, 400, "no_file").await;
    app.assert_nothing_kept().await;
}

async fn malformed_multipart_is_refused_with_400(db: Db) {
    let app = spawn_app(db).await;
    for (content_type, body) in [
        (
            "multipart/form-data; boundary=XYZ",
            "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nPNG without a closing boundary",
        ),
        ("multipart/form-data", "no boundary at all"),
        ("application/json", r#"{"file":"nope"}"#),
    ] {
        let response = app
            .client
            .post(app.url("/v1/media"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "malformed_request").await;
    }
    app.assert_nothing_kept().await;
}

async fn a_type_not_in_allowed_types_is_refused_with_415(db: Db) {
    let app = spawn_app_with(db, |s| {
        s.limits.allowed_types = vec![mediastore::media::ImageFormat::Png]
    })
    .await;
    let problem = assert_problem(
        app.post_upload(images::jpeg(4, 4), "a.jpg").await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("image/jpeg"));
    app.assert_nothing_kept().await;
}

async fn fifty_concurrent_uploads_of_the_same_bytes_get_fifty_names(db: Db) {
    let app = spawn_app(db).await;
    let bytes = images::jpeg(32, 32);
    let uploads = (0..50).map(|i| {
        app.upload_ok(
            bytes.clone(),
            if i % 2 == 0 { "even.jpg" } else { "odd.jpg" },
        )
    });
    let media = futures_util::future::join_all(uploads).await;
    let mut names: Vec<_> = media
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 50, "every upload has its own name");
    assert_eq!(app.record_count().await, 50);
    assert_eq!(app.stored_files().len(), 50);
    app.assert_no_staged_files();
}

async fn two_files_with_the_same_bytes_in_one_request_get_two_names(db: Db) {
    let app = spawn_app(db).await;
    let bytes = images::png(5, 5);
    let form = Form::new()
        .part("file", file_part(bytes.clone(), "a.png", "image/png"))
        .part("file", file_part(bytes.clone(), "b.png", "image/png"));
    let response = app.post_form(form).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_ne!(body["files"][0]["name"], body["files"][1]["name"]);
    assert_eq!(body["files"][0]["sha1"], body["files"][1]["sha1"]);
    assert_eq!(app.stored_files().len(), 2);
}
