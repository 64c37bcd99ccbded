//! The process's Prometheus recorder and the names of what is measured (served by
//! `GET /metrics` in [`super::ops`]).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const UPLOADS: &str = "mediastore_uploads_total";
/// Requests refused `429`, by `route` (`uploads`, `downloads`).
pub const RATE_LIMITED: &str = "mediastore_rate_limited_total";
pub const UPLOAD_BYTES: &str = "mediastore_upload_bytes_total";
pub const UPLOAD_SECONDS: &str = "mediastore_upload_duration_seconds";
pub const UPLOADS_IN_PROGRESS: &str = "mediastore_uploads_in_progress";
pub const UPLOADS_WAITING: &str = "mediastore_uploads_waiting";
pub const FILES_SERVED: &str = "mediastore_files_served_total";
pub const DOWNLOAD_SECONDS: &str = "mediastore_download_duration_seconds";
pub const DB_POOL_IN_USE: &str = "mediastore_db_pool_connections_in_use";

/// The process-wide recorder (metrics are global; every app in a process shares it).
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let latency_buckets = [
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ];
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_duration_seconds".into()),
                &latency_buckets,
            )
            .expect("static buckets")
            .install_recorder()
            .expect("no other metrics recorder is installed")
    })
}

/// Increments a gauge for as long as it lives, so that every exit path decrements it.
pub struct GaugeGuard(::metrics::Gauge);

impl GaugeGuard {
    pub fn new(name: &'static str) -> Self {
        let gauge = ::metrics::gauge!(name);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
