//! The S3-compatible server killed, then started again, under a running service on the bucket
//! back end.

use std::time::Instant;

use serde_json::json;

use super::servers::OwnS3Server;
use super::{
    READINESS_BOUND, assert_names, unavailable, unavailable_within, upload_until_accepted,
};
use crate::bucket::TestBucket;
use crate::helpers::{MediaList, Stack, read_json, spawn_app_with};
use crate::images;

#[tokio::test]
async fn while_the_bucket_is_down_what_needs_it_is_503_what_does_not_works_and_it_recovers_alone() {
    let mut server = OwnS3Server::start().await;
    let bucket = TestBucket::create_at(&server.endpoint()).await;
    let app = spawn_app_with(Stack::SQLITE_FS, |s| s.storage.use_bucket(&bucket.settings)).await;
    let before = app.upload_ok(images::png(8, 8), "before.png").await;

    server.kill();

    let problem = unavailable(app.post_upload(images::png(7, 7), "during.png")).await;
    assert_names(&problem, "blob store");
    for path in before.paths() {
        let problem = unavailable(app.get(path)).await;
        assert_names(&problem, "blob store");
    }
    // Degraded, not dead: what needs only the database keeps working.
    assert_eq!(app.info(&before).await, before);
    let mapping = json!({"owner": "user-1", "files": [{"id": before.id}]});
    let mapped = app.map(&mapping).await;
    assert_eq!(mapped.status(), 200, "a mapping needs only the database");
    let mapped: MediaList = read_json(mapped).await;
    let metadata = mapped.files[0].metadata.as_ref().expect("metadata");
    assert_eq!(
        metadata.placeholder, None,
        "the placeholder needs the bucket"
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
    let problem = unavailable_within(READINESS_BOUND, app.get("/readyz")).await;
    assert_names(&problem, "blob store");
    app.assert_no_staged_files();
    assert_eq!(
        app.record_count().await,
        1,
        "the refused upload left no record"
    );

    // moto keeps its objects in memory: the restarted server has no bucket until one is made.
    server.start_again().await;
    bucket.put_bucket().await;
    let after = upload_until_accepted(&app, Instant::now()).await;

    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(bucket.keys().await, [bucket.key_of(&after)]);
    assert_eq!(app.record_count().await, 2);
    app.assert_no_staged_files();
    bucket.assert_no_pending_multipart_uploads().await;
}
