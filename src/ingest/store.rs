//! The last step of an upload: every file of the request committed to the blob store and
//! recorded in one transaction, all or nothing.

use uuid::Uuid;

use super::{GroupCommit, IngestError, Received};
use crate::access::UploadClaims;
use crate::db::{MediaRecord, NewUpload, TokenQuota};
use crate::media::StoredName;
use crate::storage::BlobStore;

/// Moves every file to its final name and records them all in one transaction (shared with
/// the uploads that finish at the same moment: [`GroupCommit`]); returns the records in the
/// files' order. If anything fails, the blobs already stored are removed again.
/// Files that came with an upload token record its id and owner hint, and count against its
/// `max_files` in that transaction.
///
/// The work runs in a task of its own, so that a client hanging up (which drops the caller)
/// cannot stop it half way and leave blobs without records.
pub async fn store_all(
    blobs: BlobStore,
    recorder: GroupCommit,
    files: Vec<Received>,
    token: Option<UploadClaims>,
) -> Result<Vec<MediaRecord>, IngestError> {
    let stored = tokio::spawn(async move {
        let mut unrecorded = Unrecorded {
            blobs: blobs.clone(),
            names: Vec::new(),
        };
        let recorded = commit_and_record(&blobs, &recorder, files, token, &mut unrecorded).await;
        // On failure the blobs go before the answer, so a refused upload (over a token's
        // max_files, say) leaves nothing by the time the client hears of it.
        match &recorded {
            Ok(_) => unrecorded.names.clear(),
            Err(_) => unrecorded.remove_now().await,
        }
        recorded
    });
    stored.await.map_err(crate::storage::StorageError::from)?
}

/// Commits each file, noting its name in `unrecorded`, then records them all.
async fn commit_and_record(
    blobs: &BlobStore,
    recorder: &GroupCommit,
    files: Vec<Received>,
    token: Option<UploadClaims>,
    unrecorded: &mut Unrecorded,
) -> Result<Vec<MediaRecord>, IngestError> {
    let quota = token.as_ref().and_then(|claims| {
        let max_files = claims.max_files?;
        Some(TokenQuota {
            token: claims.id,
            max_files,
        })
    });
    let mut records = Vec::with_capacity(files.len());
    for file in files {
        let len = file.staged.len;
        let (name, created_at) = blobs
            .commit(file.staged, &file.sha1_hex, file.format)
            .await?;
        unrecorded.names.push(name.clone());
        records.push(MediaRecord {
            id: Uuid::new_v4(),
            name: name.to_string(),
            content_type: file.format.mime().to_owned(),
            size: column(len),
            sha1: file.sha1_hex,
            width: column(file.dimensions.width),
            height: column(file.dimensions.height),
            original_name: file.original_name,
            created_at,
            owner: None,
            mapped_at: None,
            metadata: None,
            orientation: file.orientation.into(),
            frames: file.frames.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            metadata_stripped: file.metadata_stripped,
            owner_hint: token.as_ref().and_then(|claims| claims.owner_hint.clone()),
            upload_token: token.as_ref().map(|claims| claims.id),
        });
    }
    let recorded = recorder.record(NewUpload { records, quota }).await?;
    Ok(recorded.records)
}

/// Sizes and dimensions are bounded far below `i64::MAX` by the upload limits, so this only
/// saturates on a broken invariant rather than wrapping into a negative number.
fn column(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Blobs stored but not yet recorded. An error removes them at once ([`Unrecorded::remove_now`]);
/// dropped with names left (a panic, or the task dropped at shutdown), it removes them in a task
/// of their own.
struct Unrecorded {
    blobs: BlobStore,
    names: Vec<StoredName>,
}

impl Unrecorded {
    async fn remove_now(&mut self) {
        remove_all(self.blobs.clone(), std::mem::take(&mut self.names)).await;
    }
}

async fn remove_all(blobs: BlobStore, names: Vec<StoredName>) {
    for name in names {
        if let Err(e) = blobs.remove(&name).await {
            tracing::error!(error = %e, %name, "could not remove a blob whose record failed; gc will");
        }
    }
}

impl Drop for Unrecorded {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let removal = remove_all(self.blobs.clone(), std::mem::take(&mut self.names));
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(removal)),
            Err(_) => tracing::error!("no runtime to remove unrecorded blobs; gc will"),
        }
    }
}
