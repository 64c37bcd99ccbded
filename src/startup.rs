//! Builds the application from [`Settings`]: database, blob store, HTTP server on a bound port.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};

use crate::config::Settings;
use crate::db::{self, MediaRepo};
use crate::storage::BlobStore;
use crate::{http, lifecycle};

/// Everything a request handler may use, shared through one `web::Data`.
/// The accept queue's length; Linux caps it at `net.core.somaxconn` (4096 by default).
const ACCEPT_BACKLOG: i32 = 4096;

pub struct AppState {
    pub settings: Settings,
    pub repo: Arc<dyn MediaRepo>,
    pub blobs: BlobStore,
    /// One permit per upload allowed to run at once (`MAX_CONCURRENT_UPLOADS`).
    pub upload_slots: Arc<tokio::sync::Semaphore>,
    pub stored_names: http::name_cache::NameCache,
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects and migrates the database, prepares the blob store and binds
    /// `settings.bind_addr` (port 0 picks a free port; see [`Application::port`]).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let repo = db::connect(&settings.database_url, settings.database_max_connections)
            .await
            .context("connecting to the database (DATABASE_URL)")?;
        repo.migrate().await.context("migrating the database")?;
        let blobs = BlobStore::from_settings(&settings).context("configuring the blob store")?;
        let leftovers = blobs.prepare().await.with_context(|| {
            format!(
                "preparing the upload directory {}",
                settings.upload_dir.display()
            )
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
        let listener = TcpListener::bind(settings.bind_addr)
            .with_context(|| format!("binding {}", settings.bind_addr))?;
        // Connections beyond MAX_CONNECTIONS wait in the accept queue, so it must hold a burst:
        // std listens with a backlog of 128, and an overflowing queue resets connections.
        // Listening again on Linux only changes the backlog (capped by net.core.somaxconn).
        socket2::SockRef::from(&listener)
            .listen(ACCEPT_BACKLOG)
            .context("setting the accept backlog")?;
        let port = listener.local_addr()?.port();
        let shutdown_timeout = settings.shutdown_timeout.as_secs();
        http::metrics::recorder();
        let upload_slots = Arc::new(tokio::sync::Semaphore::new(settings.max_concurrent_uploads));
        let state = web::Data::new(AppState {
            settings,
            repo,
            blobs,
            upload_slots,
            stored_names: Default::default(),
        });

        let api = http::openapi_document();
        let origins = state.settings.cors_allowed_origins.clone();
        // actix counts connections per worker. An accepted upload waiting for a slot holds about
        // 0.3 MB of actix read buffers, so this bound is what keeps memory flat in a burst.
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let connections_per_worker = state.settings.max_connections.div_ceil(workers);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(http::configure_extractors)
                .configure(http::routes_as_actix)
                .configure(http::openapi::method_not_allowed_fallbacks(&api))
                .configure(http::docs(api.clone()))
                .wrap(from_fn(http::cors::refuse_foreign_writes))
                .wrap(http::cors::cors(&origins))
                .wrap(ErrorHandlers::new().default_handler(http::error::problem_for_bare_errors))
                .wrap(from_fn(http::request_id::request_span))
        })
        .shutdown_timeout(shutdown_timeout)
        .workers(workers)
        .max_connections(connections_per_worker)
        // Without it, Nagle's algorithm holds the tail of a response for a delayed ACK (~40 ms).
        .tcp_nodelay(true)
        .listen(listener)?
        .run();
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
