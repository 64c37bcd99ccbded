//! Background jobs (SPEC §11): variants made after a map, from rows of the map's transaction.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveTime, Utc};
use mediastore::jobs::Clock;
use serde_json::json;

use crate::helpers::{Stack, spawn_app_with, spawn_app_with_clock, spawn_process_on, wait_until};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    eager_variants_are_made_shortly_after_a_map,
    offpeak_variants_wait_for_the_window,
    a_job_killed_mid_run_is_taken_again_after_its_lease,
);

async fn eager_variants_are_made_shortly_after_a_map(stack: Stack) {
    let app = spawn_app_with(stack, |s| {
        s.events.eager_variants = vec!["thumb".into(), "card".into()]
    })
    .await;
    let media = app.upload_ok(images::jpeg(900, 700), "hall.jpg").await;
    let unmapped = app
        .upload_ok(images::jpeg(300, 200), "not-mapped.jpg")
        .await;
    assert!(
        !app.everything_stored()
            .await
            .iter()
            .any(|p| p.ends_with(".webp"))
    );
    let map = app
        .map(&json!({"owner": "rosa", "files": [{"id": media.id}]}))
        .await;
    assert_eq!(map.status(), 200);
    let made = |suffix: &'static str| {
        let app = &app;
        let name = media.name.clone();
        async move {
            app.everything_stored()
                .await
                .iter()
                .any(|p| p.contains(&name) && p.ends_with(suffix))
        }
    };
    wait_until("the thumb is made", || made("cover-200x200.webp")).await;
    wait_until("the card is made", || made("cover-640x480.webp")).await;
    // Only mapped files get background work; the queue is empty again.
    let stored = app.everything_stored().await;
    assert!(
        !stored
            .iter()
            .any(|p| p.contains(&unmapped.name) && p.ends_with(".webp")),
        "{stored:?}"
    );
    wait_until("no job is left", || async {
        String::from_utf8_lossy(&app.run_cli(&["jobs"]).stdout)
            .contains("0 pending, 0 running, 0 failed")
    })
    .await;
}

async fn offpeak_variants_wait_for_the_window(stack: Stack) {
    let at = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").unwrap();
    let now = Arc::new(Mutex::new(at("12:00")));
    let clock = {
        let now = now.clone();
        Clock::new(move || *now.lock().unwrap())
    };
    let app = spawn_app_with_clock(stack, clock, |s| {
        s.events.offpeak_variants = Some(vec!["large".into()]);
        s.events.offpeak_pause = Duration::from_millis(10);
    })
    .await;
    let media = app.upload_ok(images::jpeg(1800, 1200), "hall.jpg").await;
    let map = app
        .map(&json!({"owner": "rosa", "files": [{"id": media.id}]}))
        .await;
    assert_eq!(map.status(), 200);
    let large_made = || async {
        let stored = app.everything_stored().await;
        stored
            .iter()
            .any(|p| p.contains(&media.name) && p.ends_with("inside-1600x1600.webp"))
    };
    // Noon: outside 01:00-05:00, the job waits (well past a poll).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!large_made().await);
    let listed = String::from_utf8_lossy(&app.run_cli(&["jobs"]).stdout).into_owned();
    assert!(
        listed.contains("pending") && listed.contains("large\toffpeak"),
        "{listed}"
    );
    // Two at night: it runs.
    *now.lock().unwrap() = at("02:00");
    wait_until("the off-peak variant is made", large_made).await;
}

/// The worker's process is killed (SIGKILL) while a job is leased and unfinished; the next
/// instance takes the job again once the lease is over and makes the variant.
async fn a_job_killed_mid_run_is_taken_again_after_its_lease(stack: Stack) {
    let mut app = spawn_process_on(stack, |_| {
        vec![
            ("VARIANT_EAGER".into(), "large".into()),
            ("JOB_LEASE_SECS".into(), "2".into()),
        ]
    })
    .await;
    let repo = app.repo(1).await;
    // A big image, so that its job runs long enough to be caught; if the kill still comes
    // after the job finished, another upload tries again.
    for attempt in 0..5 {
        let media = app
            .upload_ok(images::jpeg(4000 + attempt, 3000), "hall.jpg")
            .await;
        let map = app
            .map(&json!({"owner": "rosa", "files": [{"id": media.id}]}))
            .await;
        assert_eq!(map.status(), 200);
        wait_until("the job runs", || async {
            repo.job_stats(Utc::now()).await.unwrap().running == 1
        })
        .await;
        app.kill_hard();
        let stats = repo.job_stats(Utc::now()).await.unwrap();
        if stats.running == 0 {
            assert_eq!(
                stats.pending + stats.failed,
                0,
                "the job finished: {stats:?}"
            );
            app.restart().await;
            continue;
        }
        app.restart().await;
        wait_until("the killed job is taken again and done", || async {
            let stats = repo.job_stats(Utc::now()).await.unwrap();
            let large_made = app
                .everything_stored()
                .await
                .iter()
                .any(|p| p.contains(&media.name) && p.ends_with("inside-1600x1600.webp"));
            stats.pending + stats.running + stats.failed == 0 && large_made
        })
        .await;
        return;
    }
    panic!("every job finished before its worker was killed");
}
