//! What can go wrong where bytes live.

use std::io;

use crate::breaker::Open;
use crate::media::InvalidName;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The disk under the upload directory is full (the staging area is always local).
    #[error("the store is out of space")]
    Full(#[source] io::Error),
    #[error("file system")]
    Io(#[source] io::Error),
    #[error("bucket")]
    Bucket(#[source] object_store::Error),
    #[error("the S3 back end needs S3_BUCKET")]
    NoBucket,
    #[error("another process holds this staging folder's lock")]
    StagingLocked,
    #[error("the blob was listed by another store")]
    ListedElsewhere,
    #[error("a blob name could not be made")]
    InvalidName(#[from] InvalidName),
    #[error("a blocking storage task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Unavailable(Open),
}

impl From<io::Error> for StorageError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::StorageFull {
            Self::Full(e)
        } else {
            Self::Io(e)
        }
    }
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        if let object_store::Error::Generic { store, source } = &e
            && *store == super::guarded_bucket::STORE
            && let Some(open) = source.downcast_ref::<Open>()
        {
            return Self::Unavailable(*open);
        }
        Self::Bucket(e)
    }
}

impl StorageError {
    /// Whether the error says the bucket is down (no answer in time, refused, 5xx) rather than
    /// a refusal or a bug. The local disk is never "down": a full one is [`Self::Full`].
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Bucket(e) => super::guarded_bucket::is_outage(e),
            _ => false,
        }
    }

    /// How long a client should wait before trying again, when the bucket is down.
    pub fn retry_after(&self) -> std::time::Duration {
        match self {
            Self::Unavailable(open) => open.retry_after,
            _ => std::time::Duration::from_secs(2),
        }
    }

    /// The blob (or file) is not there: deleted since it was listed, say.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Io(e) => e.kind() == io::ErrorKind::NotFound,
            Self::Bucket(object_store::Error::NotFound { .. }) => true,
            _ => false,
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Runs file system work on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T> {
    Ok(tokio::task::spawn_blocking(work).await??)
}
