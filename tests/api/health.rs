//! `/healthz` (the process is alive) and `/readyz` (the database and the store take work).

use crate::helpers::{Stack, assert_problem, spawn_app, spawn_app_with};
use crate::matrix;

matrix!(all; healthz_and_readyz_answer_200_when_all_is_well);

async fn healthz_and_readyz_answer_200_when_all_is_well(stack: Stack) {
    let app = spawn_app(stack).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readyz_is_503_when_the_upload_directory_is_not_writable() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    // Replace the staging directory by a plain file: nothing can be staged any more.
    let staging = app.upload_dir().join(".tmp");
    std::fs::remove_dir_all(&staging).unwrap();
    std::fs::write(&staging, b"not a directory").unwrap();
    assert_problem(app.get("/readyz").await, 503, "unavailable").await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_bucket_does_not_exist() {
    let app = spawn_app_with(Stack::SQLITE_S3, |s| {
        let mut missing = s.storage.s3().unwrap();
        missing.bucket = format!("{}-missing", missing.bucket);
        s.storage.use_bucket(&missing);
    })
    .await;
    assert_problem(app.get("/readyz").await, 503, "unavailable").await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}
