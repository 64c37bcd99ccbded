//! Checks shared by the tests of expiry: the sweeper through the library and `mediastore gc`.

use super::app::TestApp;

/// Runs two sweepers at once, each with its own pool and store as two instances would have
/// (`first` and `second` may be the same app), and checks that together they expired
/// `expected` uploads, none of them twice.
pub async fn assert_two_sweepers_share_the_work(
    first: &TestApp,
    second: &TestApp,
    expected: usize,
) {
    let (first_repo, second_repo) = (first.repo(2).await, second.repo(2).await);
    let (first_blobs, second_blobs) = (first.blob_store(), second.blob_store());
    // Everything created so far has expired.
    let cutoff = chrono::Utc::now();
    let (a, b) = tokio::join!(
        mediastore::lifecycle::sweep_expired(first_repo.as_ref(), &first_blobs, cutoff),
        mediastore::lifecycle::sweep_expired(second_repo.as_ref(), &second_blobs, cutoff),
    );
    let (a, b) = (a.expect("first sweeper"), b.expect("second sweeper"));
    let mut ids: Vec<_> = a.iter().chain(&b).map(|r| r.id).collect();
    assert_eq!(ids.len(), expected);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no upload was removed twice");
}

/// `mediastore gc` succeeded, named the expired upload, and removed it alone.
pub fn assert_gc_expired_only(output: &std::process::Output, expired_id: uuid::Uuid) {
    assert!(output.status.success(), "{output:?}");
    let printed = stdout(output);
    assert!(printed.contains(&expired_id.to_string()), "{printed}");
    assert!(
        printed.contains("removed 1 expired uploads and 0 orphan files"),
        "{printed}"
    );
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
