//! mediastore: content-addressed media storage.
//!
//! The layers, each importing only those below it (`tests/api/layering.rs` checks this):
//!
//! ```text
//! main.rs                  CLI: parse settings, run a command
//! startup                  builds the app: database, blob store, sweeper, dispatchers,
//!                            job worker, HTTP server
//! http                     the only layer that knows actix-web, HTTP and OpenAPI
//! events, jobs             the outbox delivered to NATS and webhooks; variants made in
//!                            the background
//! ingest, lifecycle,       the upload pipeline; expiry and orphans; the maintenance
//!   verify, migrate_store,   commands and their output; variants made and kept
//!   commands, variants
//! db, storage              records (SQLite, PostgreSQL) and blobs (directory, bucket)
//! config                   settings, read from the environment
//! media, breaker, access   pure rules: formats, names, dimensions, metadata, mapping;
//!                            the circuit breaker in front of each dependency; upload
//!                            tokens, signed URLs, client addresses and rate limits
//! ```
//!
//! `telemetry` (logging set-up) sits beside `startup`.

pub mod access;
pub mod breaker;
pub mod commands;
pub mod config;
pub mod db;
pub mod events;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod lifecycle;
pub mod media;
pub mod migrate_store;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod variants;
pub mod verify;
