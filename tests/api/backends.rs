//! The blob store through the API on both back ends: the sharded directory and an
//! S3-compatible bucket (a real server over a socket, see `bucket.rs`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::bucket::TestBucket;
use crate::helpers::{Db, TestApp, assert_problem, paths, spawn_app_with};
use crate::images;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Fs,
    S3,
}

/// Runs each named `async fn(Backend)` test once per back end.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn fs() {
                super::$name(super::Backend::Fs).await
            }
            #[tokio::test]
            async fn s3() {
                super::$name(super::Backend::S3).await
            }
        }
    )*};
}

on_both_backends!(
    blobs_round_trip_by_id_and_by_name_whole_and_in_ranges,
    the_same_bytes_uploaded_at_once_get_distinct_names,
    delete_removes_the_record_and_the_blob,
    rejected_and_abandoned_uploads_leave_nothing_behind,
    gc_expires_unmapped_uploads_and_removes_orphans,
    verify_finds_corrupt_missing_and_unrecorded_blobs,
    readyz_is_ready,
);

use crate::images::OVER_ONE_S3_PART as MULTIPART_SIZE;

/// An app on SQLite whose blobs go to `backend`.
pub struct StoreApp {
    pub app: TestApp,
    pub bucket: Option<TestBucket>,
}

impl StoreApp {
    pub async fn spawn(
        backend: Backend,
        customize: impl FnOnce(&mut mediastore::config::Settings),
    ) -> Self {
        let bucket = match backend {
            Backend::Fs => None,
            Backend::S3 => Some(TestBucket::create().await),
        };
        let app = spawn_app_with(Db::Sqlite, |s| {
            s.sweep_interval = Duration::ZERO;
            if let Some(bucket) = &bucket {
                bucket.use_in(s);
            }
            customize(s);
        })
        .await;
        Self { app, bucket }
    }

    /// The stored names, read from the directory or from the bucket's own listing. With S3 the
    /// upload directory holds nothing but the (empty) staging area.
    pub async fn stored_names(&self) -> Vec<String> {
        let Some(bucket) = &self.bucket else {
            return self
                .app
                .stored_files()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
        };
        assert!(self.app.stored_files().is_empty(), "no blob on local disk");
        let mut names = Vec::new();
        for key in bucket.keys().await {
            let name = key.rsplit('/').next().unwrap().to_owned();
            assert_eq!(
                key,
                bucket.key_of(&name),
                "keys are <prefix>/<2 chars>/<name>"
            );
            names.push(name);
        }
        names
    }

    /// The environment for the `mediastore` binary to use the same store.
    pub fn cli_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("UNMAPPED_TTL_SECS", "1".to_owned())];
        if let Some(bucket) = &self.bucket {
            env.push(("STORAGE", "s3".into()));
            env.extend(bucket.env());
        }
        env
    }

    pub fn run_cli(&self, args: &[&str]) -> std::process::Output {
        let env = self.cli_env();
        let env = crate::helpers::env_pairs(&env);
        self.app.run_cli(args, &env)
    }

    pub async fn assert_nothing_kept(&self) {
        assert_eq!(self.app.record_count().await, 0, "no record may be kept");
        assert_eq!(
            self.stored_names().await,
            Vec::<String>::new(),
            "no blob may be kept"
        );
        self.app.assert_no_staged_files();
        if let Some(bucket) = &self.bucket {
            assert_eq!(
                bucket.pending_multipart_uploads().await,
                Vec::<String>::new(),
                "no multipart upload may be left pending"
            );
        }
    }

    /// Overwrites a stored blob's bytes behind the service's back.
    async fn corrupt(&self, name: &str, bytes: Vec<u8>) {
        match &self.bucket {
            Some(bucket) => bucket.put_object(&bucket.key_of(name), bytes).await,
            None => std::fs::write(self.path_of(name), bytes).unwrap(),
        }
    }

    async fn delete_blob(&self, name: &str) {
        match &self.bucket {
            Some(bucket) => bucket.delete_object(&bucket.key_of(name)).await,
            None => std::fs::remove_file(self.path_of(name)).unwrap(),
        }
    }

    fn path_of(&self, name: &str) -> std::path::PathBuf {
        self.app.upload_dir().join(&name[..2]).join(name)
    }
}

