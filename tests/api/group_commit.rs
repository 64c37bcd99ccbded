//! Group commit: uploads that reach the database while it is busy are recorded together, in
//! one transaction, and each is still answered only once its records are committed.

use futures_util::future::join_all;

use crate::helpers::{Stack, metric_sample, spawn_process_with, wait_until};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    uploads_that_wait_for_the_database_are_recorded_together,
);

const UPLOADS: u32 = 12;

async fn uploads_that_wait_for_the_database_are_recorded_together(stack: Stack) {
    // A process of its own, so the group metrics are this test's alone; a database timeout
    // far longer than the lock is held.
    let app = spawn_process_with(stack, &[("DATABASE_TIMEOUT_SECS", "30")]).await;
    let lock = app.hold_write_lock().await;
    let uploads = join_all((0..UPLOADS).map(|i| app.post_upload(images::png(4 + i, 4), "a.png")));
    let release = async {
        // Blobs are committed before their records: every upload is then at the database.
        wait_until("every upload's file is stored", || async {
            app.stored_files().len() == UPLOADS as usize
        })
        .await;
        assert_eq!(app.record_count().await, 0, "nothing recorded while locked");
        lock.release().await;
    };
    let (responses, ()) = tokio::join!(uploads, release);

    for response in responses {
        assert_eq!(response.status(), 201);
    }
    assert_eq!(app.record_count().await, i64::from(UPLOADS));
    let page = app.get("/metrics").await.text().await.unwrap();
    let recorded = metric_sample(&page, "mediastore_upload_group_size_sum");
    let transactions = metric_sample(&page, "mediastore_upload_group_size_count");
    assert_eq!(recorded, f64::from(UPLOADS), "{page}");
    assert!(
        transactions < f64::from(UPLOADS),
        "{UPLOADS} uploads took {transactions} transactions"
    );
}
