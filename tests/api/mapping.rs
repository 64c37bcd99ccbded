use serde_json::{Value, json};

use crate::helpers::{Db, assert_problem, spawn_app, spawn_app_with};
use crate::images;
use crate::on_both_databases;

on_both_databases!(
    mapping_sets_owner_and_generates_metadata_from_the_image,
    an_unknown_id_in_a_batch_maps_none_of_them,
    an_id_of_another_owner_is_409_and_nothing_changes,
    mapping_again_to_the_same_owner_replaces_the_tags,
    bad_map_bodies_are_400,
    map_and_delete_without_the_right_key_are_401,
    map_and_delete_answer_503_when_no_key_is_configured,
    delete_removes_record_and_file_and_both_gets_404,
);

async fn mapping_sets_owner_and_generates_metadata_from_the_image(db: Db) {
    let app = spawn_app(db).await;
    let jpeg = images::jpeg(64, 48);
    let png = images::png(10, 20);
    let a = app.upload_ok(jpeg.clone(), "cake.jpg").await;
    let b = app.upload_ok(png.clone(), "venue.png").await;
    let body = json!({"owner": "user-42", "files": [
        {"id": a["id"], "tags": ["cake", "venue"]},
        {"id": b["id"]},
    ]});
    let response = app.map(&body).await;
    assert_eq!(response.status(), 200);
    let mapped: Value = response.json().await.unwrap();
    let files = mapped["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["id"], a["id"]);
    assert_eq!(files[0]["owner"], "user-42");
    assert!(files[0]["mapped_at"].is_string());
    assert_eq!(
        files[0]["metadata"],
        json!({"width": 64, "height": 48, "size": jpeg.len(), "format": "jpeg", "tags": ["cake", "venue"]})
    );
    assert_eq!(
        files[1]["metadata"],
        json!({"width": 10, "height": 20, "size": png.len(), "format": "png", "tags": []})
    );
    // The record itself changed, not only the answer.
    let info: Value = app
        .get(&format!("/v1/media/{}/info", a["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info, files[0]);
}

async fn an_unknown_id_in_a_batch_maps_none_of_them(db: Db) {
    let app = spawn_app(db).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let b = app.upload_ok(images::png(3, 3), "b.png").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let body =
        json!({"owner": "user-1", "files": [{"id": a["id"]}, {"id": unknown}, {"id": b["id"]}]});
    let problem = assert_problem(app.map(&body).await, 404, "not_found").await;
    assert!(
        problem["detail"].as_str().unwrap().contains(&unknown),
        "names the missing id: {problem}"
    );
    for m in [&a, &b] {
        let info: Value = app
            .get(&format!("/v1/media/{}/info", m["id"].as_str().unwrap()))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(info["owner"], Value::Null);
        assert_eq!(info["metadata"], Value::Null);
    }
}

async fn an_id_of_another_owner_is_409_and_nothing_changes(db: Db) {
    let app = spawn_app(db).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let b = app.upload_ok(images::png(3, 3), "b.png").await;
    let first = app
        .map(&json!({"owner": "alice", "files": [{"id": a["id"], "tags": ["mine"]}]}))
        .await;
    assert_eq!(first.status(), 200);
    let body =
        json!({"owner": "bob", "files": [{"id": b["id"]}, {"id": a["id"], "tags": ["stolen"]}]});
    assert_problem(app.map(&body).await, 409, "conflict").await;
    let a_info: Value = app
        .get(&format!("/v1/media/{}/info", a["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a_info["owner"], "alice");
    assert_eq!(a_info["metadata"]["tags"], json!(["mine"]));
    let b_info: Value = app
        .get(&format!("/v1/media/{}/info", b["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        b_info["owner"],
        Value::Null,
        "the other file of the batch was not mapped either"
    );
}

async fn mapping_again_to_the_same_owner_replaces_the_tags(db: Db) {
    let app = spawn_app(db).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let first: Value = app
        .map(&json!({"owner": "u", "files": [{"id": a["id"], "tags": ["x", "y"]}]}))
        .await
        .json()
        .await
        .unwrap();
    let again = app
        .map(&json!({"owner": "u", "files": [{"id": a["id"], "tags": ["z"]}]}))
        .await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["files"][0]["metadata"]["tags"], json!(["z"]));
    assert_eq!(
        again["files"][0]["mapped_at"], first["files"][0]["mapped_at"],
        "first mapping time kept"
    );
}

async fn bad_map_bodies_are_400(db: Db) {
    let app = spawn_app(db).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let id = a["id"].clone();
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
        .bearer_auth(crate::helpers::API_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 400, "malformed_request").await;
    let info: Value = app
        .get(&format!("/v1/media/{}/info", id.as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["owner"], Value::Null);
}

async fn map_and_delete_without_the_right_key_are_401(db: Db) {
    let app = spawn_app(db).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let id = a["id"].as_str().unwrap();
    let body = json!({"owner": "u", "files": [{"id": id}]});
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
        .delete(app.url(&format!("/v1/media/{id}")))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_problem(delete, 401, "unauthorized").await;
    assert_eq!(app.record_count().await, 1);
    assert_eq!(app.get(&format!("/v1/media/{id}")).await.status(), 200);
}

async fn map_and_delete_answer_503_when_no_key_is_configured(db: Db) {
    let app = spawn_app_with(db, |s| s.api_key = None).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let id = a["id"].as_str().unwrap();
    let problem = assert_problem(
        app.map(&json!({"owner": "u", "files": [{"id": id}]})).await,
        503,
        "unavailable",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("MEDIA_API_KEY")
    );
    assert_problem(app.delete(id).await, 503, "unavailable").await;
    assert_eq!(app.record_count().await, 1);
}

async fn delete_removes_record_and_file_and_both_gets_404(db: Db) {
    let app = spawn_app(db).await;
    let a = app.upload_ok(images::png(2, 2), "a.png").await;
    let id = a["id"].as_str().unwrap();
    let response = app.delete(id).await;
    assert_eq!(response.status(), 204);
    assert_problem(app.get(a["url"].as_str().unwrap()).await, 404, "not_found").await;
    assert_problem(
        app.get(a["file_url"].as_str().unwrap()).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.record_count().await, 0);
    assert!(app.stored_files().is_empty());
    assert_problem(app.delete(id).await, 404, "not_found").await;
}
