//! Group commit: uploads whose files are stored while a transaction is being written wait, and
//! are recorded together in the next one. A burst then costs one transaction (one WAL fsync on
//! SQLite, whose writers take turns anyway) per group instead of one per upload, and no writer
//! sleeps in SQLite's busy handler waiting for the write lock.
//!
//! The guarantee is unchanged: an upload is answered only after the transaction holding its
//! records has committed. A group that fails is retried one upload at a time, so each upload
//! gets its own answer (a token over its quota fails only its own upload); unless the database
//! is unavailable, which fails the whole group at once rather than waiting out one timeout per
//! upload.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::db::{DbError, MediaRepo, NewUpload};

/// The most uploads one transaction records; a bound on how long one transaction takes.
const MAX_GROUP: usize = 128;

/// Histogram of how many uploads each transaction recorded.
pub const GROUP_SIZE: &str = "mediastore_upload_group_size";

/// The handle uploads record through; cloning it is cheap.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    waiting: mpsc::UnboundedSender<Waiting>,
}

#[derive(Debug)]
struct Waiting {
    upload: NewUpload,
    /// The upload back once it is recorded, so its records need no copy.
    recorded: oneshot::Sender<Result<NewUpload, DbError>>,
}

impl GroupCommit {
    /// Starts the committer on the current runtime. `writers` transactions may be in flight at
    /// once: 1 for SQLite; a few for PostgreSQL, which commits concurrent transactions with
    /// one WAL flush of its own.
    ///
    /// The queue needs no bound of its own: every upload in it holds one of the upload slots
    /// (`MAX_CONCURRENT_UPLOADS`).
    pub fn spawn(repo: Arc<dyn MediaRepo>, writers: usize) -> Self {
        let (waiting, queue) = mpsc::unbounded_channel();
        tokio::spawn(commit_groups(repo, queue, writers.max(1)));
        Self { waiting }
    }

    /// How many transactions may be in flight for the database at `url`.
    pub fn writers_for(url: &str) -> usize {
        if crate::db::is_sqlite(url) { 1 } else { 4 }
    }

    /// Records `upload` in the next transaction; returns it once that transaction has
    /// committed (or the error, if it failed for this upload).
    pub async fn record(&self, upload: NewUpload) -> Result<NewUpload, DbError> {
        let (recorded, outcome) = oneshot::channel();
        self.waiting
            .send(Waiting { upload, recorded })
            .map_err(|_| DbError::RecorderStopped)?;
        outcome.await.map_err(|_| DbError::RecorderStopped)?
    }
}

/// Takes everything waiting as one group whenever a writer is free, until every handle is gone.
async fn commit_groups(
    repo: Arc<dyn MediaRepo>,
    mut queue: mpsc::UnboundedReceiver<Waiting>,
    writers: usize,
) {
    let writers = Arc::new(Semaphore::new(writers));
    loop {
        // The writer first: while every writer is busy, uploads pile up into the next group.
        let writer = writers.clone().acquire_owned().await.expect("never closed");
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let repo = repo.clone();
        tokio::spawn(async move {
            commit(&*repo, group).await;
            drop(writer);
        });
    }
}

async fn commit(repo: &dyn MediaRepo, group: Vec<Waiting>) {
    ::metrics::histogram!(GROUP_SIZE).record(group.len() as f64);
    let (uploads, answers): (Vec<NewUpload>, Vec<_>) = group
        .into_iter()
        .map(|waiting| (waiting.upload, waiting.recorded))
        .unzip();
    if uploads.len() > 1 {
        match repo.insert_all(&uploads).await {
            Ok(()) => {
                for (upload, answer) in uploads.into_iter().zip(answers) {
                    let _ = answer.send(Ok(upload));
                }
                return;
            }
            Err(e) if e.is_unavailable() => {
                let retry_after = e.retry_after();
                let reason = format!("{:#}", anyhow::Error::new(e)); // with its causes
                for answer in answers {
                    let _ = answer.send(Err(DbError::GroupUnavailable {
                        reason: reason.clone(),
                        retry_after,
                    }));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, uploads = uploads.len(), "a group failed; recording its uploads one at a time");
            }
        }
    }
    // An answer nobody waits for any more is dropped: its upload's task has ended.
    for (upload, answer) in uploads.into_iter().zip(answers) {
        let recorded = repo.insert_all(std::slice::from_ref(&upload)).await;
        let _ = answer.send(recorded.map(|()| upload));
    }
}
