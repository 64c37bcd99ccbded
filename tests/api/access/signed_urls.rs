//! `POST /v1/media/{id}/signed-urls`: who may ask, for what, and how long the URLs hold.

use serde_json::Value;

use super::{KEY_A, now, sign_url, signed_app, with_body_and_key};
use crate::helpers::{API_KEY, Media, Stack, TestApp, assert_problem, detail, spawn_app};
use crate::images;

pub async fn request_urls(
    app: &TestApp,
    id: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> reqwest::Response {
    let request = app
        .client
        .post(app.url(&format!("/v1/media/{id}/signed-urls")));
    with_body_and_key(request, body, key)
        .send()
        .await
        .expect("signed-urls")
}

pub async fn signed_urls(app: &TestApp, media: &Media) -> Value {
    let response = request_urls(app, &media.id.to_string(), None, Some(API_KEY)).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub fn unix(rfc3339: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().unwrap())
        .expect("RFC 3339")
        .timestamp()
}

#[tokio::test]
async fn signed_urls_need_the_api_key_a_known_id_a_valid_body_and_signing_keys() {
    let app = signed_app(Stack::SQLITE_FS).await;
    let media = app.upload_open(images::png(8, 8)).await.files.remove(0);
    let id = media.id.to_string();
    assert_problem(
        request_urls(&app, &id, None, None).await,
        401,
        "unauthorized",
    )
    .await;
    let wrong = request_urls(&app, &id, None, Some("not-the-key")).await;
    assert_problem(wrong, 401, "unauthorized").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for id in [unknown.as_str(), "not-a-uuid"] {
        let response = request_urls(&app, id, None, Some(API_KEY)).await;
        assert_problem(response, 404, "not_found").await;
    }
    for body in [
        r#"{"expires_in": 0}"#,
        r#"{"expires_in": 604801}"#,
        r#"{"expires": 60}"#,
        "x",
    ] {
        let response = request_urls(&app, &id, Some(body), Some(API_KEY)).await;
        assert_problem(response, 400, "malformed_request").await;
    }
    let before = now();
    let response = request_urls(&app, &id, Some(r#"{"expires_in": 60}"#), Some(API_KEY)).await;
    let after = now();
    assert_eq!(response.status(), 200);
    let urls: Value = response.json().await.unwrap();
    let expires = unix(&urls["expires_at"]);
    assert!((before + 60..=after + 60).contains(&expires), "{urls}");
    assert_eq!(urls["url"], sign_url(KEY_A, &media.url, expires));

    let keyless = spawn_app(Stack::SQLITE_FS).await;
    let media = keyless.upload_open(images::png(8, 8)).await.files.remove(0);
    let response = request_urls(&keyless, &media.id.to_string(), None, Some(API_KEY)).await;
    let problem = assert_problem(response, 503, "unavailable").await;
    assert!(detail(&problem).contains("SIGNING_KEYS"), "{problem}");
}
