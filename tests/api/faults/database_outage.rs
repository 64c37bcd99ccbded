//! PostgreSQL stopped as a crash would stop it (`pg_ctl stop -m immediate`), then started
//! again, under a running service.

use std::time::Instant;

use serde_json::json;

use super::servers::OwnPostgres;
use super::{
    READINESS_BOUND, assert_names, downloaded, unavailable, unavailable_within,
    upload_until_accepted,
};
use crate::helpers::spawn_app_on_postgres;
use crate::images;

#[tokio::test]
async fn while_postgres_is_down_what_needs_it_is_503_what_does_not_works_and_it_recovers_alone() {
    let postgres = OwnPostgres::start();
    let app = spawn_app_on_postgres(&postgres.url(), |_| {}).await;
    let seen = app.upload_ok(images::png(8, 8), "seen.png").await;
    let unseen = app.upload_ok(images::png(9, 9), "unseen.png").await;
    let seen_bytes = downloaded(&app, &seen.url).await; // now its id → name is cached

    postgres.stop_immediately();

    let problem = unavailable(app.post_upload(images::png(7, 7), "during.png")).await;
    assert_names(&problem, "database");
    unavailable(app.get(&seen.info_path())).await;
    let mapping = json!({"owner": "user-1", "files": [{"id": seen.id}]});
    unavailable(app.map(&mapping)).await;
    unavailable(app.delete(unseen.id)).await;
    unavailable(app.get(&unseen.url)).await;
    // Degraded, not dead: download by name needs no database, by a cached id neither.
    for path in seen.paths() {
        assert_eq!(downloaded(&app, path).await, seen_bytes, "GET {path}");
    }
    assert_eq!(downloaded(&app, &unseen.file_url).await, images::png(9, 9));
    assert_eq!(app.get("/healthz").await.status(), 200);
    let problem = unavailable_within(READINESS_BOUND, app.get("/readyz")).await;
    assert_names(&problem, "database");
    app.assert_no_staged_files();

    postgres.start_again();
    let after = upload_until_accepted(&app, Instant::now()).await;

    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(
        app.info(&seen).await,
        seen,
        "what was acknowledged before is kept"
    );
    assert_eq!(app.map(&mapping).await.status(), 200);
    // Nothing half-written: the refused uploads left no record, blob or staging file.
    let mut expected = vec![seen.name, unseen.name, after];
    expected.sort();
    let mut stored = app.stored_names().await;
    stored.sort();
    assert_eq!(stored, expected);
    assert_eq!(app.record_count().await, 3);
    app.assert_no_staged_files();
}
