//! Rate limits per client address: `429 rate_limited` with `Retry-After` past the budget, the
//! client being the peer (127.0.0.1 here) unless the peer is a trusted proxy, in which case
//! `X-Forwarded-For` says who it is. Counted on `/metrics`.

use mediastore::access::RateLimit;
use mediastore::config::Settings;

use super::{Carried, Service};
use crate::helpers::{
    MediaList, Stack, TestApp, assert_problem, detail, metric_sample, read_json, spawn_app_with,
    spawn_process_with,
};
use crate::images;

const XFF: &str = "x-forwarded-for";

async fn limited_app(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(Stack::SQLITE_FS, customize).await
}

fn three_a_minute() -> Option<RateLimit> {
    Some("3/min".parse().unwrap())
}

/// An upload of one small file, with an `X-Forwarded-For` header if given.
async fn upload_from(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        crate::helpers::file_part(images::png(4, 4), "a.png", "image/png"),
    );
    let mut request = app.client.post(app.url("/v1/media")).multipart(form);
    if let Some(value) = forwarded_for {
        request = request.header(XFF, value);
    }
    request.send().await.expect("upload")
}

/// The answer must be `429 rate_limited` with a whole number of seconds, at least 1, to wait.
async fn assert_rate_limited(response: reqwest::Response) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .to_owned();
    let seconds: u64 = retry_after.parse().expect("whole seconds");
    assert!(seconds >= 1, "Retry-After: {seconds}");
    let problem = assert_problem(response, 429, "rate_limited").await;
    assert!(
        detail(&problem).contains("3/min"),
        "names the limit: {problem}"
    );
}

#[tokio::test]
async fn uploads_past_the_budget_are_429_with_retry_after_and_nothing_is_kept() {
    let app = limited_app(|s| s.access.rate_limit_uploads = three_a_minute()).await;
    let first: MediaList = read_json(upload_from(&app, None).await).await;
    for _ in 0..2 {
        assert_eq!(upload_from(&app, None).await.status(), 201);
    }
    assert_rate_limited(upload_from(&app, None).await).await;
    assert_eq!(app.record_count().await, 3);
    app.assert_no_staged_files();
    // Refused before the body is read: a request that would be 400 is 429.
    let empty = app.upload_with(vec![], None, Carried::Header).await;
    assert_rate_limited(empty).await;
    // Downloads have a budget of their own (none here).
    for path in first.files[0].paths() {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn downloads_past_the_budget_are_429_on_every_download_route() {
    let app = limited_app(|s| s.access.rate_limit_downloads = three_a_minute()).await;
    let media = app.upload_open(images::png(16, 16)).await.files.remove(0);
    let by_name_variant = format!("{}/variants/thumb", media.file_url);
    let paths = [&media.url, &media.file_url, &by_name_variant];
    for path in paths {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    for path in [
        &media.url,
        &media.file_url,
        &media.variants["thumb"],
        &by_name_variant,
    ] {
        assert_rate_limited(app.get(path).await).await;
        assert_eq!(app.head(path).await.status(), 429, "HEAD {path}");
    }
    // Uploads have a budget of their own (none here).
    assert_eq!(upload_from(&app, None).await.status(), 201);
}

/// A client that is not a trusted proxy cannot buy more requests by writing
/// `X-Forwarded-For`: without TRUSTED_PROXIES every request counts for 127.0.0.1.
#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = limited_app(|s| s.access.rate_limit_uploads = three_a_minute()).await;
    assert!(app.settings.access.trusted_proxies.is_empty());
    for forwarded in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(upload_from(&app, Some(forwarded)).await.status(), 201);
    }
    assert_rate_limited(upload_from(&app, Some("198.51.100.4")).await).await;
    assert_rate_limited(upload_from(&app, None).await).await;
}

/// Behind a trusted proxy (127.0.0.1 here), each forwarded client has its own budget, read
/// from the right of `X-Forwarded-For` to the first untrusted hop.
#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = limited_app(|s| {
        s.access.rate_limit_uploads = three_a_minute();
        s.access.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for _ in 0..3 {
        assert_eq!(upload_from(&app, Some("198.51.100.1")).await.status(), 201);
    }
    assert_rate_limited(upload_from(&app, Some("198.51.100.1")).await).await;
    // What the client wrote left of its own address is not believed...
    let spoofed = upload_from(&app, Some("203.0.113.9, 198.51.100.1")).await;
    assert_rate_limited(spoofed).await;
    // ...and a trusted hop on the right is skipped.
    let via_two = upload_from(&app, Some("198.51.100.1, 127.0.0.1")).await;
    assert_rate_limited(via_two).await;
    // Other clients, and the proxy itself, are not limited.
    assert_eq!(upload_from(&app, Some("198.51.100.2")).await.status(), 201);
    assert_eq!(upload_from(&app, Some("2001:db8::1")).await.status(), 201);
    assert_eq!(upload_from(&app, None).await.status(), 201);
}

/// The recorder is process-wide, so the app is a process of its own.
#[tokio::test]
async fn refusals_are_counted_by_route_on_metrics() {
    let env = [
        ("RATE_LIMIT_UPLOADS", "1/min"),
        ("RATE_LIMIT_DOWNLOADS", "1/min"),
    ];
    let app = spawn_process_with(Stack::SQLITE_FS, &env).await;
    let media = app.upload_open(images::png(4, 4)).await.files.remove(0);
    assert_eq!(upload_from(&app, None).await.status(), 429);
    assert_eq!(app.get(&media.url).await.status(), 200);
    assert_eq!(app.get(&media.url).await.status(), 429);
    assert_eq!(app.get(&media.file_url).await.status(), 429);
    let page = app.get("/metrics").await.text().await.unwrap();
    let uploads = r#"mediastore_rate_limited_total{route="uploads"}"#;
    let downloads = r#"mediastore_rate_limited_total{route="downloads"}"#;
    assert_eq!(metric_sample(&page, uploads), 1.0, "{page}");
    assert_eq!(metric_sample(&page, downloads), 2.0, "{page}");
}