async fn blobs_round_trip_by_id_and_by_name_whole_and_in_ranges(backend: Backend) {
    let store = StoreApp::spawn(backend, |_| {}).await;
    let app = &store.app;
    let small = images::jpeg(40, 30);
    let large = images::large_png(MULTIPART_SIZE);
    let small_media = app.upload_ok(small.clone(), "small.jpg").await;
    let large_media = app.upload_ok(large.clone(), "large.png").await;

    for (bytes, media) in [(&small, &small_media), (&large, &large_media)] {
        for path in paths(media) {
            let whole = app.get(&path).await;
            assert_eq!(whole.status(), 200, "{path}");
            assert_eq!(
                whole.bytes().await.unwrap().as_ref(),
                bytes.as_slice(),
                "{path}"
            );
            let head = app.client.head(app.url(&path)).send().await.unwrap();
            assert_eq!(
                head.headers()["content-length"],
                bytes.len().to_string().as_str()
            );
            let etag = head.headers()["etag"].clone();
            let cached = app
                .client
                .get(app.url(&path))
                .header("if-none-match", etag)
                .send()
                .await
                .unwrap();
            assert_eq!(cached.status(), 304);
        }
    }
    // Ranges across the 5 MiB part boundary, small (read whole) and large (streamed).
    let boundary = 5 * 1024 * 1024;
    for (first, last) in [(boundary - 10, boundary + 9), (1000, boundary + 4000)] {
        for path in paths(&large_media) {
            let range = app
                .client
                .get(app.url(&path))
                .header("range", format!("bytes={first}-{last}"))
                .send()
                .await
                .unwrap();
            assert_eq!(range.status(), 206);
            assert_eq!(
                range.headers()["content-range"],
                format!("bytes {first}-{last}/{MULTIPART_SIZE}").as_str()
            );
            assert_eq!(range.bytes().await.unwrap().as_ref(), &large[first..=last]);
        }
    }
    let past_the_end = app
        .client
        .get(app.url(&paths(&small_media)[0]))
        .header("range", format!("bytes={}-", small.len()))
        .send()
        .await
        .unwrap();
    assert_problem(past_the_end, 416, "range_not_satisfiable").await;

    let mut expected = vec![
        small_media["name"].as_str().unwrap().to_owned(),
        large_media["name"].as_str().unwrap().to_owned(),
    ];
    expected.sort();
    let mut stored = store.stored_names().await;
    stored.sort();
    assert_eq!(stored, expected);
    app.assert_no_staged_files();
}

