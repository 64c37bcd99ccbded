//! `mediastore-load event-sink`: the consumer end of the service's events during a bench run.
//! It receives webhooks over HTTP and the same events from NATS (a core subscription on the
//! stream's subjects, which the server feeds as each publication is stored), and measures each
//! event's delivery lag: receipt time minus the event's `time`, the moment its change was
//! committed (both clocks are this machine's). It stops once no event came for `--idle-secs`
//! after the first one, or after `--max-secs`, and writes one [`LagSummary`].

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

#[derive(clap::Args)]
pub struct SinkArgs {
    /// Loopback port of the webhook endpoint (`POST /hook`).
    #[arg(long, default_value_t = 18082)]
    port: u16,
    /// NATS server the service publishes to (its EVENTS_NATS_URL).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// The service's EVENTS_NATS_PREFIX: events arrive on `<prefix>.media.*`.
    #[arg(long)]
    prefix: String,
    /// The service's EVENTS_NATS_STREAM, deleted when the sink stops.
    #[arg(long)]
    stream: Option<String>,
    /// Stop after this many seconds without an event (once one came).
    #[arg(long, default_value_t = 5)]
    idle_secs: u64,
    /// Stop after this many seconds in any case.
    #[arg(long, default_value_t = 300)]
    max_secs: u64,
    /// A line of text printed once both ends listen (bench.sh waits for it).
    #[arg(long, default_value = "listening")]
    ready_line: String,
    #[arg(long, default_value = "")]
    db: String,
    #[arg(long)]
    summary: Option<PathBuf>,
}

/// Per sink: how many events arrived (and how many distinct), and their lag in ms.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct SinkLag {
    pub received: u64,
    pub distinct: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct LagSummary {
    pub db: String,
    pub sinks: BTreeMap<String, SinkLag>,
}

#[derive(Default)]
struct Received {
    lags_ms: Vec<f64>,
    ids: HashSet<String>,
}

#[derive(Clone)]
struct Recorder {
    sinks: Arc<Mutex<BTreeMap<&'static str, Received>>>,
    last: Arc<Mutex<Option<Instant>>>,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    time: DateTime<Utc>,
}

impl Recorder {
    fn record(&self, sink: &'static str, body: &[u8]) {
        let now = Utc::now();
        let Ok(event) = serde_json::from_slice::<Event>(body) else {
            eprintln!("event-sink: {sink} sent something that is not an event");
            return;
        };
        let lag_ms = (now - event.time).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;
        let mut sinks = self.sinks.lock().expect("sink lock");
        let received = sinks.entry(sink).or_default();
        received.lags_ms.push(lag_ms);
        received.ids.insert(event.id);
        *self.last.lock().expect("sink lock") = Some(Instant::now());
    }

    fn summary(&self, db: &str) -> LagSummary {
        let sinks = self.sinks.lock().expect("sink lock");
        let sinks = sinks
            .iter()
            .map(|(name, received)| {
                let mut lags = received.lags_ms.clone();
                lags.sort_by(f64::total_cmp);
                let at = |p: f64| {
                    let rank = ((p / 100.0) * lags.len() as f64).ceil() as usize;
                    lags[rank.clamp(1, lags.len()) - 1]
                };
                let lag = SinkLag {
                    received: lags.len() as u64,
                    distinct: received.ids.len() as u64,
                    p50_ms: at(50.0),
                    p99_ms: at(99.0),
                    max_ms: at(100.0),
                };
                (name.to_string(), lag)
            })
            .collect();
        LagSummary {
            db: db.to_owned(),
            sinks,
        }
    }
}

pub async fn run(args: SinkArgs) -> Result<()> {
    if args.max_secs == 0 || args.max_secs > crate::MAX_SECONDS || args.idle_secs == 0 {
        bail!(
            "--max-secs must be 1..={} and --idle-secs at least 1",
            crate::MAX_SECONDS
        );
    }
    let recorder = Recorder {
        sinks: Default::default(),
        last: Default::default(),
    };

    let webhooks = recorder.clone();
    let server = HttpServer::new(move || {
        let webhooks = webhooks.clone();
        App::new().route(
            "/hook",
            web::post().to(move |body: web::Bytes| {
                webhooks.record("webhook", &body);
                async { HttpResponse::NoContent().finish() }
            }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", args.port))
    .with_context(|| format!("binding 127.0.0.1:{}", args.port))?
    .run();
    let server_handle = server.handle();
    let server = tokio::spawn(server);

    let client = async_nats::connect(&args.nats)
        .await
        .with_context(|| format!("connecting to NATS at {}", args.nats))?;
    let mut subscription = client
        .subscribe(format!("{}.>", args.prefix))
        .await
        .context("subscribing")?;
    let from_nats = recorder.clone();
    let nats = tokio::spawn(async move {
        while let Some(message) = subscription.next().await {
            from_nats.record("nats", &message.payload);
        }
    });
    client.flush().await.context("NATS flush")?;
    println!("{}", args.ready_line);

    let started = Instant::now();
    let idle = Duration::from_secs(args.idle_secs);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let last = *recorder.last.lock().expect("sink lock");
        if last.is_some_and(|at| at.elapsed() >= idle)
            || started.elapsed() >= Duration::from_secs(args.max_secs)
        {
            break;
        }
    }
    server_handle.stop(true).await;
    let _ = server.await;
    nats.abort();
    if let Some(stream) = &args.stream {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(stream)
            .await;
    }

    let json = serde_json::to_string(&recorder.summary(&args.db))?;
    println!("{json}");
    if let Some(path) = args.summary {
        std::fs::write(&path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
