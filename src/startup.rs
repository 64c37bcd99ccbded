//! Builds the application from [`Settings`]: database, blob store, background sweeper, event
//! dispatchers, job worker and the HTTP server on a bound port.

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::http::media_json::MediaJson;
use crate::http::openapi::{Paths, method_not_allowed_fallbacks};
use crate::http::{self, AppState};
use crate::jobs::{self, Clock};
use crate::storage::BlobStore;
use crate::{db, events, lifecycle};

/// How often each instance refreshes the queue gauges of `/metrics`.
const QUEUE_STATS_EVERY: Duration = Duration::from_secs(2);

/// The events and jobs each change queues, from the settings.
pub fn write_along(settings: &Settings) -> db::WriteAlong {
    db::WriteAlong {
        event_sinks: settings.events.sinks(),
        eager_variants: settings.events.eager(),
        offpeak_variants: settings.events.offpeak(settings.variants.avif),
        ..db::WriteAlong::default()
    }
}

/// The accept queue's length; Linux caps it at `net.core.somaxconn` (4096 by default).
/// Connections beyond MAX_CONNECTIONS wait there, so it must hold a burst: an overflowing
/// queue resets connections (std listens with only 128).
const ACCEPT_BACKLOG: u32 = 4096;

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects and migrates the database, prepares the blob store and binds
    /// `settings.bind_addr` (port 0 picks a free port; see [`Application::port`]).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Clock::system()).await
    }

    /// [`Application::build`] with the clock that decides when off-peak jobs run.
    pub async fn build_with(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        // First, so that what the database and the store publish as they start (the breakers'
        // states) is recorded.
        http::metrics::recorder();
        let pool = db::PoolOptions {
            timeout: settings.database_timeout,
            write_along: write_along(&settings),
            ..db::PoolOptions::new(settings.database_max_connections)
        };
        let committed = pool.write_along.committed.subscribe();
        let has_jobs = !pool.write_along.eager_variants.is_empty()
            || !pool.write_along.offpeak_variants.is_empty();
        let repo = db::connect_with(&settings.database_url, &pool)
            .await
            .context("connecting to the database (DATABASE_URL)")?;
        repo.migrate().await.context("migrating the database")?;
        let blobs = BlobStore::new(&settings.storage)
            .context("configuring the blob store")?
            .with_hot_cache(settings.storage.download_cache_bytes);
        let leftovers = blobs.prepare().await.with_context(|| {
            let dir = settings.storage.upload_dir.display();
            format!("preparing the upload directory {dir}")
        })?;
        tracing::info!(store = %blobs.describe(), "blob store ready");
        if leftovers > 0 {
            tracing::info!(leftovers, "removed staging files left by an earlier run");
        }
        if !settings.sweep_interval.is_zero() {
            lifecycle::spawn_sweeper(
                repo.clone(),
                blobs.clone(),
                settings.unmapped_ttl,
                settings.sweep_interval,
            );
        }
        let sinks = events::sinks(&settings.events)
            .await
            .context("connecting the event sinks")?;
        if !sinks.is_empty() {
            let variants = settings.variants.clone();
            let render: events::RenderData = Arc::new(move |record| {
                serde_json::to_value(MediaJson::new(record.clone(), &variants))
                    .expect("media serialises")
            });
            events::spawn_dispatchers(
                sinks,
                repo.clone(),
                render,
                &settings.events,
                committed.clone(),
            );
            events::spawn_stats(repo.clone(), QUEUE_STATS_EVERY);
        }
        let bind_addr = settings.bind_addr;
        let shutdown_timeout = settings.shutdown_timeout.as_secs();
        let state = web::Data::new(AppState::new(settings, repo, blobs));
        if has_jobs {
            jobs::Worker {
                repo: state.repo.clone(),
                variants: state.variants.clone(),
                settings: state.settings.clone(),
                clock,
                committed,
            }
            .spawn();
            jobs::spawn_stats(state.repo.clone(), QUEUE_STATS_EVERY);
        }

        let settings = &state.settings;
        let api = http::openapi_document(&settings.limits, &settings.variants, &settings.access);
        let origins = state.settings.cors_allowed_origins.clone();
        // actix counts connections per worker. An accepted upload waiting for a slot holds about
        // 0.3 MB of actix read buffers, so this bound is what keeps memory flat in a burst.
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let connections_per_worker = state.settings.max_connections.div_ceil(workers);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(http::configure_extractors)
                .configure(method_not_allowed_fallbacks(&api, Paths::Fixed))
                .configure(http::routes_as_actix)
                .configure(method_not_allowed_fallbacks(&api, Paths::WithParameters))
                .configure(http::docs(api.clone()))
                .wrap(from_fn(http::cors::refuse_foreign_writes))
                .wrap(http::cors::cors(&origins))
                .wrap(ErrorHandlers::new().default_handler(http::error::problem_for_bare_errors))
                .wrap(from_fn(http::request_id::request_span))
        })
        .shutdown_timeout(shutdown_timeout)
        .workers(workers)
        .max_connections(connections_per_worker)
        .backlog(ACCEPT_BACKLOG)
        // Without it, Nagle's algorithm holds the tail of a response for a delayed ACK (~40 ms).
        .tcp_nodelay(true)
        .bind(bind_addr)
        .with_context(|| format!("binding {bind_addr}"))?;
        let port = server.addrs()[0].port();
        let server = server.run();
        tracing::info!(port, "mediastore listening");
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then stops accepting and lets requests in flight finish
    /// (for at most `SHUTDOWN_TIMEOUT_SECS`).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
