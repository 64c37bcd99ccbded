//! Integration tests: one binary, the real app on a real socket, a fresh database (SQLite file
//! or PostgreSQL database) and a fresh store (upload directory or bucket) per test. `matrix!`
//! (in `helpers/stack.rs`) runs a test on each database × store it applies to.

mod bucket;
mod helpers;
mod images;
mod jobs;
mod metadata_fixtures;
mod privacy;

mod access;
mod cors;
mod download;
mod download_cache;
mod errors;
mod events;
mod faults;
mod fuzz_regressions;
mod group_commit;
mod health;
mod layering;
mod lifecycle;
mod mapping;
mod openapi;
mod pressure;
mod scaling;
mod storage;
mod upload;
mod variants;
mod variants_lifecycle;
