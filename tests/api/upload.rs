//! `POST /v1/media`: what is accepted, under which name, and what is refused without a trace.

use image::ImageFormat;
use reqwest::multipart::Form;

use crate::helpers::{
    MediaList, Stack, Store, TestApp, assert_problem, detail, file_part, read_json, sha1_hex,
    spawn_app, spawn_app_with,
};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
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
    two_files_with_the_same_bytes_in_one_request_get_two_names,
);
matrix!(all; concurrent_uploads_of_the_same_bytes_get_a_name_each);

/// An upload's answer, which must be `201`: its `Location` and its files.
async fn accepted(response: reqwest::Response) -> (String, MediaList) {
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    (location, read_json(response).await)
}

/// Posts `form`, which must be refused as `status` `code` and leave nothing behind; returns the
/// problem's detail.
async fn refused(app: &TestApp, form: Form, status: u16, code: &str) -> String {
    let problem = assert_problem(app.post_form(form).await, status, code).await;
    app.assert_nothing_kept().await;
    detail(&problem).to_owned()
}

/// A form with one file sent as `application/octet-stream`, as a browser sends unknown types.
fn one_file(bytes: Vec<u8>, file_name: &str) -> Form {
    Form::new().part(
        "file",
        file_part(bytes, file_name, "application/octet-stream"),
    )
}

async fn each_accepted_type_is_stored_under_its_sha1_and_detected_extension(stack: Stack) {
    let app = spawn_app(stack).await;
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
        let name = &media.name;
        assert!(name.starts_with(&format!("{sha}-")), "{name}");
        assert!(name.ends_with(&format!(".{ext}")), "{name}");
        assert_eq!(media.content_type, mime);
        assert_eq!(media.sha1, sha);
        assert_eq!(media.size, bytes.len() as u64);
        assert_eq!((media.width, media.height), (12, 7));
        let on_disk = app.upload_dir().join(&sha[..2]).join(name);
        assert_eq!(
            std::fs::read(&on_disk).unwrap(),
            bytes,
            "{label} stored byte for byte"
        );
        assert_eq!(app.record_name(media.id).await.as_ref(), Some(name));
    }
    assert_eq!(app.record_count().await, 4);
    app.assert_no_staged_files();
}

async fn upload_returns_the_media_json_and_a_location(stack: Stack) {
    let app = spawn_app(stack).await;
    let response = app.post_upload(images::png(3, 2), "cake.png").await;
    assert!(response.headers().contains_key("x-request-id"));
    let (location, mut list) = accepted(response).await;
    let media = list.files.remove(0);
    assert_eq!(media.id.get_version_num(), 4, "ids are random UUID v4");
    assert_eq!(location, format!("/v1/media/{}", media.id));
    assert_eq!(media.url, location);
    assert_eq!(media.file_url, format!("/v1/files/{}", media.name));
    assert_eq!(media.original_name.as_deref(), Some("cake.png"));
    let millis: i64 = media.name[41..54].parse().unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(&media.created_at).unwrap();
    assert_eq!(
        created.timestamp_millis(),
        millis,
        "created_at is the time in the name"
    );
    assert_eq!(media.owner, None);
    assert_eq!(media.metadata, None);
}

async fn a_pdf_renamed_to_jpg_is_refused_with_415(stack: Stack) {
    let app = spawn_app(stack).await;
    let form = Form::new().part(
        "file",
        file_part(images::pdf(), "invoice.jpg", "image/jpeg"),
    );
    let detail = refused(&app, form, 415, "unsupported_media_type").await;
    assert!(detail.contains("application/pdf"), "{detail}");
}

async fn a_zero_byte_file_is_refused_with_400(stack: Stack) {
    let app = spawn_app(stack).await;
    refused(&app, one_file(Vec::new(), "empty.png"), 400, "no_file").await;
}

const LIMIT: u64 = 64 * 1024;

async fn a_file_of_exactly_the_limit_is_accepted(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.limits.max_file_bytes = LIMIT).await;
    let media = app
        .upload_ok(images::png_of_exactly(LIMIT as usize), "edge.png")
        .await;
    assert_eq!(media.size, LIMIT);
    assert_eq!(app.stored_files().len(), 1);
    assert_eq!(
        std::fs::metadata(&app.stored_files()[0]).unwrap().len(),
        LIMIT
    );
}

async fn a_file_one_byte_over_the_limit_is_refused_with_413(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.limits.max_file_bytes = LIMIT).await;
    let over = one_file(images::png_of_exactly(LIMIT as usize + 1), "big.png");
    let detail = refused(&app, over, 413, "file_too_large").await;
    assert!(detail.contains(&LIMIT.to_string()), "{detail}");
}

