//! `mediastore verify`: re-hashes every stored blob, cross-checks blobs against records, and
//! checks every kept variant against its source and its format.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::db::{self, DbError, MediaRepo};
use crate::media::StoredName;
use crate::storage::{BlobStore, StorageError, Wanted};

const RECORD_PAGE: i64 = 1000;
/// Enough of a file for `infer` to tell every image format by its signature.
const SIGNATURE_BYTES: u64 = 64;

#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub files_checked: u64,
    pub records_checked: u64,
    /// Files whose bytes no longer hash to the SHA-1 in their name.
    pub corrupt_files: Vec<String>,
    /// Records whose file is missing.
    pub missing_files: Vec<String>,
    /// Files no record names (including stray files whose name is not a stored name).
    pub files_without_record: Vec<String>,
    pub variants_checked: u64,
    /// Kept variants whose source file is gone (`gc` removes them).
    pub variants_without_file: Vec<String>,
    /// Kept variants whose bytes are not of the format their name says.
    pub unreadable_variants: Vec<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.corrupt_files.is_empty()
            && self.missing_files.is_empty()
            && self.files_without_record.is_empty()
            && self.variants_without_file.is_empty()
            && self.unreadable_variants.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("reading the records")]
    Db(#[from] DbError),
    #[error("reading the blob store")]
    Storage(#[from] StorageError),
}

pub async fn verify(repo: &dyn MediaRepo, blobs: &BlobStore) -> Result<VerifyReport, VerifyError> {
    let (mut report, mut unclaimed) = check_blobs(blobs).await?;

    let mut pages = std::pin::pin!(db::recorded_names(repo, RECORD_PAGE));
    while let Some(page) = pages.try_next().await? {
        for name in page {
            report.records_checked += 1;
            if !unclaimed.remove(&name) {
                report.missing_files.push(name);
            }
        }
    }
    report.files_without_record = unclaimed.into_iter().collect();
    check_variants(blobs, &mut report).await?;
    Ok(report)
}

/// Each kept variant has its source, and bytes of the format its name says (read by their
/// signature: the variant is the service's own output, so no SHA-1 names it).
async fn check_variants(blobs: &BlobStore, report: &mut VerifyReport) -> Result<(), VerifyError> {
    for (source, variants) in blobs.list_variants().await? {
        report.variants_checked += variants.len() as u64;
        if blobs.open(&source, Wanted::Size).await?.is_none() {
            let names = variants.iter().map(ToString::to_string);
            report.variants_without_file.extend(names);
            continue;
        }
        for variant in variants {
            let Some(blob) = blobs.open_variant(&variant, Wanted::Size).await? else {
                continue; // removed since the listing
            };
            let len = blob.len.min(SIGNATURE_BYTES);
            let head = blob.read(0, len).await?;
            let head: Vec<bytes::Bytes> = head
                .into_stream()
                .try_collect()
                .await
                .map_err(StorageError::from)?;
            let kind = infer::get(&head.concat()).map(|kind| kind.mime_type());
            if kind != Some(variant.format().mime()) {
                report.unreadable_variants.push(variant.to_string());
            }
        }
    }
    Ok(())
}

/// Hashes every blob (progress on a terminal); returns the report so far and every blob name.
async fn check_blobs(store: &BlobStore) -> Result<(VerifyReport, BTreeSet<String>), VerifyError> {
    let listed: Vec<_> = store.list().try_collect().await?;
    // indicatif draws nothing when stderr is not a terminal.
    let progress = ProgressBar::new(listed.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}, eta {eta}")
            .expect("static template"),
    );
    let mut report = VerifyReport::default();
    let mut names = BTreeSet::new();
    for blob in listed {
        report.files_checked += 1;
        if let Ok(name) = StoredName::parse(&blob.file_name) {
            match store.sha1_of_listed(&blob).await {
                Ok(sha1) if sha1 != name.sha1() => {
                    report.corrupt_files.push(blob.file_name.clone())
                }
                Ok(_) => {}
                // Deleted since the listing (the service is live): a record check decides.
                Err(e) if e.is_not_found() => {
                    progress.inc(1);
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        names.insert(blob.file_name);
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok((report, names))
}
