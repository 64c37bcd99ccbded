//! The machine floor: what this disk and CPU ingest when nothing else is in the way.
//! `writers` threads each write the seed images to files in 128 KiB chunks, hashing each
//! chunk with SHA-1 as it goes, and `fsync` every file, for `seconds`.

use crate::images::TestImage;
use anyhow::{Context, Result};
use serde::Serialize;
use sha1::{Digest, Sha1};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Serialize)]
pub struct Floor {
    pub floor_mb_per_s: f64,
    pub bytes: u64,
    pub files: u64,
    pub seconds: f64,
    pub writers: usize,
}

const CHUNK: usize = 128 * 1024;

pub fn measure(dir: &Path, images: &[TestImage], writers: usize, seconds: f64) -> Result<Floor> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let deadline = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let results: Vec<Result<(u64, u64)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                s.spawn(move || -> Result<(u64, u64)> {
                    let (mut bytes, mut files, mut check) = (0u64, 0u64, 0u8);
                    let mut i = w;
                    while started.elapsed() < deadline {
                        let img = &images[i % images.len()];
                        let path = dir.join(format!("floor-{w}-{files}"));
                        let mut f = std::fs::File::create(&path)
                            .with_context(|| format!("creating {}", path.display()))?;
                        let mut hasher = Sha1::new();
                        for chunk in img.bytes.chunks(CHUNK) {
                            hasher.update(chunk);
                            f.write_all(chunk)?;
                        }
                        f.sync_all()?;
                        check ^= hasher.finalize()[0];
                        bytes += img.bytes.len() as u64;
                        files += 1;
                        i += writers;
                    }
                    std::hint::black_box(check);
                    Ok((bytes, files))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer panicked"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (mut bytes, mut files) = (0, 0);
    for r in results {
        let (b, f) = r?;
        bytes += b;
        files += f;
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with("floor-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(Floor {
        floor_mb_per_s: bytes as f64 / 1e6 / elapsed,
        bytes,
        files,
        seconds: elapsed,
        writers,
    })
}
