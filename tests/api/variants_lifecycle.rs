//! Kept variants across the media's life: expiry takes them along, `gc` removes those whose
//! file is gone, `verify` reports them, and `migrate-store` copies them. Deleting is in
//! `variants.rs`.

use std::time::Duration;

use crate::bucket::TestBucket;
use crate::helpers::{Media, Stack, TestApp, spawn_app_with, stdout};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite], stores = [fs, s3];
    gc_removes_variants_whose_file_is_gone_and_verify_reports_them,
    an_expired_upload_takes_its_variants_along,
);

async fn app(stack: Stack) -> TestApp {
    spawn_app_with(stack, |s| s.sweep_interval = Duration::ZERO).await
}

/// Requests each of `variants` once, so that it is made and kept.
async fn make(app: &TestApp, media: &Media, variants: &[&str]) {
    for variant in variants {
        let response = app.get(&media.variants[*variant]).await;
        assert_eq!(response.status(), 200, "{variant}");
    }
}

/// Where `app` keeps a variant: its key in the bucket, or its path in the directory.
fn variant_location(app: &TestApp, media: &Media, file: &str) -> String {
    let folder = format!("variants/{}/{}/{file}", &media.name[..2], media.name);
    match &app.bucket {
        Some(bucket) => format!("{}/{folder}", bucket.settings.prefix),
        None => app.upload_dir().join(folder).display().to_string(),
    }
}

async fn variant_exists(app: &TestApp, media: &Media, file: &str) -> bool {
    let location = variant_location(app, media, file);
    match &app.bucket {
        Some(bucket) => bucket.keys().await.contains(&location),
        None => std::path::Path::new(&location).exists(),
    }
}

async fn gc_removes_variants_whose_file_is_gone_and_verify_reports_them(stack: Stack) {
    let app = app(stack).await;
    let gone = app.upload_ok(images::jpeg(900, 600), "gone.jpg").await;
    let kept = app.upload_ok(images::jpeg(800, 600), "kept.jpg").await;
    make(&app, &gone, &["thumb", "w320"]).await;
    make(&app, &kept, &["card"]).await;
    // Behind the service's back: one file vanishes, one variant's bytes are garbage.
    app.delete_blob(&gone.name).await;
    let garbage = b"not a jpeg at all".to_vec();
    match &app.bucket {
        Some(bucket) => {
            let key = variant_location(&app, &kept, "cover-640x480.jpg");
            bucket.put_object(&key, garbage).await;
        }
        None => {
            std::fs::write(variant_location(&app, &kept, "cover-640x480.jpg"), garbage).unwrap()
        }
    }

    let verified = app.run_cli(&["verify"]);
    assert_eq!(verified.status.code(), Some(1), "{verified:?}");
    let printed = stdout(&verified);
    for file in ["cover-200x200.jpg", "w320.jpg"] {
        let line = format!("variant-without-file\t{}/{file}", gone.name);
        assert!(printed.contains(&line), "{line} in:\n{printed}");
    }
    let line = format!("variant-unreadable\t{}/cover-640x480.jpg", kept.name);
    assert!(printed.contains(&line), "{line} in:\n{printed}");
    assert!(
        printed.contains("checked 3 variants: 2 without their file, 1 unreadable"),
        "{printed}"
    );

    let collected = app.run_cli(&["gc"]);
    assert!(collected.status.success(), "{collected:?}");
    let printed = stdout(&collected);
    assert!(
        printed.contains("removed 2 variants of missing files"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("orphan-variant\t{}/w320.jpg", gone.name)),
        "{printed}"
    );
    for file in ["cover-200x200.jpg", "w320.jpg"] {
        assert!(!variant_exists(&app, &gone, file).await, "{file} removed");
    }
    assert!(
        variant_exists(&app, &kept, "cover-640x480.jpg").await,
        "a variant of a file stays"
    );
}

async fn an_expired_upload_takes_its_variants_along(stack: Stack) {
    let app = app(stack).await;
    let media = app
        .upload_ok(images::jpeg(640, 480), "never-mapped.jpg")
        .await;
    make(&app, &media, &["thumb"]).await;
    assert!(variant_exists(&app, &media, "cover-200x200.jpg").await);

    let swept = app.run_cli_with(&["gc"], [("UNMAPPED_TTL_SECS", "0")]);
    assert!(swept.status.success(), "{swept:?}");
    assert!(
        stdout(&swept).contains(&format!("expired\t{}", media.id)),
        "{swept:?}"
    );
    assert!(
        !variant_exists(&app, &media, "cover-200x200.jpg").await,
        "expired with its file"
    );
}

#[tokio::test]
async fn migrate_store_copies_the_kept_variants_once() {
    let on_disk = app(Stack::SQLITE_FS).await;
    let media = on_disk.upload_ok(images::jpeg(900, 600), "photo.jpg").await;
    make(&on_disk, &media, &["thumb", "w320"]).await;
    let bucket = TestBucket::create().await;
    let to_s3 = ["migrate-store", "--from", "fs", "--to", "s3"];

    let first = on_disk.run_cli_with(&to_s3, bucket.env());
    assert!(first.status.success(), "{first:?}");
    assert!(stdout(&first).contains("copied 2 variants"), "{first:?}");
    let keys = bucket.keys().await;
    for file in ["cover-200x200.jpg", "w320.jpg"] {
        let key = format!("media/variants/{}/{}/{file}", &media.name[..2], media.name);
        assert!(keys.contains(&key), "{key} in {keys:?}");
        let copied = bucket.get_object(&key).await;
        let local = on_disk.upload_dir().join(&key["media/".len()..]);
        assert_eq!(
            copied,
            std::fs::read(local).unwrap(),
            "{file}: the same bytes"
        );
    }
    let again = on_disk.run_cli_with(&to_s3, bucket.env());
    assert!(
        stdout(&again).contains("copied 0 variants"),
        "idempotent: {again:?}"
    );
}
