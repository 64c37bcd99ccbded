//! Every error, including routing and extractor errors, is problem+json.

use mediastore::db::NewUpload;
use mediastore::http::{ApiError, ErrorCode};

use crate::helpers::{Stack, assert_problem, sha1_hex, spawn_app};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs]; a_write_that_breaks_a_constraint_is_a_409_conflict_not_a_500);

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    assert_problem(app.get("/v2/nothing/here").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    let response = app.client.put(app.url("/v1/media")).send().await.unwrap();
    assert_problem(response, 405, "method_not_allowed").await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_problem(response, 405, "method_not_allowed").await;
}

/// `/v1/media/map` is a resource of its own, not an id called `map`; the methods of
/// `/v1/media/{id}` still reach their routes.
#[tokio::test]
async fn get_on_the_map_route_is_a_405_naming_post() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::HEAD,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .client
            .request(method.clone(), app.url("/v1/media/map"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "POST", "{method}");
    }
    let problem = assert_problem(app.get("/v1/media/map").await, 405, "method_not_allowed").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("POST"),
        "{problem}"
    );
    let media = app.upload_ok(images::png(2, 2), "a.png").await;
    assert_eq!(app.get(&media.url).await.status(), 200);
    let put = app.client.put(app.url(&media.url)).send().await.unwrap();
    assert_eq!(put.headers()["allow"], "GET, HEAD, DELETE");
    assert_problem(put, 405, "method_not_allowed").await;
}

/// A real fault in the file system: the shard folder these bytes belong in is a plain file, so
/// the commit into it fails. The client learns that something failed and the request id to
/// quote, never a path or the operating system's words.
#[tokio::test]
async fn errors_carry_a_request_id_and_no_internals() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    let bytes = images::png(4, 4);
    let shard = app.upload_dir().join(&sha1_hex(&bytes)[..2]);
    std::fs::write(&shard, b"not a directory").unwrap();

    let response = app.post_upload(bytes, "a.png").await;
    assert!(response.headers().contains_key("x-request-id"));
    let problem = assert_problem(response, 500, "internal").await.to_string();
    let upload_dir = app.upload_dir().to_str().unwrap();
    for internal in [
        upload_dir,
        "/tmp",
        "os error",
        "File exists",
        "Not a directory",
        "Permission denied",
        "No such file",
    ] {
        assert!(!problem.contains(internal), "{internal:?} in {problem}");
    }
    std::fs::remove_file(&shard).unwrap(); // not a blob, and not one of the service's
    app.assert_nothing_kept().await;
}

/// No route can make the database refuse a write today (ids are random, names are unique by
/// construction), so the test breaks the unique key past the API, on the real database, and
/// checks what the API would answer.
async fn a_write_that_breaks_a_constraint_is_a_409_conflict_not_a_500(stack: Stack) {
    let app = spawn_app(stack).await;
    let media = app.upload_ok(images::png(3, 3), "a.png").await;
    let repo = app.repo(1).await;
    let record = repo.find(media.id).await.unwrap().expect("the record");

    let upload = NewUpload {
        records: vec![record],
        quota: None,
    };
    let refused = repo.insert_all(&[upload]).await.unwrap_err();

    assert!(refused.is_conflict(), "{refused:?}");
    assert!(!refused.is_unavailable(), "{refused:?}");
    assert_eq!(ApiError::from(refused).code(), ErrorCode::Conflict);
    assert_eq!(app.record_count().await, 1, "nothing was changed");
}
