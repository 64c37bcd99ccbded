//! Events (SPEC §11) to a real NATS JetStream server and a real HTTP receiver.

mod crash;
mod sinks;

use std::time::Duration;

use serde_json::json;
use sinks::{Delivery, Receiver, SECRET, TestStream, assert_cloudevent, nats_url};

use crate::helpers::{Stack, spawn_app_with, wait_until};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    each_event_arrives_on_its_subject_as_a_cloudevent_in_order,
    a_failing_webhook_gets_the_same_event_again_after_growing_gaps,
);
matrix!(dbs = [sqlite], stores = [fs]; a_dead_letter_is_listed_and_delivered_by_events_retry);

async fn each_event_arrives_on_its_subject_as_a_cloudevent_in_order(stack: Stack) {
    let stream = TestStream::new().await;
    let app = spawn_app_with(stack, |s| stream.configure(s)).await;
    let kept = app.upload_ok(images::png(20, 10), "kept.png").await;
    let gone = app.upload_ok(images::jpeg(16, 16), "gone.jpg").await;
    let map = app
        .map(&json!({"owner": "rosa", "files": [{"id": gone.id}]}))
        .await;
    assert_eq!(map.status(), 200);
    assert_eq!(app.delete(&gone.id).await.status(), 204);

    let messages = stream.messages(4).await;
    let seen: Vec<(String, String)> = messages
        .iter()
        .map(|(subject, _, event)| {
            (
                subject.clone(),
                event["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let on = |kind: &str| format!("{}.media.{kind}", stream.prefix);
    let (kept_id, gone_id) = (kept.id.to_string(), gone.id.to_string());
    // In order for one media; the other's upload may come before or after.
    let of_gone: Vec<_> = seen
        .iter()
        .filter(|(_, m)| *m == gone_id)
        .map(|(s, _)| s.clone())
        .collect();
    assert_eq!(of_gone, [on("uploaded"), on("mapped"), on("deleted")]);
    assert!(seen.contains(&(on("uploaded"), kept_id.clone())));
    for (subject, msg_id, event) in &messages {
        let kind = subject.rsplit('.').next().unwrap();
        assert_cloudevent(event, kind, event["subject"].as_str().unwrap());
        assert_eq!(
            event["id"].as_str().unwrap(),
            msg_id,
            "Nats-Msg-Id is the event id"
        );
    }
    let mapped = &messages
        .iter()
        .find(|(s, _, _)| *s == on("mapped"))
        .unwrap()
        .2;
    assert_eq!(mapped["data"]["owner"], "rosa");
    assert_eq!(mapped["data"]["metadata"]["width"], 16);
    stream.delete().await;
}

async fn a_failing_webhook_gets_the_same_event_again_after_growing_gaps(stack: Stack) {
    let receiver = Receiver::start(&[500, 500]).await;
    let app = spawn_app_with(stack, |s| {
        receiver.configure(s);
        s.events.retry_base = Duration::from_millis(400);
    })
    .await;
    let media = app.upload_ok(images::png(8, 8), "a.png").await;
    wait_until("the third attempt succeeds", || async {
        receiver.deliveries().iter().any(|d| d.answered == 200)
    })
    .await;
    let got = receiver.deliveries();
    assert_eq!(
        got.iter().map(|d| d.answered).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    assert!(
        got.iter().all(|d| d.id == got[0].id),
        "one webhook-id: {got:?}"
    );
    assert!(got.iter().all(Delivery::signature_is_valid));
    let event = got[2].json();
    assert_cloudevent(&event, "uploaded", &media.id.to_string());
    assert_eq!(event["id"], got[0].id);
    let (first, second) = (got[1].at - got[0].at, got[2].at - got[1].at);
    assert!(second > first, "gaps grow: {first:?} then {second:?}");
    // Delivered: nothing more comes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.deliveries().len(), 3);
}

async fn a_dead_letter_is_listed_and_delivered_by_events_retry(stack: Stack) {
    let receiver = Receiver::start(&[]).await;
    receiver.answer_always(503);
    let app = spawn_app_with(stack, |s| {
        receiver.configure(s);
        s.events.retry_base = Duration::from_millis(20);
        s.events.max_attempts = 3;
    })
    .await;
    let media = app.upload_ok(images::png(8, 8), "a.png").await;
    let env = [
        ("WEBHOOK_URLS", receiver.url.clone()),
        ("WEBHOOK_SECRET", SECRET.to_owned()),
    ];
    wait_until("the event is a dead letter", || async {
        let out = app.run_cli_with(&["events", "dead"], env.clone());
        String::from_utf8_lossy(&out.stdout).contains("1 dead letters")
    })
    .await;
    assert_eq!(
        receiver.deliveries().len(),
        3,
        "EVENT_MAX_ATTEMPTS attempts"
    );
    let listed = app.run_cli_with(&["events", "dead"], env.clone());
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains(&media.id.to_string()) && listed.contains("media.uploaded"),
        "{listed}"
    );
    assert!(listed.contains("503"), "the last error: {listed}");

    receiver.answer_always(200);
    let retried = app.run_cli_with(&["events", "retry", "--all"], env.clone());
    assert!(retried.status.success());
    assert!(String::from_utf8_lossy(&retried.stdout).contains("1 dead letters queued again"));
    wait_until("the retried event is delivered", || async {
        receiver.deliveries().iter().any(|d| d.answered == 200)
    })
    .await;
    let unknown = app.run_cli_with(
        &["events", "retry", "--id", &uuid::Uuid::new_v4().to_string()],
        env,
    );
    assert!(!unknown.status.success(), "no dead letter has that id");
}

matrix!(dbs = [postgres], stores = [fs]; two_instances_deliver_every_event_once_and_in_order);

/// Two instances on one PostgreSQL, both dispatching to one receiver that refuses a few
/// attempts: every event arrives, none twice (nothing crashed), each media's in order.
async fn two_instances_deliver_every_event_once_and_in_order(stack: Stack) {
    // Every fifth attempt fails, so that retries interleave with fresh events.
    let script: Vec<u16> = (0..400)
        .map(|n| if n % 5 == 2 { 500 } else { 200 })
        .collect();
    let receiver = Receiver::start(&script).await;
    let first = spawn_app_with(stack, |s| {
        receiver.configure(s);
        s.events.retry_base = Duration::from_millis(30);
    })
    .await;
    let second = first.spawn_sibling(|_| {}).await;
    let mut ids = Vec::new();
    for n in 0..15 {
        let app = if n % 2 == 0 { &first } else { &second };
        let media = app.upload_ok(images::png(8 + n, 8), "a.png").await;
        let map = app
            .map(&json!({"owner": "rosa", "files": [{"id": media.id}]}))
            .await;
        assert_eq!(map.status(), 200);
        assert_eq!(app.delete(media.id).await.status(), 204);
        ids.push(media.id.to_string());
    }
    let delivered = || {
        receiver
            .deliveries()
            .into_iter()
            .filter(|d| d.answered == 200)
            .collect::<Vec<_>>()
    };
    wait_until("every event is delivered", || async {
        delivered().len() >= ids.len() * 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // anything sent twice shows up now
    let got = delivered();
    let mut event_ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
    event_ids.sort();
    event_ids.dedup();
    assert_eq!(got.len(), ids.len() * 3, "each event delivered once");
    assert_eq!(event_ids.len(), got.len());
    for id in &ids {
        let kinds: Vec<String> = got
            .iter()
            .map(Delivery::json)
            .filter(|e| e["subject"] == id.as_str())
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            kinds,
            [
                "mediastore.media.uploaded",
                "mediastore.media.mapped",
                "mediastore.media.deleted"
            ],
            "in order for {id}"
        );
    }
}

matrix!(dbs = [sqlite, postgres], stores = [fs]; an_upload_expired_by_gc_is_a_media_expired_event);

/// `mediastore gc` writes the same events as the service: its expiries arrive too.
async fn an_upload_expired_by_gc_is_a_media_expired_event(stack: Stack) {
    let stream = TestStream::new().await;
    let app = spawn_app_with(stack, |s| stream.configure(s)).await;
    let media = app.upload_ok(images::png(8, 8), "never-mapped.png").await;
    let gc = app.run_cli_with(
        &["gc"],
        [
            ("UNMAPPED_TTL_SECS", "0".to_owned()),
            ("EVENTS_NATS_URL", nats_url()),
            ("EVENTS_NATS_PREFIX", stream.prefix.clone()),
            ("EVENTS_NATS_STREAM", stream.name.clone()),
        ],
    );
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    // The command recorded it; the service's dispatcher delivers it.
    let messages = stream.messages(2).await;
    let (subject, _, event) = &messages[1];
    assert_eq!(*subject, format!("{}.media.expired", stream.prefix));
    assert_cloudevent(event, "expired", &media.id.to_string());
    stream.delete().await;
}
