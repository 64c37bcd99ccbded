//! Dependencies that hang instead of refusing: a socket that accepts and never answers. Each
//! request is bounded by the dependency's timeout, and after repeated timeouts the breaker
//! opens and requests fail at once. The service runs as a process of its own, so that its
//! `/metrics` are its own.

use std::time::Duration;

use serde_json::json;

use super::servers::HangingProxy;
use super::{READINESS_BOUND, assert_names, downloaded, unavailable, unavailable_within};
use crate::helpers::{Stack, TestApp, spawn_process_on};
use crate::images;

/// A call the breaker refuses does not wait for the dependency at all.
const FAILING_FAST: Duration = Duration::from_secs(1);

/// The breaker's state for `dependency` in `/metrics`: 0 closed, 1 open, 2 half-open.
async fn breaker_state(app: &TestApp, dependency: &str) -> String {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let series = format!("mediastore_breaker_state{{dependency=\"{dependency}\"}} ");
    let line = metrics.lines().find_map(|line| line.strip_prefix(&series));
    line.unwrap_or_else(|| panic!("no {series} in /metrics:\n{metrics}"))
        .to_owned()
}

#[tokio::test]
async fn a_bucket_that_never_answers_costs_each_request_at_most_the_timeout_then_nothing() {
    let silent = HangingProxy::start(None).await;
    let endpoint = format!("http://{}", silent.address());
    let app = spawn_process_on(Stack::SQLITE_S3, |_| {
        vec![("S3_ENDPOINT".to_owned(), endpoint)]
    })
    .await;
    assert_eq!(breaker_state(&app, "bucket").await, "0");

    for attempt in 0..3 {
        let upload = app.post_upload(images::png(4, 4 + attempt), "hung.png");
        let problem = unavailable(upload).await;
        assert_names(&problem, "blob store");
    }
    assert_eq!(breaker_state(&app, "bucket").await, "1", "open");
    unavailable_within(FAILING_FAST, app.post_upload(images::png(3, 3), "fast.png")).await;
    let problem = unavailable_within(READINESS_BOUND, app.get("/readyz")).await;
    assert_names(&problem, "blob store");
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.assert_no_staged_files();
    assert_eq!(app.record_count().await, 0);
}

#[tokio::test]
async fn a_database_that_stops_answering_costs_each_request_at_most_the_timeout_then_nothing() {
    let postgres = "127.0.0.1:5432".parse().unwrap();
    let proxy = HangingProxy::start(Some(postgres)).await;
    let through_proxy = proxy.address().to_string();
    let app = spawn_process_on(Stack::POSTGRES_FS, |settings| {
        let url = settings
            .database_url
            .replace("127.0.0.1:5432", &through_proxy);
        assert_ne!(
            url, settings.database_url,
            "the test database is on 127.0.0.1:5432"
        );
        vec![("DATABASE_URL".to_owned(), url)]
    })
    .await;
    let before = app.upload_ok(images::png(8, 8), "before.png").await;

    proxy.hang();

    unavailable(app.post_upload(images::png(7, 7), "hung.png")).await;
    unavailable(app.get(&before.info_path())).await;
    let mapping = json!({"owner": "user-1", "files": [{"id": before.id}]});
    unavailable(app.map(&mapping)).await;
    assert_eq!(breaker_state(&app, "database").await, "1", "open");
    let problem = unavailable_within(FAILING_FAST, app.get(&before.info_path())).await;
    assert_names(&problem, "database");
    unavailable_within(READINESS_BOUND, app.get("/readyz")).await;
    assert_eq!(
        downloaded(&app, &before.file_url).await,
        images::png(8, 8),
        "download by name needs no database"
    );
    app.assert_no_staged_files();
    // The test's own connection goes straight to PostgreSQL, past the hanging proxy.
    assert_eq!(
        app.record_count().await,
        1,
        "the refused upload left no record"
    );
}
