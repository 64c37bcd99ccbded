//! At least once across crashes (SPEC §11): the real binary killed with SIGKILL in the middle of
//! an upload storm, again and again. Afterwards every upload it acknowledged has had its
//! `media.uploaded` event delivered to both sinks; a redelivery carries the same event id, and
//! JetStream keeps one copy.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::multipart::Form;

use super::sinks::{Receiver, TestStream};
use crate::helpers::{MediaList, Stack, file_part, spawn_process_on, wait_until_within};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    every_acknowledged_upload_is_announced_across_kill_9);

const CRASHES: u32 = 3;
const CLIENTS: u32 = 6;

async fn every_acknowledged_upload_is_announced_across_kill_9(stack: Stack) {
    let receiver = Receiver::start(&[]).await;
    let stream = TestStream::new().await;
    let mut app = spawn_process_on(stack, |_| {
        let mut env = receiver.env();
        env.extend(stream.env());
        // Short leases: what a killed instance had claimed is due again within seconds.
        env.push(("WEBHOOK_TIMEOUT_SECS".into(), "1".into()));
        env.push(("EVENT_RETRY_BASE_MS".into(), "50".into()));
        env
    })
    .await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    for crash in 0..CRASHES {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (http, url) = (app.client.clone(), app.url("/v1/media"));
                let acknowledged = acknowledged.clone();
                tokio::spawn(upload_until_refused(
                    http,
                    url,
                    crash * 100 + client,
                    acknowledged,
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500 + 200 * u64::from(crash))).await;
        app.kill_hard();
        for client in clients {
            client.await.unwrap();
        }
        app.restart().await;
    }
    let acknowledged: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    assert!(
        acknowledged.len() >= (CRASHES * CLIENTS) as usize,
        "the storm got uploads through: {}",
        acknowledged.len()
    );

    // What the killed instances had leased is due again when their leases end.
    let announced_by_webhook = || {
        let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
        for delivery in receiver.deliveries() {
            let event = delivery.json();
            if event["type"] == "mediastore.media.uploaded" {
                let media = event["subject"].as_str().unwrap().to_owned();
                ids.entry(media).or_default().insert(delivery.id.clone());
            }
        }
        ids
    };
    wait_until_within(
        Duration::from_secs(60),
        "every acknowledged upload is announced by webhook",
        || async {
            let got = announced_by_webhook();
            acknowledged.iter().all(|id| got.contains_key(id))
        },
    )
    .await;
    for (media, event_ids) in announced_by_webhook() {
        assert_eq!(
            event_ids.len(),
            1,
            "one event id per upload of {media}: {event_ids:?}"
        );
    }
    wait_until_within(
        Duration::from_secs(60),
        "every acknowledged upload is on the stream",
        || async {
            let on_stream: HashSet<String> = stream
                .all_messages()
                .await
                .into_iter()
                .map(|(_, _, event)| event["subject"].as_str().unwrap().to_owned())
                .collect();
            acknowledged.is_subset(&on_stream)
        },
    )
    .await;
    // Redeliveries within the duplicate window were dropped: one message per event id.
    let messages = stream.all_messages().await;
    let ids: HashSet<&str> = messages.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(
        ids.len(),
        messages.len(),
        "JetStream kept one copy of each event"
    );
    stream.delete().await;
}

/// Uploads small, different images one after another until the service stops answering;
/// records the id of each upload answered 201 with its record.
async fn upload_until_refused(
    http: reqwest::Client,
    url: String,
    client: u32,
    acknowledged: Arc<Mutex<Vec<String>>>,
) {
    for n in 0.. {
        let image = images::png(8 + client % 64, 8 + n % 64);
        let form = Form::new().part("file", file_part(image, "storm.png", "image/png"));
        let Ok(response) = http.post(&url).multipart(form).send().await else {
            return; // killed
        };
        assert!(
            response.status() == 201 || response.status().is_server_error(),
            "an upload is accepted or the service is going: {}",
            response.status()
        );
        if response.status() != 201 {
            continue;
        }
        let Ok(body) = response.bytes().await else {
            return; // killed before the answer was complete: not acknowledged
        };
        let list: MediaList = serde_json::from_slice(&body).expect("an upload's record");
        let mut acknowledged = acknowledged.lock().unwrap();
        acknowledged.extend(list.files.into_iter().map(|m| m.id.to_string()));
    }
}
