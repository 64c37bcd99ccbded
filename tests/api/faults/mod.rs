//! The fault-injection suite: real dependencies stopped, killed, filled or hung under a running
//! service (SPEC §13). During the fault, what needs the dependency answers a fast, honest
//! `503` with `Retry-After`; what does not keeps working; nothing is half-written; and after
//! the dependency returns, the service recovers by itself within 5 s.
//!
//! The bounds asserted here are the contract's, in seconds, not performance measurements.

mod bucket_outage;
mod database_outage;
mod full_disk;
mod hanging;
mod multipart;
mod servers;

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{MediaList, TestApp, assert_problem, read_json};
use crate::images;

/// The longest a request may wait on a dead dependency.
const REQUEST_BOUND: Duration = Duration::from_secs(5);
/// The longest `/readyz` may take to say a dependency is down.
const READINESS_BOUND: Duration = Duration::from_secs(2);
/// The longest the service may take to accept uploads again once the dependency is back.
const RECOVERY_BOUND: Duration = Duration::from_secs(5);

/// Sends `request` and asserts `503 unavailable` problem+json with `Retry-After` within
/// `bound`; returns the problem.
async fn unavailable_within(
    bound: Duration,
    request: impl Future<Output = reqwest::Response>,
) -> Value {
    let started = Instant::now();
    let response = request.await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < bound,
        "answered after {elapsed:?}, over {bound:?}"
    );
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str());
    let seconds: u64 = match retry_after {
        Some(Ok(value)) => value.parse().expect("Retry-After in seconds"),
        _ => panic!("a 503 needs Retry-After: {response:?}"),
    };
    assert!(seconds >= 1, "Retry-After: {seconds}");
    assert_problem(response, 503, "unavailable").await
}

async fn unavailable(request: impl Future<Output = reqwest::Response>) -> Value {
    unavailable_within(REQUEST_BOUND, request).await
}

/// Uploads a new file every 100 ms from `since` until one is accepted, each refusal being a
/// `503 unavailable`; asserts that happens within [`RECOVERY_BOUND`]. Returns the stored name.
async fn upload_until_accepted(app: &TestApp, since: Instant) -> String {
    for attempt in 0u32.. {
        let file = images::png(5, 5 + attempt);
        let started = Instant::now();
        let response = app.post_upload(file, "after.png").await;
        if response.status() == 201 {
            let media: MediaList = read_json(response).await;
            return media.files[0].name.clone();
        }
        let refused_after = started.elapsed();
        assert!(
            refused_after < REQUEST_BOUND,
            "refused after {refused_after:?}"
        );
        unavailable(async { response }).await;
        let waited = since.elapsed();
        assert!(
            waited < RECOVERY_BOUND,
            "uploads still refused after {waited:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unreachable!()
}

/// The body of a download that must succeed.
async fn downloaded(app: &TestApp, path: &str) -> Vec<u8> {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.bytes().await.unwrap().to_vec()
}

/// The problem's detail names the dependency.
fn assert_names(problem: &Value, dependency: &str) {
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(dependency),
        "names the {dependency}: {problem}"
    );
}
