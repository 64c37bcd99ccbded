//! What can go wrong where bytes live.

use std::io;

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
        Self::Bucket(e)
    }
}

impl StorageError {
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
