//! What the tool measures itself, per request, including the time to read the whole body.
//! Goose keeps its own metrics too (printed at the end unless `--no-print-metrics`); these
//! are the figures the bench table is built from.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

#[derive(Default)]
struct Inner {
    first_start: Option<Instant>,
    last_end: Option<Instant>,
    latencies_us: Vec<u32>,
    statuses: BTreeMap<String, u64>,
    bytes_up: u64,
    bytes_down: u64,
    uploads_ok: u64,
    upload_bytes_ok: u64,
    last_upload_end: Option<Instant>,
}

fn inner() -> &'static Mutex<Inner> {
    static STATS: OnceLock<Mutex<Inner>> = OnceLock::new();
    STATS.get_or_init(|| Mutex::new(Inner::default()))
}

/// Marks the start of a request; pass it back to [`record`].
pub fn start() -> Instant {
    let now = Instant::now();
    let mut s = inner().lock().expect("stats lock");
    if s.first_start.is_none() {
        s.first_start = Some(now);
    }
    now
}

/// One finished request: `outcome` is the status code, or `error` for a transport error.
/// `uploaded` is the number of file bytes accepted by a successful upload.
pub fn record(started: Instant, outcome: &str, bytes_up: u64, bytes_down: u64, uploaded: u64) {
    let now = Instant::now();
    let us = now
        .duration_since(started)
        .as_micros()
        .min(u32::MAX as u128) as u32;
    let mut s = inner().lock().expect("stats lock");
    s.latencies_us.push(us);
    *s.statuses.entry(outcome.to_string()).or_default() += 1;
    s.bytes_up += bytes_up;
    s.bytes_down += bytes_down;
    if uploaded > 0 {
        s.uploads_ok += 1;
        s.upload_bytes_ok += uploaded;
        s.last_upload_end = Some(now);
    }
    s.last_end = Some(now);
}

/// One row of the bench table; also what `wrk` writes through `wrk-report.lua`.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct Summary {
    pub scenario: String,
    #[serde(default)]
    pub db: String,
    pub tool: String,
    pub requests: u64,
    pub duration_s: f64,
    pub rps: f64,
    pub mb_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Outcomes that are not the expected success: status code (or `error`) → count.
    pub failures: BTreeMap<String, u64>,
    /// Seed and upload runs: seconds from the first request until the last upload finished,
    /// and file bytes accepted in that time.
    #[serde(default)]
    pub last_upload_s: Option<f64>,
    #[serde(default)]
    pub upload_bytes: Option<u64>,
    #[serde(default)]
    pub ingest_mb_per_s: Option<f64>,
    /// Peak RSS of the service in KiB (VmHWM), filled in by bench.sh.
    #[serde(default)]
    pub rss_kb: Option<u64>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// The summary of everything recorded; `ok` lists the statuses that count as success.
pub fn summarize(scenario: &str, ok: &[&str]) -> Summary {
    let mut s = inner().lock().expect("stats lock");
    s.latencies_us.sort_unstable();
    let duration_s = match (s.first_start, s.last_end) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64().max(1e-6),
        _ => 0.0,
    };
    let requests = s.latencies_us.len() as u64;
    let per_s = |x: f64| {
        if duration_s > 0.0 {
            x / duration_s
        } else {
            0.0
        }
    };
    let failures = s
        .statuses
        .iter()
        .filter(|(k, _)| !ok.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let last_upload_s = match (s.first_start, s.last_upload_end) {
        (Some(a), Some(b)) => Some(b.duration_since(a).as_secs_f64()),
        _ => None,
    };
    Summary {
        scenario: scenario.to_string(),
        db: String::new(),
        tool: "goose".to_string(),
        requests,
        duration_s,
        rps: per_s(requests as f64),
        mb_per_s: per_s((s.bytes_up + s.bytes_down) as f64 / 1e6),
        p50_ms: percentile(&s.latencies_us, 50.0),
        p95_ms: percentile(&s.latencies_us, 95.0),
        p99_ms: percentile(&s.latencies_us, 99.0),
        failures,
        last_upload_s,
        upload_bytes: last_upload_s.map(|_| s.upload_bytes_ok),
        ingest_mb_per_s: last_upload_s
            .filter(|t| *t > 0.0)
            .map(|t| s.upload_bytes_ok as f64 / 1e6 / t),
        rss_kb: None,
    }
}
