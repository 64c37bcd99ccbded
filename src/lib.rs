//! mediastore: content-addressed media storage.
//!
//! Dependencies point one way: `http -> ingest -> media, storage, db`.

pub mod config;
pub mod db;
pub mod http;
pub mod ingest;
pub mod lifecycle;
pub mod media;
pub mod migrate_store;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod verify;
