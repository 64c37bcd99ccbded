//! Every error, including routing and extractor errors, is problem+json.

use crate::helpers::{Db, assert_problem, spawn_app};

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app(Db::Sqlite).await;
    assert_problem(app.get("/v2/nothing/here").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app(Db::Sqlite).await;
    let response = app.client.put(app.url("/v1/media")).send().await.unwrap();
    assert_problem(response, 405, "method_not_allowed").await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_problem(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn errors_carry_a_request_id_and_no_internals() {
    let app = spawn_app(Db::Sqlite).await;
    let response = app.get("/v1/files/nope").await;
    assert!(response.headers().contains_key("x-request-id"));
    let body = response.text().await.unwrap();
    assert!(!body.contains(app.upload_dir().to_str().unwrap()));
}
