//! Back pressure, slow and vanishing clients, and metrics. No timings are asserted: the tests
//! control when bytes arrive and check what the service answers and what it leaves behind.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::helpers::{
    BOUNDARY, Stack, TestApp, assert_problem, file_part, metric_sample, spawn_app_with,
    spawn_process, split_multipart, wait_until,
};
use crate::images::{self, OVER_ONE_S3_PART};
use crate::matrix;

matrix!(all; rejected_and_abandoned_uploads_leave_nothing_behind);

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
    let app = spawn_app_with(Stack::SQLITE_FS, |s| {
        s.max_concurrent_uploads = 1;
        // Long enough that the waiting upload below gets the slot even on a loaded machine
        // (the first upload must finish within it), short enough to keep the test quick.
        s.upload_queue_timeout = Duration::from_secs(3);
    })
    .await;
    let file = images::png(64, 64);
    let (head, tail) = split_multipart(&file);

    let (first, first_response) = controlled_upload(&app);
    first.send(head).await.unwrap();
    // Wait until the first upload holds the slot (its staging file exists).
    wait_until("the upload is staged", || async {
        !app.staged_files().is_empty()
    })
    .await;

    let refused = app.post_upload(images::png(2, 2), "refused.png").await;
    assert_eq!(refused.headers()["retry-after"], "3");
    assert_problem(refused, 503, "overloaded").await;

    let waiting = tokio::spawn({
        let request =
            app.client
                .post(app.url("/v1/media"))
                .multipart(reqwest::multipart::Form::new().part(
                    "file",
                    file_part(images::png(3, 3), "waiting.png", "image/png"),
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
    let app = spawn_app_with(Stack::SQLITE_FS, |s| {
        s.body_idle_timeout = Duration::from_secs(1)
    })
    .await;
    let (head, _tail) = split_multipart(&images::png(64, 64));
    let (sender, response) = controlled_upload(&app);
    sender.send(head).await.unwrap();
    let response = response.await.unwrap(); // the sender stays open: the body simply stops
    assert_problem(response, 408, "request_timeout").await;
    drop(sender);
    app.assert_nothing_kept().await;
}

async fn rejected_and_abandoned_uploads_leave_nothing_behind(stack: Stack) {
    let limit = OVER_ONE_S3_PART as u64;
    let app = spawn_app_with(stack, |s| s.limits.max_file_bytes = limit).await;
    assert_problem(
        app.post_upload(images::pdf(), "x.jpg").await,
        415,
        "unsupported_media_type",
    )
    .await;
    let over = images::large_png(OVER_ONE_S3_PART + 1);
    assert_problem(
        app.post_upload(over, "big.png").await,
        413,
        "file_too_large",
    )
    .await;
    assert_problem(
        app.post_upload(images::truncated_jpeg(), "t.jpg").await,
        422,
        "invalid_image",
    )
    .await;
    // Clients that hang up half way through a small file and through one over an S3 part.
    app.hang_up_half_way(&images::png(64, 64)).await;
    app.hang_up_half_way(&images::large_png(OVER_ONE_S3_PART))
        .await;
    app.assert_nothing_kept().await;
}

/// The metrics recorder is process-wide, so the app runs as a process of its own: every count
/// on its page is this test's.
#[tokio::test]
async fn metrics_expose_the_counters_and_they_move_after_an_upload() {
    let app = spawn_process(Stack::SQLITE_FS).await;
    let scrape = || async { app.get("/metrics").await.text().await.unwrap() };
    let before = scrape().await;
    let media = app.upload_ok(images::png(8, 8), "m.png").await;
    for path in media.paths() {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
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
    let bytes = "mediastore_upload_bytes_total";
    let by_id = r#"mediastore_files_served_total{route="by_id"}"#;
    let by_name = r#"mediastore_files_served_total{route="by_name"}"#;
    for series in [created, bytes, by_id, by_name] {
        assert_eq!(
            metric_sample(&before, series),
            0.0,
            "{series} before:\n{before}"
        );
    }
    assert_eq!(metric_sample(&after, created), 1.0, "{after}");
    assert_eq!(metric_sample(&after, bytes), media.size as f64, "{after}");
    assert_eq!(metric_sample(&after, by_id), 1.0, "{after}");
    assert_eq!(metric_sample(&after, by_name), 1.0, "{after}");
}

/// Beyond `MAX_CONNECTIONS`, a connection is neither accepted (it would cost buffers) nor
/// refused: it waits in the kernel's queue and is served once a connection closes.
#[tokio::test]
async fn connections_beyond_the_limit_wait_in_the_kernel_until_one_closes() {
    let app = spawn_app_with(Stack::SQLITE_FS, |s| s.max_connections = 1).await;
    // The limit is shared out per worker, at least one each.
    let accepted = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut held = Vec::new();
    for _ in 0..accepted {
        let mut socket = app.connect().await;
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
