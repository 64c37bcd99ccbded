//! Back pressure, slow and vanishing clients, and metrics. No timings are asserted: the tests
//! control when bytes arrive and check what the service answers and what it leaves behind.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::helpers::{
    BOUNDARY, Db, TestApp, assert_problem, spawn_app, spawn_app_with, split_multipart,
};
use crate::images;

/// Starts an upload whose body arrives only as the test sends it through the returned sender.
fn controlled_upload(
    app: &TestApp,
) -> (
    mpsc::Sender<Bytes>,
    tokio::task::JoinHandle<reqwest::Response>,
) {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let request = app
        .client
        .post(app.url("/v1/media"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(reqwest::Body::wrap_stream(body));
    (
        tx,
        tokio::spawn(async move { request.send().await.expect("response") }),
    )
}

#[tokio::test]
async fn with_one_slot_a_second_upload_waits_and_one_that_waits_too_long_gets_503() {
    let app = spawn_app_with(Db::Sqlite, |s| {
        s.max_concurrent_uploads = 1;
        s.upload_queue_timeout = Duration::from_secs(1);
    })
    .await;
    let file = images::png(64, 64);
    let (head, tail) = split_multipart(&file);

    let (first, first_response) = controlled_upload(&app);
    first.send(head).await.unwrap();
    // Wait until the first upload holds the slot (its staging file exists).
    crate::helpers::wait_until("the upload is staged", || !app.staged_files().is_empty()).await;

    let refused = app.post_upload(images::png(2, 2), "refused.png").await;
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_problem(refused, 503, "overloaded").await;

    let waiting = tokio::spawn({
        let request =
            app.client
                .post(app.url("/v1/media"))
                .multipart(reqwest::multipart::Form::new().part(
                    "file",
                    crate::helpers::file_part(images::png(3, 3), "waiting.png", "image/png"),
                ));
        async move { request.send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the second upload waits for the slot"
    );
    first.send(tail).await.unwrap();
    drop(first);

    assert_eq!(first_response.await.unwrap().status(), 201);
    assert_eq!(
        waiting.await.unwrap().status(),
        201,
        "the waiting upload ran once the slot was free"
    );
    assert_eq!(app.record_count().await, 2);
    app.assert_no_staged_files();
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_and_leaves_no_temporary_file() {
    let app = spawn_app_with(Db::Sqlite, |s| s.body_idle_timeout = Duration::from_secs(1)).await;
    let (head, _tail) = split_multipart(&images::png(64, 64));
    let (sender, response) = controlled_upload(&app);
    sender.send(head).await.unwrap();
    let response = response.await.unwrap(); // the sender stays open: the body simply stops
    assert_problem(response, 408, "request_timeout").await;
    drop(sender);
    app.assert_nothing_kept().await;
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_nothing_behind() {
    let app = spawn_app(Db::Sqlite).await;
    app.hang_up_half_way(&images::png(64, 64)).await;
    app.assert_nothing_kept().await;
}

/// The value of one sample line (`name{labels} value`) in a Prometheus text page.
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_expose_the_counters_and_they_move_after_an_upload() {
    let app = spawn_app(Db::Sqlite).await;
    let scrape = || async { app.get("/metrics").await.text().await.unwrap() };
    let before = scrape().await;
    let media = app.upload_ok(images::png(8, 8), "m.png").await;
    assert_eq!(app.get(media["url"].as_str().unwrap()).await.status(), 200);
    assert_eq!(
        app.get(media["file_url"].as_str().unwrap()).await.status(),
        200
    );
    let after = scrape().await;

    for name in [
        "mediastore_uploads_total",
        "mediastore_upload_bytes_total",
        "mediastore_upload_duration_seconds_bucket",
        "mediastore_download_duration_seconds_bucket",
        "mediastore_uploads_in_progress",
        "mediastore_uploads_waiting",
        "mediastore_db_pool_connections_in_use",
        "mediastore_files_served_total",
    ] {
        assert!(
            after.contains(name),
            "{name} missing from /metrics:\n{after}"
        );
    }
    let created = r#"mediastore_uploads_total{outcome="created"}"#;
    assert!(sample(&after, created) >= sample(&before, created) + 1.0);
    let bytes = "mediastore_upload_bytes_total";
    assert!(sample(&after, bytes) >= sample(&before, bytes) + media["size"].as_f64().unwrap());
    for route in ["by_id", "by_name"] {
        let served = format!(r#"mediastore_files_served_total{{route="{route}"}}"#);
        assert!(
            sample(&after, &served) >= sample(&before, &served) + 1.0,
            "{served}"
        );
    }
}

/// Beyond `MAX_CONNECTIONS`, a connection is neither accepted (it would cost buffers) nor
/// refused: it waits in the kernel's queue and is served once a connection closes.
#[tokio::test]
async fn connections_beyond_the_limit_wait_in_the_kernel_until_one_closes() {
    let app = spawn_app_with(Db::Sqlite, |s| s.max_connections = 1).await;
    // The limit is shared out per worker, at least one each.
    let accepted = std::thread::available_parallelism().map_or(2, |n| n.get());
    let port = app.address.rsplit(':').next().unwrap();
    let mut held = Vec::new();
    for _ in 0..accepted {
        let mut socket = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 12];
        tokio::io::AsyncReadExt::read_exact(&mut socket, &mut answer)
            .await
            .unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
        held.push(socket); // kept open (keep-alive): the worker's connection slot stays taken
    }

    let waiting = tokio::spawn({
        let url = app.url("/healthz");
        async move { reqwest::get(url).await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "no slot is free: the new connection waits"
    );

    drop(held);
    let status = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a connection closed")
        .unwrap()
        .expect("not refused");
    assert_eq!(status, 200);
}
