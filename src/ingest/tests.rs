//! The pipeline without HTTP: a stream of chunks in, blobs and records out, on a real
//! directory and a real SQLite file.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sha1::{Digest, Sha1};

use super::{GroupCommit, IngestError, Received, receive, store_all};
use crate::config::Limits;
use crate::db::{self, MediaRepo};
use crate::storage::BlobStore;

const IDLE: Duration = Duration::from_secs(5);

struct Fixture {
    dir: tempfile::TempDir,
    blobs: BlobStore,
    repo: Arc<dyn MediaRepo>,
    recorder: GroupCommit,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::fs(dir.path().join("uploads"));
    blobs.prepare().await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("media.db").display());
    let repo = db::connect(&url, 2).await.unwrap();
    repo.migrate().await.unwrap();
    let recorder = GroupCommit::spawn(repo.clone(), 1);
    Fixture {
        dir,
        blobs,
        repo,
        recorder,
    }
}

impl Fixture {
    fn files_under(&self, folder: &str) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        let mut dirs = vec![self.dir.path().join(folder)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_none_or(|e| e != "lock") {
                    files.push(path);
                }
            }
        }
        files
    }

    async fn receive(&self, bytes: &[u8], chunk: usize) -> Result<Received, IngestError> {
        let chunks: Vec<Result<Bytes, Infallible>> = bytes
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body = futures_util::stream::iter(chunks);
        receive(
            body,
            Some("a.png".into()),
            &self.blobs,
            &Limits::default(),
            IDLE,
        )
        .await
    }
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 9]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn a_file_streamed_in_small_chunks_is_stored_and_recorded_under_its_sha1() {
    let f = fixture().await;
    let bytes = png(300, 200);
    let received = f.receive(&bytes, 1000).await.unwrap();
    assert_eq!(received.sha1_hex, hex::encode(Sha1::digest(&bytes)));
    assert_eq!(
        (received.dimensions.width, received.dimensions.height),
        (300, 200)
    );
    let records = store_all(f.blobs.clone(), f.recorder.clone(), vec![received], None)
        .await
        .unwrap();
    let name = records[0].stored_name().unwrap();
    assert_eq!(name.sha1(), hex::encode(Sha1::digest(&bytes)));
    assert_eq!(records[0].size, bytes.len() as i64);
    assert_eq!(records[0].original_name.as_deref(), Some("a.png"));
    assert_eq!(
        f.repo.find(records[0].id).await.unwrap(),
        Some(records[0].clone())
    );
    let stored = f.files_under("uploads");
    assert_eq!(
        stored.len(),
        1,
        "one blob, no staging file left: {stored:?}"
    );
    assert_eq!(std::fs::read(&stored[0]).unwrap(), bytes);
}

#[tokio::test]
async fn a_refused_file_leaves_no_staging_file() {
    let f = fixture().await;
    let mut truncated = png(40, 40);
    truncated.truncate(20);
    assert!(matches!(
        f.receive(&truncated, 7).await,
        Err(IngestError::InvalidImage { .. })
    ));
    assert!(matches!(
        f.receive(b"%PDF-1.7 not an image at all, just text", 5)
            .await,
        Err(IngestError::UnsupportedType { .. })
    ));
    assert_eq!(f.files_under("uploads"), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn when_recording_fails_the_blobs_already_committed_are_removed() {
    let f = fixture().await;
    let first = f.receive(&png(3, 3), 64).await.unwrap();
    let second = f.receive(&png(4, 4), 64).await.unwrap();
    // A real database failure: the table the insert needs is gone.
    let url = format!("sqlite://{}", f.dir.path().join("media.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query("DROP TABLE media")
        .execute(&mut conn)
        .await
        .unwrap();

    let failed = store_all(
        f.blobs.clone(),
        f.recorder.clone(),
        vec![first, second],
        None,
    )
    .await;
    assert!(matches!(failed, Err(IngestError::Db(_))), "{failed:?}");
    // The clean-up runs in a task of its own; give it a moment.
    for _ in 0..100 {
        if f.files_under("uploads").is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("blobs left behind: {:?}", f.files_under("uploads"));
}