/// Same bytes, same moment: the names differ in their milliseconds and nothing is overwritten
/// (on S3 the commit is a conditional `PUT`).
async fn the_same_bytes_uploaded_at_once_get_distinct_names(backend: Backend) {
    let store = StoreApp::spawn(backend, |_| {}).await;
    let bytes = images::png(9, 9);
    let uploads = (0..12).map(|_| store.app.upload_ok(bytes.clone(), "same.png"));
    let media = futures_util::future::join_all(uploads).await;
    let mut names: Vec<String> = media
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 12, "every upload has a name of its own");
    let mut stored = store.stored_names().await;
    stored.sort();
    assert_eq!(stored, names);
    for m in &media {
        let served = store.app.get(m["file_url"].as_str().unwrap()).await;
        assert_eq!(served.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
}

async fn delete_removes_the_record_and_the_blob(backend: Backend) {
    let store = StoreApp::spawn(backend, |_| {}).await;
    let media = store
        .app
        .upload_ok(images::large_png(MULTIPART_SIZE), "big.png")
        .await;
    assert_eq!(store.stored_names().await.len(), 1);
    let deleted = store.app.delete(media["id"].as_str().unwrap()).await;
    assert_eq!(deleted.status(), 204);
    for path in paths(&media) {
        assert_problem(store.app.get(&path).await, 404, "not_found").await;
    }
    store.assert_nothing_kept().await;
}

async fn rejected_and_abandoned_uploads_leave_nothing_behind(backend: Backend) {
    let limit = MULTIPART_SIZE as u64;
    let store = StoreApp::spawn(backend, |s| s.limits.max_file_bytes = limit).await;
    let app = &store.app;
    assert_problem(
        app.post_upload(images::pdf(), "x.jpg").await,
        415,
        "unsupported_media_type",
    )
    .await;
    let over = images::large_png(MULTIPART_SIZE + 1);
    assert_problem(
        app.post_upload(over, "big.png").await,
        413,
        "file_too_large",
    )
    .await;
    assert_problem(
        app.post_upload(images::truncated_jpeg(), "t.jpg").await,
        422,
        "invalid_image",
    )
    .await;

    // A client that hangs up half way through a multipart-sized file.
    app.hang_up_half_way(&images::large_png(MULTIPART_SIZE))
        .await;
    store.assert_nothing_kept().await;
}

async fn gc_expires_unmapped_uploads_and_removes_orphans(backend: Backend) {
    let store = StoreApp::spawn(backend, |_| {}).await;
    let app = &store.app;
    let kept = app.upload_ok(images::png(2, 2), "kept.png").await;
    let abandoned = app.upload_ok(images::png(3, 3), "abandoned.png").await;
    let mapped = app
        .map(&json!({"owner": "u", "files": [{"id": kept["id"]}]}))
        .await;
    assert_eq!(mapped.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the one-second TTL

    let output = store.run_cli(&["gc"]);
    crate::helpers::assert_gc_expired_only(&output, abandoned["id"].as_str().unwrap());
    assert_eq!(store.stored_names().await, [kept["name"].as_str().unwrap()]);
    for path in paths(&abandoned) {
        assert_eq!(app.get(&path).await.status(), 404);
    }

    // A blob without a record; `gc` only takes those over an hour old, so the age limit is
    // lifted here by calling the library with zero.
    let orphan = format!("{}-1700000000000.png", "ab".repeat(20));
    let unrelated = "media/notes/readme.txt";
    match &store.bucket {
        Some(bucket) => {
            bucket
                .put_object(&bucket.key_of(&orphan), images::png(1, 1))
                .await;
            bucket
                .put_object(unrelated, b"not a blob of ours".to_vec())
                .await;
        }
        None => {
            std::fs::create_dir_all(app.upload_dir().join("ab")).unwrap();
            std::fs::write(store.path_of(&orphan), images::png(1, 1)).unwrap();
            std::fs::create_dir_all(app.upload_dir().join("notes")).unwrap();
            std::fs::write(app.upload_dir().join("notes/readme.txt"), b"not ours").unwrap();
        }
    }
    let repo = mediastore::db::connect(&app.settings.database_url, 1)
        .await
        .unwrap();
    let blobs = mediastore::storage::BlobStore::new(&app.settings.storage).unwrap();
    let removed = mediastore::lifecycle::remove_orphans(repo.as_ref(), &blobs, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(removed, [orphan]);
    let kept_name = kept["name"].as_str().unwrap();
    match &store.bucket {
        // A key outside the shard folders is not ours and is never touched.
        Some(bucket) => assert_eq!(
            bucket.keys().await,
            [bucket.key_of(kept_name), unrelated.into()]
        ),
        None => {
            assert_eq!(store.stored_names().await, [kept_name]);
            assert!(app.upload_dir().join("notes/readme.txt").exists());
        }
    }
    assert_eq!(
        app.get(kept["file_url"].as_str().unwrap()).await.status(),
        200
    );
}

async fn verify_finds_corrupt_missing_and_unrecorded_blobs(backend: Backend) {
    let store = StoreApp::spawn(backend, |_| {}).await;
    let app = &store.app;
    let flipped = app.upload_ok(images::png(2, 2), "a.png").await;
    let deleted = app
        .upload_ok(images::large_png(MULTIPART_SIZE), "b.png")
        .await;
    app.upload_ok(images::jpeg(4, 4), "c.jpg").await;
    let clean = store.run_cli(&["verify"]);
    assert!(clean.status.success(), "a clean store verifies: {clean:?}");

    let flipped_name = flipped["name"].as_str().unwrap();
    let mut bytes = images::png(2, 2);
    bytes[20] ^= 0x01;
    store.corrupt(flipped_name, bytes).await;
    store.delete_blob(deleted["name"].as_str().unwrap()).await;
    let orphan = images::png(1, 1);
    let orphan_sha = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(&orphan));
    let orphan_name = format!("{orphan_sha}-1700000000000.png");
    match &store.bucket {
        Some(bucket) => {
            bucket
                .put_object(&bucket.key_of(&orphan_name), orphan)
                .await
        }
        None => {
            std::fs::create_dir_all(app.upload_dir().join(&orphan_sha[..2])).unwrap();
            std::fs::write(store.path_of(&orphan_name), orphan).unwrap();
        }
    }

    let output = store.run_cli(&["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["corrupt_files"], json!([flipped_name]));
    assert_eq!(report["missing_files"], json!([deleted["name"]]));
    assert_eq!(report["files_without_record"], json!([orphan_name]));
    assert_eq!(report["records_checked"], 3);
    assert_eq!(report["files_checked"], 3);
}

async fn readyz_is_ready(backend: Backend) {
    let store = StoreApp::spawn(backend, |_| {}).await;
    assert_eq!(store.app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_bucket_does_not_exist() {
    let bucket = TestBucket::create().await;
    let mut missing = bucket.settings.clone();
    missing.bucket = format!("{}-missing", missing.bucket);
    let app = spawn_app_with(Db::Sqlite, |s| {
        bucket.use_in(s);
        s.storage.use_bucket(&missing);
    })
    .await;
    assert_problem(app.get("/readyz").await, 503, "unavailable").await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}
