//! Expiry of abandoned uploads, crash leftovers, and the `gc` and `verify` commands.

use std::time::{Duration, SystemTime};

use mediastore::startup::Application;
use serde_json::{Value, json};

use crate::helpers::{
    Stack, TestApp, assert_gc_expired_only, assert_two_sweepers_share_the_work, sha1_hex,
    spawn_app_with, stdout, wait_until,
};
use crate::images::{self, OVER_ONE_S3_PART};
use crate::matrix;

matrix!(all;
    gc_expires_unmapped_uploads_keeps_mapped_ones_and_removes_orphans,
    verify_reports_corrupt_missing_and_unrecorded_blobs,
    the_background_sweeper_expires_abandoned_uploads,
    two_sweepers_at_once_remove_each_upload_exactly_once,
);
matrix!(dbs = [sqlite, postgres], stores = [fs];
    a_stray_temporary_file_is_removed_at_start_up,
    gc_removes_orphan_files_older_than_an_hour_only,
);

/// An app whose own sweeper is off, so that the test decides when sweeps happen.
async fn app_without_sweeper(stack: Stack) -> TestApp {
    spawn_app_with(stack, |s| s.sweep_interval = Duration::ZERO).await
}

async fn gc_expires_unmapped_uploads_keeps_mapped_ones_and_removes_orphans(stack: Stack) {
    let app = app_without_sweeper(stack).await;
    let kept = app.upload_ok(images::png(2, 2), "kept.png").await;
    let abandoned = app.upload_ok(images::png(3, 3), "abandoned.png").await;
    let mapped = app
        .map(&json!({"owner": "u", "files": [{"id": kept.id}]}))
        .await;
    assert_eq!(mapped.status(), 200);

    // A TTL of zero: every unmapped upload created before the command started has expired.
    let output = app.run_cli_with(&["gc"], [("UNMAPPED_TTL_SECS", "0")]);
    assert_gc_expired_only(&output, abandoned.id);
    for path in abandoned.paths() {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    assert_eq!(app.get(&kept.url).await.status(), 200);
    assert_eq!(app.record_count().await, 1);
    assert_eq!(app.stored_names().await, [kept.name.as_str()]);

    // A blob without a record, and a file that is no blob at all. `gc` only takes orphans over
    // an hour old, so the age limit is lifted here by calling the library with zero.
    let orphan = format!("{}-1700000000000.png", "ab".repeat(20));
    app.put_blob(&orphan, images::png(1, 1)).await;
    app.put_stored("notes/readme.txt", b"not a blob of ours".to_vec())
        .await;
    let removed = mediastore::lifecycle::remove_orphans(
        app.repo(1).await.as_ref(),
        &app.blob_store(),
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(removed, [orphan]);
    // What is outside the shard folders is not ours and is never touched.
    let mut expected = vec![
        format!("{}/{}", &kept.name[..2], kept.name),
        "notes/readme.txt".to_owned(),
    ];
    expected.sort();
    assert_eq!(app.everything_stored().await, expected);
    assert_eq!(app.get(&kept.file_url).await.status(), 200);
}

async fn verify_reports_corrupt_missing_and_unrecorded_blobs(stack: Stack) {
    let app = app_without_sweeper(stack).await;
    let flipped = app.upload_ok(images::png(2, 2), "a.png").await;
    let deleted = app
        .upload_ok(images::large_png(OVER_ONE_S3_PART), "b.png")
        .await;
    app.upload_ok(images::jpeg(4, 4), "c.jpg").await;

    let clean = app.run_cli(&["verify"]);
    assert!(clean.status.success(), "a clean store verifies: {clean:?}");
    assert!(
        stdout(&clean)
            .contains("checked 3 files and 3 records: 0 corrupt, 0 missing, 0 without record"),
        "{}",
        stdout(&clean)
    );

    app.corrupt(&flipped.name).await;
    app.delete_blob(&deleted.name).await;
    // An intact blob (its name matches its bytes) that no record names.
    let orphan = images::png(1, 1);
    let orphan_name = format!("{}-1700000000000.png", sha1_hex(&orphan));
    app.put_blob(&orphan_name, orphan).await;

    let output = app.run_cli(&["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["corrupt_files"], json!([flipped.name]));
    assert_eq!(report["missing_files"], json!([deleted.name]));
    assert_eq!(report["files_without_record"], json!([orphan_name]));
    assert_eq!(report["records_checked"], 3);
    assert_eq!(report["files_checked"], 3);
}

async fn the_background_sweeper_expires_abandoned_uploads(stack: Stack) {
    let app = spawn_app_with(stack, |s| {
        s.unmapped_ttl = Duration::ZERO;
        s.sweep_interval = Duration::from_millis(100);
    })
    .await;
    let abandoned = app.upload_ok(images::png(3, 3), "abandoned.png").await;
    wait_until("the sweeper removed the record", || async {
        app.record_count().await == 0
    })
    .await;
    // The record goes first, then the blob.
    wait_until("the sweeper removed the blob", || async {
        app.stored_names().await.is_empty()
    })
    .await;
    assert_eq!(app.get(&abandoned.url).await.status(), 404);
}

async fn two_sweepers_at_once_remove_each_upload_exactly_once(stack: Stack) {
    let app = app_without_sweeper(stack).await;
    for i in 0..20 {
        app.upload_ok(images::png(2 + i, 2), "a.png").await;
    }
    assert_two_sweepers_share_the_work(&app, &app, 20).await;
    assert_eq!(app.record_count().await, 0);
    assert_eq!(app.stored_names().await, Vec::<String>::new());
}

async fn a_stray_temporary_file_is_removed_at_start_up(stack: Stack) {
    let app = app_without_sweeper(stack).await;
    let stray = app.upload_dir().join(".tmp").join("upload-left-by-a-crash");
    std::fs::write(&stray, b"half an upload").unwrap();
    // A second start on the same store, as after a crash.
    let restarted = Application::build(app.settings.clone())
        .await
        .expect("restart");
    assert!(
        !stray.exists(),
        "the leftover is gone before the service serves"
    );
    drop(restarted);
}

async fn gc_removes_orphan_files_older_than_an_hour_only(stack: Stack) {
    let app = app_without_sweeper(stack).await;
    let recorded = app.upload_ok(images::png(2, 2), "a.png").await;
    let old_orphan = app.blob_path(&format!("{}-1700000000000.png", "ab".repeat(20)));
    let young_orphan = app.blob_path(&format!("{}-1700000000001.png", "ab".repeat(20)));
    std::fs::create_dir_all(old_orphan.parent().unwrap()).unwrap();
    for path in [&old_orphan, &young_orphan] {
        std::fs::write(path, images::png(1, 1)).unwrap();
    }
    // The recorded file is old too, and must stay.
    let recorded_path = app.blob_path(&recorded.name);
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    for path in [&old_orphan, &recorded_path] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }

    let output = app.run_cli(&["gc"]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout(&output).contains("removed 0 expired uploads and 1 orphan files"),
        "{}",
        stdout(&output)
    );
    assert!(!old_orphan.exists());
    assert!(
        young_orphan.exists(),
        "a young file may be an upload between rename and insert"
    );
    assert!(recorded_path.exists());
}

/// `verify` and `migrate-store` walk the records a page at a time; every name comes once, in
/// order, whether the last page is short or exactly full.
#[tokio::test]
async fn recorded_names_pages_through_every_record_once() {
    use futures_util::TryStreamExt;
    let app = app_without_sweeper(Stack::SQLITE_FS).await;
    let mut uploaded = Vec::new();
    for i in 0..5 {
        uploaded.push(app.upload_ok(images::png(2 + i, 2), "a.png").await.name);
    }
    uploaded.sort();
    let repo = app.repo(1).await;
    for (page, sizes) in [(2, vec![2, 2, 1]), (5, vec![5]), (7, vec![5])] {
        let pages: Vec<Vec<String>> = mediastore::db::recorded_names(repo.as_ref(), page)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), sizes);
        assert_eq!(pages.concat(), uploaded);
    }
}
