//! CORS: configured origins may upload and read; nothing else, and never the protected routes.

use reqwest::Method;

use crate::helpers::{Stack, TestApp, spawn_app, spawn_app_with};
use crate::images;

const PAGE: &str = "http://127.0.0.1:3000";

async fn app_for_page() -> TestApp {
    spawn_app_with(Stack::SQLITE_FS, |s| {
        s.cors_allowed_origins = vec![PAGE.to_owned()]
    })
    .await
}

/// A one-file browser upload sent with `Origin: origin`.
async fn upload_from(app: &TestApp, origin: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        crate::helpers::file_part(images::png(2, 2), "a.png", "image/png"),
    );
    app.client
        .post(app.url("/v1/media"))
        .header("origin", origin)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn preflight(
    app: &TestApp,
    origin: &str,
    method: &str,
    path: &str,
    headers: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method);
    if !headers.is_empty() {
        request = request.header("access-control-request-headers", headers);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_configured_origin_may_preflight_and_upload() {
    let app = app_for_page().await;
    let response = preflight(&app, PAGE, "POST", "/v1/media", "content-type").await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(response.headers()["access-control-allow-origin"], PAGE);

    let upload = upload_from(&app, PAGE).await;
    assert_eq!(upload.status(), 201);
    assert_eq!(upload.headers()["access-control-allow-origin"], PAGE);
    let exposed = upload.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in ["etag", "location", "x-request-id"] {
        assert!(
            exposed.contains(header),
            "{header} is not exposed: {exposed}"
        );
    }
}

#[tokio::test]
async fn an_unconfigured_origin_is_refused() {
    let app = app_for_page().await;
    let response = preflight(
        &app,
        "http://evil.example",
        "POST",
        "/v1/media",
        "content-type",
    )
    .await;
    assert!(response.status().is_client_error());
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let upload = upload_from(&app, "http://evil.example").await;
    assert!(!upload.headers().contains_key("access-control-allow-origin"));
    assert_eq!(
        app.record_count().await,
        0,
        "a refused cross-origin upload keeps nothing"
    );
}

#[tokio::test]
async fn the_services_own_origin_may_upload_as_swagger_ui_does() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    let upload = upload_from(&app, &app.address).await;
    assert_eq!(upload.status(), 201);
}

#[tokio::test]
async fn without_configured_origins_there_is_no_cross_origin_access() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    let response = preflight(&app, PAGE, "POST", "/v1/media", "content-type").await;
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn protected_routes_are_never_opened_to_browsers() {
    let app = app_for_page().await;
    let id = uuid::Uuid::new_v4();
    let delete = preflight(
        &app,
        PAGE,
        "DELETE",
        &format!("/v1/media/{id}"),
        "authorization",
    )
    .await;
    assert!(
        !delete.headers().contains_key("access-control-allow-origin"),
        "DELETE preflight allowed"
    );
    let map = preflight(
        &app,
        PAGE,
        "POST",
        "/v1/media/map",
        "authorization,content-type",
    )
    .await;
    assert!(
        !map.headers().contains_key("access-control-allow-origin"),
        "map preflight allowed"
    );
}
