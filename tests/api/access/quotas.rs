//! What an upload token allows: file size, number of files over all its uploads (counted in
//! the database, so concurrent uploads cannot overshoot), and the owner its files go to.

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::{Carried, KEY_A, Service, accepted_files, signing_keys, token_app};
use crate::helpers::Stack;
use crate::helpers::{TestApp, assert_problem, detail, spawn_app_with, wait_until};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    a_file_over_the_token_max_file_bytes_is_413_and_nothing_is_kept,
    max_files_counts_every_upload_of_the_token,
    the_owner_hint_is_recorded_and_a_map_to_another_owner_is_409,
);
matrix!(all;
    concurrent_uploads_with_one_token_store_exactly_max_files,
    an_upload_over_max_files_fails_alone_in_its_group,
    when_max_files_refuses_an_upload_its_blobs_are_gone_by_the_answer,
);
// Two instances share the bucket as well as the database, so the test sees every blob.
matrix!(dbs = [sqlite, postgres], stores = [s3]; two_instances_count_one_token_together);

/// The stored names of `files`, sorted.
fn names(files: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = files
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// Exactly `accepted` is kept: their records and blobs, and nothing staged. The blobs of a
/// request refused for `max_files` are removed after the answer (see
/// `when_max_files_refuses_an_upload_its_blobs_are_gone_by_the_answer`), so here they are
/// waited for: these tests are about the count.
async fn assert_kept_exactly(app: &TestApp, accepted: &[Value]) {
    assert_eq!(app.record_count().await, accepted.len() as i64, "records");
    let expected = names(accepted);
    wait_until("the refused uploads' blobs are removed", || async {
        app.stored_names().await == expected
    })
    .await;
    app.assert_no_staged_files();
    if let Some(bucket) = &app.bucket {
        bucket.assert_no_pending_multipart_uploads().await;
    }
}

async fn a_file_over_the_token_max_file_bytes_is_413_and_nothing_is_kept(stack: Stack) {
    let app = token_app(stack).await;
    let token = app.mint_token(json!({"max_file_bytes": 1000})).await;
    let response = app
        .upload_with_token(images::png_of_exactly(1001), &token)
        .await;
    let problem = assert_problem(response, 413, "file_too_large").await;
    assert!(
        detail(&problem).contains("1000"),
        "names the limit: {problem}"
    );
    app.assert_nothing_kept().await;
    // One good file and one too large in a request: neither is kept.
    let files = vec![images::png_of_exactly(900), images::png_of_exactly(1001)];
    let response = app.upload_with(files, Some(&token), Carried::Header).await;
    assert_problem(response, 413, "file_too_large").await;
    app.assert_nothing_kept().await;

    let response = app
        .upload_with_token(images::png_of_exactly(1000), &token)
        .await;
    let mut kept = accepted_files(response).await;
    // Another token without the limit has the server's.
    let unlimited = app.mint_token(json!({})).await;
    let response = app
        .upload_with_token(images::png_of_exactly(1001), &unlimited)
        .await;
    kept.extend(accepted_files(response).await);
    assert_kept_exactly(&app, &kept).await;
}

async fn max_files_counts_every_upload_of_the_token(stack: Stack) {
    let app = token_app(stack).await;
    let token = app.mint_token(json!({"max_files": 3})).await;
    let pngs = |n: u32| (0..n).map(|i| images::png(4 + i, 4)).collect::<Vec<_>>();
    let upload = |n: u32| app.upload_with(pngs(n), Some(&token), Carried::Header);

    assert_problem(upload(4).await, 413, "too_many_files").await;
    app.assert_nothing_kept().await;
    let mut kept = accepted_files(upload(2).await).await;
    assert_problem(upload(2).await, 413, "too_many_files").await;
    assert_kept_exactly(&app, &kept).await;
    kept.extend(accepted_files(upload(1).await).await);
    assert_problem(upload(1).await, 413, "too_many_files").await;
    assert_kept_exactly(&app, &kept).await;
    // The token carried in the query is the same token.
    let response = app.upload_with(pngs(1), Some(&token), Carried::Query).await;
    assert_problem(response, 413, "too_many_files").await;

    // Another token counts its own files.
    let other = app.mint_token(json!({"max_files": 3})).await;
    let response = app
        .upload_with(pngs(3), Some(&other), Carried::Header)
        .await;
    kept.extend(accepted_files(response).await);
    assert_kept_exactly(&app, &kept).await;
}

/// Six uploads of one file at once with a token for three: three are stored, three refused,
/// whatever the order the database sees them in.
async fn concurrent_uploads_with_one_token_store_exactly_max_files(stack: Stack) {
    let app = token_app(stack).await;
    let token = app.mint_token(json!({"max_files": 3})).await;
    let uploads = (0..6).map(|i| app.upload_with_token(images::png(4 + i, 4), &token));
    let kept = three_kept_three_refused(join_all(uploads).await).await;
    assert_kept_exactly(&app, &kept).await;
}

/// Uploads held at a locked database are recorded as one group (group commit). The group is
/// over one token's `max_files`; only that token's extra upload is refused, the rest are kept.
async fn an_upload_over_max_files_fails_alone_in_its_group(stack: Stack) {
    let app = spawn_app_with(stack, |s| {
        s.access.upload_auth = Some(mediastore::config::UploadAuth::Token);
        s.access.signing_keys = signing_keys(&[KEY_A]);
        s.database_timeout = std::time::Duration::from_secs(30); // far past the lock
    })
    .await;
    let limited = app.mint_token(json!({"max_files": 1})).await;
    let open = app.mint_token(json!({})).await;
    let lock = app.hold_write_lock().await;
    let uploads = join_all((0..6).map(|i| {
        let token = if i < 2 { &limited } else { &open };
        app.upload_with_token(images::png(4 + i, 4), token)
    }));
    let release = async {
        wait_until("every upload's blob is stored", || async {
            app.everything_stored().await.len() == 6
        })
        .await;
        lock.release().await;
    };
    let (responses, ()) = tokio::join!(uploads, release);

    let mut kept = Vec::new();
    let mut statuses = Vec::new();
    for response in responses {
        statuses.push(response.status().as_u16());
        match response.status().as_u16() {
            201 => kept.extend(accepted_files(response).await),
            _ => drop(assert_problem(response, 413, "too_many_files").await),
        }
    }
    let (limited_statuses, open_statuses) = statuses.split_at(2);
    assert_eq!(open_statuses, [201; 4], "{statuses:?}");
    let mut limited_statuses = limited_statuses.to_vec();
    limited_statuses.sort();
    assert_eq!(limited_statuses, [201, 413], "{statuses:?}");
    assert_kept_exactly(&app, &kept).await;
}

/// Behind a load balancer: the count is in the database the instances share, so two
/// instances count one token's files together.
async fn two_instances_count_one_token_together(stack: Stack) {
    let app = token_app(stack).await;
    let sibling = app.spawn_sibling(|_| {}).await;
    let token = app.mint_token(json!({"max_files": 3})).await;
    let uploads = (0..6).map(|i| {
        let instance = if i % 2 == 0 { &app } else { &sibling };
        instance.upload_with_token(images::png(4 + i, 4), &token)
    });
    let kept = three_kept_three_refused(join_all(uploads).await).await;
    assert_kept_exactly(&app, &kept).await;
    sibling.assert_no_staged_files();
}

/// Of six uploads of one file each, three were accepted and three refused for `max_files`;
/// the accepted files.
async fn three_kept_three_refused(responses: Vec<reqwest::Response>) -> Vec<Value> {
    let mut kept = Vec::new();
    let mut refused = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => kept.extend(accepted_files(response).await),
            _ => {
                assert_problem(response, 413, "too_many_files").await;
                refused += 1;
            }
        }
    }
    assert_eq!((kept.len(), refused), (3, 3));
    kept
}

