//! Background jobs (SPEC §11): variants made after a map, from rows of the map's transaction.

use serde_json::json;

use crate::helpers::{Stack, spawn_app_with, wait_until};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs]; eager_variants_are_made_shortly_after_a_map);

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