async fn a_header_claiming_ten_billion_pixels_is_refused_with_422(stack: Stack) {
    let app = spawn_app(stack).await;
    let bomb = one_file(images::png_bomb_header(), "bomb.png");
    let detail = refused(&app, bomb, 422, "invalid_image").await;
    assert!(detail.contains("100000x100000"), "{detail}");
}

async fn a_truncated_jpeg_is_refused_with_422(stack: Stack) {
    let app = spawn_app(stack).await;
    let cut = one_file(images::truncated_jpeg(), "cut.jpg");
    refused(&app, cut, 422, "invalid_image").await;
}

async fn when_the_third_of_three_files_is_bad_none_is_kept(stack: Stack) {
    let app = spawn_app(stack).await;
    let form = Form::new()
        .part("file", file_part(images::png(4, 4), "a.png", "image/png"))
        .part("file", file_part(images::jpeg(4, 4), "b.jpg", "image/jpeg"))
        .part("file", file_part(images::pdf(), "c.jpg", "image/jpeg"));
    let detail = refused(&app, form, 415, "unsupported_media_type").await;
    assert!(detail.starts_with("file 3"), "{detail}");
}

async fn three_good_files_are_returned_in_part_order(stack: Stack) {
    let app = spawn_app(stack).await;
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
    let (location, list) = accepted(app.post_form(form).await).await;
    let names: Vec<_> = list
        .files
        .iter()
        .map(|m| m.original_name.as_deref())
        .collect();
    assert_eq!(
        names,
        [Some("first.png"), Some("second.jpg"), Some("third.png")]
    );
    assert_eq!(location, list.files[0].url);
    assert_eq!(app.record_count().await, 3);
    assert_eq!(app.stored_files().len(), 3);
}

async fn too_many_files_are_refused_with_413(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.limits.max_files_per_request = 2).await;
    let mut form = Form::new();
    for i in 0..3 {
        form = form.part(
            "file",
            file_part(images::png(2, 2), &format!("{i}.png"), "image/png"),
        );
    }
    refused(&app, form, 413, "too_many_files").await;
}

async fn a_part_without_a_file_name_is_refused_with_400(stack: Stack) {
    let app = spawn_app(stack).await;
    refused(&app, Form::new().text("file", "just text"), 400, "no_file").await;
}

async fn a_request_without_a_file_part_is_refused_with_400(stack: Stack) {
    let app = spawn_app(stack).await;
    let form = Form::new().part("photo", file_part(images::png(2, 2), "a.png", "image/png"));
    refused(&app, form, 400, "no_file").await;
}

async fn malformed_multipart_is_refused_with_400(stack: Stack) {
    let app = spawn_app(stack).await;
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

async fn a_type_not_in_allowed_types_is_refused_with_415(stack: Stack) {
    let app = spawn_app_with(stack, |s| {
        s.limits.allowed_types = vec![mediastore::media::ImageFormat::Png]
    })
    .await;
    let jpeg = one_file(images::jpeg(4, 4), "a.jpg");
    let detail = refused(&app, jpeg, 415, "unsupported_media_type").await;
    assert!(detail.contains("image/jpeg"), "{detail}");
}

/// Same bytes, same moment: the names differ in their milliseconds and nothing is overwritten
/// (on S3 the commit is a conditional `PUT`). Twelve at once on S3, not fifty: the test server
/// (moto) checks and writes a conditional `PUT` in two steps, so two simultaneous writes of one
/// key can both succeed there (seen 2 runs in 12 at two writers), which real S3 never allows.
async fn concurrent_uploads_of_the_same_bytes_get_a_name_each(stack: Stack) {
    let app = spawn_app(stack).await;
    let bytes = images::jpeg(32, 32);
    let count = match stack.store {
        Store::Fs => 50,
        Store::S3 => 12,
    };
    let uploads = (0..count).map(|i| {
        app.upload_ok(
            bytes.clone(),
            if i % 2 == 0 { "even.jpg" } else { "odd.jpg" },
        )
    });
    let media = futures_util::future::join_all(uploads).await;
    let mut names: Vec<_> = media.iter().map(|m| m.name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "every upload has its own name");
    assert_eq!(app.record_count().await, count as i64);
    assert_eq!(app.stored_names().await, names);
    for m in &media {
        let served = app.get(&m.file_url).await;
        assert_eq!(served.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    app.assert_no_staged_files();
}

async fn two_files_with_the_same_bytes_in_one_request_get_two_names(stack: Stack) {
    let app = spawn_app(stack).await;
    let bytes = images::png(5, 5);
    let form = Form::new()
        .part("file", file_part(bytes.clone(), "a.png", "image/png"))
        .part("file", file_part(bytes.clone(), "b.png", "image/png"));
    let (_, list) = accepted(app.post_form(form).await).await;
    assert_ne!(list.files[0].name, list.files[1].name);
    assert_eq!(list.files[0].sha1, list.files[1].sha1);
    assert_eq!(app.stored_files().len(), 2);
}
