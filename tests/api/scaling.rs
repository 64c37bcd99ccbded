//! Scaling out: several instances on one PostgreSQL database and one bucket, and moving an
//! existing store between the directory and the bucket with `mediastore migrate-store`.

use std::time::Duration;

use crate::bucket::TestBucket;
use crate::helpers::{
    Media, Stack, TestApp, assert_problem, assert_two_sweepers_share_the_work, spawn_app_with,
};
use crate::images::{self, OVER_ONE_S3_PART as MULTIPART_SIZE};

/// Two instances on one PostgreSQL database and one bucket, their sweepers off.
async fn two_instances() -> (TestApp, TestApp) {
    let first = spawn_app_with(Stack::POSTGRES_S3, |s| s.sweep_interval = Duration::ZERO).await;
    let second = first.spawn_sibling(|_| {}).await;
    assert_ne!(first.address, second.address);
    (first, second)
}

async fn assert_serves(app: &TestApp, media: &Media, bytes: &[u8]) {
    for path in media.paths() {
        let served = app.get(path).await;
        assert_eq!(served.status(), 200, "{path} on {}", app.address);
        assert_eq!(served.bytes().await.unwrap().as_ref(), bytes, "{path}");
    }
}

#[tokio::test]
async fn an_upload_to_one_instance_is_served_and_deleted_through_another() {
    let (first, second) = two_instances().await;
    let bucket = first.bucket.as_ref().unwrap();
    let small = images::jpeg(30, 20);
    let large = images::large_png(MULTIPART_SIZE);
    let small_media = first.upload_ok(small.clone(), "small.jpg").await;
    let large_media = first.upload_ok(large.clone(), "large.png").await;
    assert_serves(&second, &small_media, &small).await;
    assert_serves(&second, &large_media, &large).await;
    // Both instances now know each id's name from a download by id; a delete through one must
    // still end in 404 on the other.
    assert_serves(&first, &small_media, &small).await;
    assert_serves(&first, &large_media, &large).await;

    for media in [&small_media, &large_media] {
        let deleted = second.delete(media.id).await;
        assert_eq!(deleted.status(), 204);
        for app in [&first, &second] {
            for path in media.paths() {
                assert_problem(app.get(path).await, 404, "not_found").await;
            }
        }
    }
    assert_eq!(bucket.keys().await, Vec::<String>::new());
    bucket.assert_no_pending_multipart_uploads().await;
}

#[tokio::test]
async fn two_instances_sweeping_at_once_remove_each_abandoned_upload_exactly_once() {
    let (first, second) = two_instances().await;
    let bucket = first.bucket.as_ref().unwrap();
    for i in 0..20 {
        let app = if i % 2 == 0 { &first } else { &second };
        app.upload_ok(images::png(2 + i, 2), "abandoned.png").await;
    }
    assert_eq!(bucket.keys().await.len(), 20);
    // Each instance's own pool and store, as two processes would have.
    assert_two_sweepers_share_the_work(&first, &second, 20).await;
    assert_eq!(first.record_count().await, 0);
    assert_eq!(bucket.keys().await, Vec::<String>::new());
}

/// Runs `mediastore` on `app` with `bucket` as the other store; it must succeed.
fn cli_ok(app: &TestApp, args: &[&str], bucket: &TestBucket) -> String {
    let output = app.run_cli_with(args, bucket.env());
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn migrate_store_moves_every_blob_to_the_bucket_and_back() {
    let on_disk = spawn_app_with(Stack::POSTGRES_FS, |s| s.sweep_interval = Duration::ZERO).await;
    let files = [
        images::png(12, 7),
        images::jpeg(20, 20),
        images::large_png(MULTIPART_SIZE),
    ];
    let mut uploaded = Vec::new();
    for (i, bytes) in files.iter().enumerate() {
        let media = on_disk.upload_ok(bytes.clone(), &format!("f{i}")).await;
        uploaded.push((media, bytes.clone()));
    }
    let bucket = TestBucket::create().await;

    let to_s3 = ["migrate-store", "--from", "fs", "--to", "s3"];
    let printed = cli_ok(&on_disk, &to_s3, &bucket);
    assert!(
        printed.contains("copied 3, already there 0, missing 0, corrupt 0"),
        "{printed}"
    );
    let printed = cli_ok(&on_disk, &to_s3, &bucket);
    assert!(
        printed.contains("copied 0, already there 3"),
        "idempotent: {printed}"
    );
    // An interrupted run is resumed: only what is missing is copied.
    bucket
        .delete_object(&bucket.key_of(&uploaded[2].0.name))
        .await;
    let printed = cli_ok(&on_disk, &to_s3, &bucket);
    assert!(
        printed.contains("copied 1, already there 2"),
        "resumed: {printed}"
    );
    bucket.assert_no_pending_multipart_uploads().await;

    let on_s3 = on_disk
        .spawn_sibling(|s| s.storage.use_bucket(&bucket.settings))
        .await;
    for (media, bytes) in &uploaded {
        assert_serves(&on_s3, media, bytes).await;
    }

    // Back: empty the directory, copy from the bucket, and the directory serves again.
    for file in on_disk.stored_files() {
        std::fs::remove_file(file).unwrap();
    }
    let printed = cli_ok(
        &on_disk,
        &["migrate-store", "--from", "s3", "--to", "fs"],
        &bucket,
    );
    assert!(
        printed.contains("copied 3, already there 0, missing 0, corrupt 0"),
        "{printed}"
    );
    for (media, bytes) in &uploaded {
        assert_serves(&on_disk, media, bytes).await;
    }
    let verified = cli_ok(&on_disk, &["verify"], &bucket);
    assert!(
        verified.contains("0 corrupt, 0 missing, 0 without record"),
        "{verified}"
    );
    assert!(on_disk.staged_files().is_empty());
}

#[tokio::test]
async fn migrate_store_reports_a_blob_missing_from_the_source_and_fails() {
    let on_disk = spawn_app_with(Stack::SQLITE_FS, |s| s.sweep_interval = Duration::ZERO).await;
    let kept = on_disk.upload_ok(images::png(3, 3), "kept.png").await;
    let lost = on_disk.upload_ok(images::png(4, 4), "lost.png").await;
    let lost_name = &lost.name;
    on_disk.delete_blob(lost_name).await;
    let bucket = TestBucket::create().await;
    let to_s3 = ["migrate-store", "--from", "fs", "--to", "s3"];
    let output = on_disk.run_cli_with(&to_s3, bucket.env());
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains(&format!("missing\t{lost_name}")),
        "{printed}"
    );
    assert_eq!(bucket.keys().await, [bucket.key_of(&kept.name)]);
}
