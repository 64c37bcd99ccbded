//! What the integration tests share, by concern: the matrix of stacks, the app, its database,
//! requests, the typed `Media` answer, the store behind the service's back, and expiry.

mod app;
mod database;
mod http;
mod lifecycle;
mod media;
mod stack;
mod storage;

pub use app::{
    API_KEY, TestApp, free_port, spawn_app, spawn_app_on_postgres, spawn_app_with,
    spawn_app_with_clock, spawn_process, spawn_process_on, spawn_process_with, wait_until,
    wait_until_within,
};
pub use http::{BOUNDARY, assert_problem, detail, file_part, metric_sample, split_multipart};
pub use lifecycle::{assert_gc_expired_only, assert_two_sweepers_share_the_work, stdout};
pub use media::{Media, MediaList, Metadata, read_json, sha1_hex};
pub use stack::{Stack, Store};
pub use storage::{assert_nothing_staged_in, prepared_directory, staged, staged_files_in};
