//! Expiry of abandoned uploads, crash leftovers, and the `gc` and `verify` commands.

use std::time::{Duration, SystemTime};

use mediastore::startup::Application;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app_with};
use crate::images;
use crate::on_both_databases;

on_both_databases!(
    gc_expires_unmapped_uploads_and_keeps_mapped_ones,
    the_background_sweeper_expires_abandoned_uploads,
    two_sweepers_at_once_remove_each_upload_exactly_once,
    a_stray_temporary_file_is_removed_at_start_up,
    gc_removes_orphan_files_older_than_an_hour_only,
    verify_reports_corrupt_missing_and_orphan_files,
);

/// An app whose own sweeper is off, so that the test decides when sweeps happen.
async fn app_without_sweeper(db: Db) -> TestApp {
    spawn_app_with(db, |s| s.sweep_interval = Duration::ZERO).await
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn gc_expires_unmapped_uploads_and_keeps_mapped_ones(db: Db) {
    let app = app_without_sweeper(db).await;
    let kept = app.upload_ok(images::png(2, 2), "kept.png").await;
    let abandoned = app.upload_ok(images::png(3, 3), "abandoned.png").await;
    assert_eq!(
        app.map(&json!({"owner": "u", "files": [{"id": kept["id"]}]}))
            .await
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await; // let the one-second TTL pass

    let output = app.run_cli(&["gc"], &[("UNMAPPED_TTL_SECS", "1")]);
    crate::helpers::assert_gc_expired_only(&output, abandoned["id"].as_str().unwrap());

    assert_eq!(
        app.get(abandoned["url"].as_str().unwrap()).await.status(),
        404
    );
    assert_eq!(
        app.get(abandoned["file_url"].as_str().unwrap())
            .await
            .status(),
        404
    );
    assert_eq!(app.get(kept["url"].as_str().unwrap()).await.status(), 200);
    assert_eq!(app.record_count().await, 1);
    assert_eq!(app.stored_files().len(), 1);
}

async fn the_background_sweeper_expires_abandoned_uploads(db: Db) {
    let app = spawn_app_with(db, |s| {
        s.unmapped_ttl = Duration::from_secs(1);
        s.sweep_interval = Duration::from_secs(1);
    })
    .await;
    let abandoned = app.upload_ok(images::png(3, 3), "abandoned.png").await;
    let mut gone = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if app.record_count().await == 0 {
            gone = true;
            break;
        }
    }
    assert!(gone, "the sweeper removed the record within ten seconds");
    assert!(app.stored_files().is_empty());
    assert_eq!(
        app.get(abandoned["url"].as_str().unwrap()).await.status(),
        404
    );
}

async fn two_sweepers_at_once_remove_each_upload_exactly_once(db: Db) {
    let app = app_without_sweeper(db).await;
    for i in 0..20 {
        app.upload_ok(images::png(2 + i, 2), "a.png").await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let first = mediastore::db::connect(&app.settings.database_url, 2)
        .await
        .unwrap();
    let second = mediastore::db::connect(&app.settings.database_url, 2)
        .await
        .unwrap();
    let blobs = mediastore::storage::BlobStore::fs(app.upload_dir());
    crate::helpers::assert_two_sweepers_share_the_work(
        (first.as_ref(), &blobs),
        (second.as_ref(), &blobs),
        20,
    )
    .await;
    assert_eq!(app.record_count().await, 0);
    assert!(app.stored_files().is_empty());
}

async fn a_stray_temporary_file_is_removed_at_start_up(db: Db) {
    let app = app_without_sweeper(db).await;
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

async fn gc_removes_orphan_files_older_than_an_hour_only(db: Db) {
    let app = app_without_sweeper(db).await;
    let recorded = app.upload_ok(images::png(2, 2), "a.png").await;
    let shard = app.upload_dir().join("ab");
    std::fs::create_dir_all(&shard).unwrap();
    let old_orphan = shard.join(format!("{}-1700000000000.png", "ab".repeat(20)));
    let young_orphan = shard.join(format!("{}-1700000000001.png", "ab".repeat(20)));
    for path in [&old_orphan, &young_orphan] {
        std::fs::write(path, images::png(1, 1)).unwrap();
    }
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old_orphan)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    // The recorded file is old too, and must stay.
    let recorded_path = app
        .stored_files()
        .into_iter()
        .find(|p| p.ends_with(recorded["name"].as_str().unwrap()))
        .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&recorded_path)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();

    let output = app.run_cli(&["gc"], &[]);
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

async fn verify_reports_corrupt_missing_and_orphan_files(db: Db) {
    let app = app_without_sweeper(db).await;
    let flipped = app.upload_ok(images::png(2, 2), "a.png").await;
    let deleted = app.upload_ok(images::png(3, 3), "b.png").await;
    app.upload_ok(images::jpeg(4, 4), "c.jpg").await;

    let clean = app.run_cli(&["verify"], &[]);
    assert!(clean.status.success(), "a clean store verifies: {clean:?}");
    assert!(
        stdout(&clean)
            .contains("checked 3 files and 3 records: 0 corrupt, 0 missing, 0 without record")
    );

    let path_of = |m: &Value| {
        let name = m["name"].as_str().unwrap();
        app.upload_dir().join(&name[..2]).join(name)
    };
    let mut bytes = std::fs::read(path_of(&flipped)).unwrap();
    bytes[20] ^= 0x01;
    std::fs::write(path_of(&flipped), bytes).unwrap();
    std::fs::remove_file(path_of(&deleted)).unwrap();
    // An intact file (its name matches its bytes) that no record names.
    let orphan = images::png(1, 1);
    let orphan_sha = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(&orphan));
    let orphan_name = format!("{orphan_sha}-1700000000000.png");
    let orphan_shard = app.upload_dir().join(&orphan_sha[..2]);
    std::fs::create_dir_all(&orphan_shard).unwrap();
    std::fs::write(orphan_shard.join(&orphan_name), orphan).unwrap();

    let output = app.run_cli(&["verify", "--json"], &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["corrupt_files"], json!([flipped["name"]]));
    assert_eq!(report["missing_files"], json!([deleted["name"]]));
    assert_eq!(report["files_without_record"], json!([orphan_name]));
    assert_eq!(report["records_checked"], 3);
    assert_eq!(report["files_checked"], 3);
}

/// `verify` and `migrate-store` walk the records a page at a time; every name comes once, in
/// order, whether the last page is short or exactly full.
#[tokio::test]
async fn recorded_names_pages_through_every_record_once() {
    use futures_util::TryStreamExt;
    let app = app_without_sweeper(Db::Sqlite).await;
    let mut uploaded = Vec::new();
    for i in 0..5 {
        let media = app.upload_ok(images::png(2 + i, 2), "a.png").await;
        uploaded.push(media["name"].as_str().unwrap().to_owned());
    }
    uploaded.sort();
    let repo = mediastore::db::connect(&app.settings.database_url, 1)
        .await
        .unwrap();
    for (page, sizes) in [(2, vec![2, 2, 1]), (5, vec![5]), (7, vec![5])] {
        let pages: Vec<Vec<String>> = mediastore::db::recorded_names(repo.as_ref(), page)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), sizes);
        assert_eq!(pages.concat(), uploaded);
    }
}
