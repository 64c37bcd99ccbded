//! `POST /v1/media/map` and `DELETE /v1/media/{id}`: owners, metadata, keys.

use serde_json::{Value, json};

use crate::helpers::{
    API_KEY, MediaList, Metadata, Stack, assert_problem, detail, read_json, spawn_app,
    spawn_app_with,
};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    mapping_sets_owner_and_generates_metadata_from_the_image,
    an_unknown_id_in_a_batch_maps_none_of_them,
    an_id_of_another_owner_is_409_and_nothing_changes,
    mapping_again_to_the_same_owner_replaces_the_tags,
    bad_map_bodies_are_400,
    map_and_delete_without_the_right_key_are_401,
    map_and_delete_answer_503_when_no_key_is_configured,
);
matrix!(all; delete_removes_the_record_and_the_blob_and_both_gets_404);

/// The metadata mapping must generate for `bytes`, with the placeholder it got (whose value
/// `placeholder_is_a_thumbhash_of_the_upright_image` checks).
fn metadata(
    width: u64,
    height: u64,
    bytes: &[u8],
    format: &str,
    tags: &[&str],
    got: &Option<Metadata>,
) -> Metadata {
    let placeholder = got.as_ref().and_then(|m| m.placeholder.clone());
    assert!(placeholder.is_some(), "a placeholder: {got:?}");
    Metadata {
        width,
        height,
        size: bytes.len() as u64,
        format: format.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        placeholder,
    }
}

async fn mapping_sets_owner_and_generates_metadata_from_the_image(stack: Stack) {
    let app = spawn_app(stack).await;
    let jpeg = images::jpeg(64, 48);
    let png = images::png(10, 20);
    let a = app.upload_ok(jpeg.clone(), "cake.jpg").await;
    let b = app.upload_ok(png.clone(), "venue.png").await;
    let body = json!({"owner": "user-42", "files": [
        {"id": a.id, "tags": ["cake", "venue"]},
        {"id": b.id},
    ]});
    let response = app.map(&body).await;
    assert_eq!(response.status(), 200);
    let files = read_json::<MediaList>(response).await.files;
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].id, a.id);
    assert_eq!(files[0].owner.as_deref(), Some("user-42"));
    assert!(files[0].mapped_at.is_some());
    let tags = ["cake", "venue"];
    let expected = metadata(64, 48, &jpeg, "jpeg", &tags, &files[0].metadata);
    assert_eq!(files[0].metadata, Some(expected));
    let expected = metadata(10, 20, &png, "png", &[], &files[1].metadata);
    assert_eq!(files[1].metadata, Some(expected));
    // The record itself changed, not only the answer.
    assert_eq!(app.info(&a).await, files[0]);
}

async fn an_unknown_id_in_a_batch_maps_none_of_them(stack: Stack) {
    let app = spawn_app(stack).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let b = app.upload_ok(images::png(3, 3), "b.png").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let body = json!({"owner": "user-1", "files": [{"id": a.id}, {"id": unknown}, {"id": b.id}]});
    let problem = assert_problem(app.map(&body).await, 404, "not_found").await;
    assert!(
        detail(&problem).contains(&unknown),
        "names the missing id: {problem}"
    );
    for m in [&a, &b] {
        let info = app.info(m).await;
        assert_eq!(info.owner, None);
        assert_eq!(info.metadata, None);
    }
}

async fn an_id_of_another_owner_is_409_and_nothing_changes(stack: Stack) {
    let app = spawn_app(stack).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let b = app.upload_ok(images::png(3, 3), "b.png").await;
    let first = app
        .map(&json!({"owner": "alice", "files": [{"id": a.id, "tags": ["mine"]}]}))
        .await;
    assert_eq!(first.status(), 200);
    let body = json!({"owner": "bob", "files": [{"id": b.id}, {"id": a.id, "tags": ["stolen"]}]});
    assert_problem(app.map(&body).await, 409, "conflict").await;
    let a_info = app.info(&a).await;
    assert_eq!(a_info.owner.as_deref(), Some("alice"));
    assert_eq!(a_info.metadata.unwrap().tags, ["mine"]);
    assert_eq!(
        app.info(&b).await.owner,
        None,
        "the other file of the batch was not mapped either"
    );
}

