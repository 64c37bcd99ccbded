use crate::helpers::{Db, assert_problem, spawn_app};
use crate::on_both_databases;

on_both_databases!(healthz_and_readyz_answer_200_when_all_is_well);

async fn healthz_and_readyz_answer_200_when_all_is_well(db: Db) {
    let app = spawn_app(db).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readyz_is_503_when_the_upload_directory_is_not_writable() {
    let app = spawn_app(Db::Sqlite).await;
    // Replace the staging directory by a plain file: nothing can be staged any more.
    let staging = app.upload_dir().join(".tmp");
    std::fs::remove_dir_all(&staging).unwrap();
    std::fs::write(&staging, b"not a directory").unwrap();
    assert_problem(app.get("/readyz").await, 503, "unavailable").await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}
