//! The blob store on a real file system.

use crate::helpers::{
    assert_nothing_staged_in, prepared_directory, sha1_hex, staged, staged_files_in,
};
use mediastore::media::ImageFormat;
use mediastore::storage::BlobStore;

#[tokio::test]
async fn the_same_bytes_committed_in_the_same_millisecond_get_two_names() {
    let (dir, store) = prepared_directory().await;
    let sha = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";
    let first = staged(&store, b"first").await;
    let second = staged(&store, b"second").await;
    let (a, _) = store
        .commit_at(first, sha, ImageFormat::Png, 1_732_262_400_123)
        .await
        .unwrap();
    let (b, _) = store
        .commit_at(second, sha, ImageFormat::Png, 1_732_262_400_123)
        .await
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(
        a.as_ref(),
        "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12-1732262400123.png"
    );
    assert_eq!(
        b.as_ref(),
        "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12-1732262400124.png"
    );
    let path_of =
        |name: &mediastore::media::StoredName| dir.path().join(name.shard()).join(name.as_ref());
    assert!(path_of(&a).exists() && path_of(&b).exists());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(path_of(&a)).unwrap().permissions(),
    );
    assert_eq!(
        mode & 0o777,
        0o644,
        "stored files are readable by other local readers"
    );
    assert_nothing_staged_in(dir.path());
}

#[tokio::test]
async fn staging_files_left_by_a_crash_are_removed_when_the_store_is_prepared() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".tmp")).unwrap();
    std::fs::write(dir.path().join(".tmp/upload-crashed"), b"half a file").unwrap();
    let store = BlobStore::fs(dir.path());
    assert_eq!(store.prepare().await.unwrap(), 1);
    assert_nothing_staged_in(dir.path());
}

#[tokio::test]
async fn a_dropped_staging_file_is_deleted() {
    let (dir, store) = prepared_directory().await;
    let mut staging = store.stage().await.unwrap();
    staging
        .append(bytes::Bytes::from_static(b"half"))
        .await
        .unwrap();
    let path = staging.path().to_path_buf();
    assert!(path.exists());
    drop(staging);
    assert!(
        !path.exists(),
        "a file dropped while being written is deleted"
    );
    let finished = staged(&store, b"whole").await;
    assert_eq!(finished.len, 5);
    drop(finished);
    assert_nothing_staged_in(dir.path());
}

/// On S3 a taken key moves the name to the next millisecond instead of overwriting: a small
/// file's commit is a conditional `PUT` (`If-None-Match: *`), a multipart one a conditional
/// server-side copy from its parts object. The commits run one after the other: run at once,
/// they test the server's atomicity, which S3 guarantees and moto's test server does not (its
/// check and write are two steps; two simultaneous writes of one key both succeeded there).
#[tokio::test]
async fn on_s3_the_same_bytes_in_the_same_millisecond_get_two_keys() {
    let bucket = crate::bucket::TestBucket::create().await;
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::s3(&bucket.settings, dir.path()).unwrap();
    store.prepare().await.unwrap();
    for size in [1000, 5 * 1024 * 1024 + 1] {
        let bytes = crate::images::large_png(size);
        let sha = sha1_hex(&bytes);
        let mut files = Vec::new();
        for _ in 0..2 {
            files.push(staged(&store, &bytes).await);
        }
        let mut names = Vec::new();
        for file in files {
            let (name, _) = store
                .commit_at(file, &sha, ImageFormat::Png, 1_732_262_400_123)
                .await
                .unwrap();
            names.push(name.to_string());
        }
        assert_eq!(
            names,
            [
                format!("{sha}-1732262400123.png"),
                format!("{sha}-1732262400124.png")
            ]
        );
        for name in &names {
            let name = mediastore::media::StoredName::parse(name).unwrap();
            let stored = store.sha1_of(&name).await.unwrap();
            assert_eq!(stored.as_deref(), Some(sha.as_str()));
        }
    }
    assert_eq!(
        bucket.keys().await.len(),
        4,
        "no parts object is left behind"
    );
    bucket.assert_no_pending_multipart_uploads().await;
    assert_nothing_staged_in(dir.path());
}

/// Two instances staging in one directory: a start-up clears what a crashed process left, never
/// the uploads in flight of a live one.
#[tokio::test]
async fn a_start_up_clears_a_crashed_process_staging_but_not_a_live_ones() {
    let (dir, live) = prepared_directory().await;
    let in_flight = live.stage().await.unwrap();
    // What a crashed process leaves: its folder, a staged file, and a lock file no one holds.
    let crashed = dir.path().join(".tmp/0123456789abcdef0123456789abcdef");
    std::fs::create_dir_all(&crashed).unwrap();
    std::fs::write(crashed.join("upload-half"), b"half a file").unwrap();
    std::fs::write(
        dir.path()
            .join(".tmp/0123456789abcdef0123456789abcdef.lock"),
        b"",
    )
    .unwrap();

    let starting = BlobStore::fs(dir.path());
    assert_eq!(
        starting.prepare().await.unwrap(),
        1,
        "only the crashed upload"
    );
    assert!(!crashed.exists());
    assert!(
        in_flight.path().exists(),
        "the live instance's upload is untouched"
    );
    assert_eq!(
        staged_files_in(dir.path()),
        [in_flight.path().to_path_buf()]
    );
}