async fn mapping_again_to_the_same_owner_replaces_the_tags(stack: Stack) {
    let app = spawn_app(stack).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let first = app
        .map(&json!({"owner": "u", "files": [{"id": a.id, "tags": ["x", "y"]}]}))
        .await;
    let first = read_json::<MediaList>(first).await.files.remove(0);
    let again = app
        .map(&json!({"owner": "u", "files": [{"id": a.id, "tags": ["z"]}]}))
        .await;
    assert_eq!(again.status(), 200);
    let again = read_json::<MediaList>(again).await.files.remove(0);
    assert_eq!(again.metadata.unwrap().tags, ["z"]);
    assert_eq!(again.mapped_at, first.mapped_at, "first mapping time kept");
}

async fn bad_map_bodies_are_400(stack: Stack) {
    let app = spawn_app(stack).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let id = a.id;
    let too_many_files: Vec<Value> = (0..101)
        .map(|_| json!({"id": uuid::Uuid::new_v4()}))
        .collect();
    let long_tag = "t".repeat(65);
    let cases = [
        json!({"owner": "", "files": [{"id": id}]}),
        json!({"owner": "x".repeat(201), "files": [{"id": id}]}),
        json!({"owner": "line\nbreak", "files": [{"id": id}]}),
        json!({"owner": "u", "files": []}),
        json!({"owner": "u", "files": too_many_files}),
        json!({"owner": "u", "files": [{"id": id, "tags": (0..21).map(|i| i.to_string()).collect::<Vec<_>>()}]}),
        json!({"owner": "u", "files": [{"id": id, "tags": [long_tag]}]}),
        json!({"owner": "u", "files": [{"id": id}, {"id": id}]}),
        json!({"owner": "u", "files": [{"id": "not-a-uuid"}]}),
        json!({"files": [{"id": id}]}),
        json!({"owner": "u", "files": [{"id": id}], "extra": true}),
    ];
    for body in cases {
        assert_problem(app.map(&body).await, 400, "malformed_request").await;
    }
    let not_json = app
        .client
        .post(app.url("/v1/media/map"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 400, "malformed_request").await;
    assert_eq!(app.info(&a).await.owner, None);
}

async fn map_and_delete_without_the_right_key_are_401(stack: Stack) {
    let app = spawn_app(stack).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let body = json!({"owner": "u", "files": [{"id": a.id}]});
    let url = app.url("/v1/media/map");
    let no_key = app.client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(no_key.headers()["www-authenticate"], "Bearer");
    assert_problem(no_key, 401, "unauthorized").await;
    let wrong = app
        .client
        .post(&url)
        .bearer_auth("test-api-key-0123456780")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401, "unauthorized").await;
    let delete = app
        .client
        .delete(app.url(&a.url))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_problem(delete, 401, "unauthorized").await;
    assert_eq!(app.record_count().await, 1);
    assert_eq!(app.get(&a.url).await.status(), 200);
}

async fn map_and_delete_answer_503_when_no_key_is_configured(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.api_key = None).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let problem = assert_problem(
        app.map(&json!({"owner": "u", "files": [{"id": a.id}]}))
            .await,
        503,
        "unavailable",
    )
    .await;
    assert!(detail(&problem).contains("MEDIA_API_KEY"));
    assert_problem(app.delete(a.id).await, 503, "unavailable").await;
    assert_eq!(app.record_count().await, 1);
}

async fn delete_removes_the_record_and_the_blob_and_both_gets_404(stack: Stack) {
    let app = spawn_app(stack).await;
    let small = app.upload_ok(images::png(2, 2), "a.png").await;
    // Over one S3 part: a bucket stored it as a multipart upload.
    let large = app
        .upload_ok(images::large_png(images::OVER_ONE_S3_PART), "big.png")
        .await;
    assert_eq!(app.stored_names().await.len(), 2);
    for media in [&small, &large] {
        assert_eq!(app.delete(media.id).await.status(), 204);
        for path in media.paths() {
            assert_problem(app.get(path).await, 404, "not_found").await;
        }
        assert_problem(app.delete(media.id).await, 404, "not_found").await;
    }
    app.assert_nothing_kept().await;
}
