//! `mediastore verify`: re-hashes every stored file and cross-checks files against records.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sha1::{Digest, Sha1};

use crate::db::MediaRepo;
use crate::lifecycle::LifecycleError;
use crate::media::StoredName;
use crate::storage::BlobStore;

const RECORD_PAGE: i64 = 1000;

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
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.corrupt_files.is_empty()
            && self.missing_files.is_empty()
            && self.files_without_record.is_empty()
    }
}

pub async fn verify(
    repo: &dyn MediaRepo,
    blobs: &BlobStore,
) -> Result<VerifyReport, LifecycleError> {
    let store = blobs.clone();
    let (mut report, mut unclaimed) = tokio::task::spawn_blocking(move || check_files(&store))
        .await
        .map_err(std::io::Error::other)??;

    let mut after = String::new();
    loop {
        let page = repo.names_after(&after, RECORD_PAGE).await?;
        for name in &page {
            report.records_checked += 1;
            if !unclaimed.remove(name) {
                report.missing_files.push(name.clone());
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == RECORD_PAGE => after = last.clone(),
            _ => break,
        }
    }
    report.files_without_record = unclaimed.into_iter().collect();
    Ok(report)
}

/// Hashes every file (progress on a terminal); returns the report so far and every file name.
fn check_files(store: &BlobStore) -> std::io::Result<(VerifyReport, BTreeSet<String>)> {
    let mut files = Vec::new();
    for shard in store.shards_blocking()? {
        files.extend(store.files_in_blocking(&shard)?);
    }
    // indicatif draws nothing when stderr is not a terminal.
    let progress = ProgressBar::new(files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}, eta {eta}")
            .expect("static template"),
    );
    let mut report = VerifyReport::default();
    let mut names = BTreeSet::new();
    for file in files {
        report.files_checked += 1;
        match StoredName::parse(&file.file_name) {
            Ok(name) if sha1_of(&file.path)? != name.sha1() => {
                report.corrupt_files.push(file.file_name.clone())
            }
            _ => {}
        }
        names.insert(file.file_name);
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok((report, names))
}

fn sha1_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha1::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}
