//! The hot-file cache of downloads (DOWNLOAD_CACHE_BYTES): a small file or variant, once read,
//! is answered from memory. The proof is behind the service's back: with its file gone from
//! the disk, a cached file is still served, byte for byte; deleting the media through the API
//! drops it from the cache with its variants.

use crate::helpers::{Stack, metric_sample, spawn_app_with, spawn_process};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    a_small_file_once_read_is_served_from_memory_until_deleted,
    a_made_variant_is_served_from_memory_until_its_media_is_deleted,
);
matrix!(dbs = [sqlite], stores = [fs];
    without_the_cache_every_download_reads_the_store,
    hits_and_misses_are_counted,
);

async fn a_small_file_once_read_is_served_from_memory_until_deleted(stack: Stack) {
    let app = spawn_app_with(stack, |_| {}).await;
    let bytes = images::jpeg(40, 30);
    let media = app.upload_ok(bytes.clone(), "small.jpg").await;
    for path in media.paths() {
        assert_eq!(app.get(path).await.status(), 200);
    }
    app.delete_blob(&media.name).await;
    for path in media.paths() {
        let cached = app.get(path).await;
        assert_eq!(cached.status(), 200, "{path} from memory");
        assert_eq!(cached.headers()["etag"], format!("\"{}\"", media.sha1));
        assert_eq!(cached.bytes().await.unwrap(), bytes);
        // Ranges and HEAD come from the same buffer.
        let ranged = app.get_with(path, "range", "bytes=2-5").await;
        assert_eq!(ranged.status(), 206);
        assert_eq!(ranged.bytes().await.unwrap(), bytes[2..=5]);
    }
    assert_eq!(app.delete(media.id).await.status(), 204);
    assert_eq!(
        app.get(&media.file_url).await.status(),
        404,
        "forgotten with the media"
    );
}

async fn a_made_variant_is_served_from_memory_until_its_media_is_deleted(stack: Stack) {
    let app = spawn_app_with(stack, |_| {}).await;
    let media = app.upload_ok(images::jpeg(900, 600), "hall.jpg").await;
    let url = format!("{}?format=webp", media.variants["thumb"]);
    let made = app.get(&url).await;
    assert_eq!(made.status(), 200);
    let made = made.bytes().await.unwrap();
    for stored in app.everything_stored().await {
        if stored.ends_with(".webp") {
            std::fs::remove_file(app.upload_dir().join(&stored)).unwrap();
        }
    }
    let cached = app.get(&url).await;
    assert_eq!(cached.status(), 200);
    assert_eq!(
        cached.bytes().await.unwrap(),
        made,
        "the same bytes, from memory"
    );

    let other = app.upload_ok(images::jpeg(900, 600), "other.jpg").await;
    assert_eq!(app.delete(media.id).await.status(), 204);
    assert_eq!(
        app.get(&url).await.status(),
        404,
        "the variant went with its media"
    );
    assert_eq!(app.get(&other.file_url).await.status(), 200);
}

async fn without_the_cache_every_download_reads_the_store(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.storage.download_cache_bytes = 0).await;
    let media = app.upload_ok(images::jpeg(40, 30), "small.jpg").await;
    assert_eq!(app.get(&media.file_url).await.status(), 200);
    app.delete_blob(&media.name).await;
    assert_eq!(app.get(&media.file_url).await.status(), 404);
}

async fn hits_and_misses_are_counted(stack: Stack) {
    // A process of its own: its counters are this test's alone.
    let app = spawn_process(stack).await;
    let media = app.upload_ok(images::jpeg(40, 30), "small.jpg").await;
    for _ in 0..3 {
        assert_eq!(app.get(&media.file_url).await.status(), 200);
    }
    let page = app.get("/metrics").await.text().await.unwrap();
    let series =
        |outcome| format!("mediastore_download_cache_lookups_total{{outcome=\"{outcome}\"}}");
    assert_eq!(metric_sample(&page, &series("miss")), 1.0, "{page}");
    assert_eq!(metric_sample(&page, &series("hit")), 2.0);
}