async fn the_owner_hint_is_recorded_and_a_map_to_another_owner_is_409(stack: Stack) {
    let app = token_app(stack).await;
    let hinted = app.mint_token(json!({"owner_hint": "user-42"})).await;
    let free = app.mint_token(json!({})).await;
    let a = accepted_files(app.upload_with_token(images::png(4, 4), &hinted).await).await;
    let b = accepted_files(app.upload_with_token(images::png(5, 5), &free).await).await;
    let (a, b) = (&a[0], &b[0]);
    assert_eq!(a["owner_hint"], "user-42", "{a}");
    assert_eq!(a["owner"], Value::Null);
    assert!(b.get("owner_hint").is_none(), "no hint, no field: {b}");
    let app = &app;
    let info = |media: &Value| {
        let path = format!("{}/info", media["url"].as_str().unwrap());
        async move { app.get(&path).await.json::<Value>().await.unwrap() }
    };
    assert_eq!(info(a).await["owner_hint"], "user-42");

    // Another owner: refused, and the other file of the batch is not mapped either.
    let body = json!({"owner": "user-7", "files": [{"id": b["id"]}, {"id": a["id"]}]});
    let problem = assert_problem(app.map(&body).await, 409, "conflict").await;
    assert!(
        detail(&problem).contains(a["id"].as_str().unwrap()),
        "{problem}"
    );
    assert_eq!(info(a).await["owner"], Value::Null);
    assert_eq!(info(b).await["owner"], Value::Null);

    let body = json!({"owner": "user-42", "files": [{"id": a["id"]}, {"id": b["id"]}]});
    let response = app.map(&body).await;
    assert_eq!(response.status(), 200);
    let mapped: Value = response.json().await.unwrap();
    assert_eq!(mapped["files"][0]["owner"], "user-42");
    assert_eq!(mapped["files"][0]["owner_hint"], "user-42");
    assert_eq!(mapped["files"][1]["owner"], "user-42");
    assert_eq!(info(a).await["owner"], "user-42");
}

/// The count runs in the transaction that records the files, so a request refused for
/// `max_files` has already stored its blobs. By the time its `413` ("nothing of this request
/// was kept") arrives they must be gone, as after every other refusal: until then they can be
/// downloaded by name.
async fn when_max_files_refuses_an_upload_its_blobs_are_gone_by_the_answer(stack: Stack) {
    let app = token_app(stack).await;
    let token = app.mint_token(json!({"max_files": 1})).await;
    let kept = accepted_files(app.upload_with_token(images::png(4, 4), &token).await).await;
    for i in 0..30 {
        let response = app.upload_with_token(images::png(5 + i, 5), &token).await;
        assert_problem(response, 413, "too_many_files").await;
        let stored = app.stored_names().await;
        assert_eq!(
            stored,
            names(&kept),
            "refusal {i}: its blob outlived the 413"
        );
    }
    app.assert_no_staged_files();
}
