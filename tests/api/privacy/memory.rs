//! Memory stays bounded whatever the metadata: the real binary's peak RSS, read from the
//! kernel, must not grow with 8 MB of metadata.

use crate::helpers::{Stack, TestApp, spawn_process_with};
use crate::images;
use crate::matrix;
use crate::metadata_fixtures::{chunk, jpeg_with_segments, png_with_chunks, segment};

matrix!(dbs = [sqlite], stores = [fs]; eight_megabytes_of_metadata_do_not_raise_peak_memory);

const MB: usize = 1024 * 1024;
/// Less than the 8 MB of metadata: a filter that buffered it would cross this.
const MAX_GROWTH: usize = 6 * MB;

/// The process's peak resident set (VmHWM), in bytes.
fn peak_rss(app: &TestApp) -> usize {
    let pid = app.pid().expect("the real binary");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/<pid>/status");
    let kb: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

/// A PNG carrying `len` bytes of metadata in `tEXt` chunks of 1 MB.
fn png_with_text(len: usize) -> (Vec<u8>, Vec<u8>) {
    let png = images::png(8, 8);
    let mut text = b"Comment\0".to_vec();
    text.resize(MB, b'm');
    let chunks = vec![chunk(b"tEXt", &text); len / MB];
    (png_with_chunks(&png, &chunks), png)
}

/// A JPEG carrying `len` bytes of metadata in maximal APP1 (XMP) and APP13 segments.
fn jpeg_with_app_segments(len: usize) -> (Vec<u8>, Vec<u8>) {
    let jpeg = images::jpeg(8, 8);
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.resize(65_533, b'x');
    let mut iptc = b"Photoshop 3.0\0".to_vec();
    iptc.resize(65_533, b'i');
    let segments: Vec<_> = (0..len / 65_533)
        .map(|i| segment(if i % 2 == 0 { 0xE1 } else { 0xED }, [&xmp, &iptc][i % 2]))
        .collect();
    (jpeg_with_segments(&jpeg, &segments), jpeg)
}

async fn eight_megabytes_of_metadata_do_not_raise_peak_memory(stack: Stack) {
    let limit = (32 * MB).to_string();
    let app = spawn_process_with(stack, &[("MAX_FILE_BYTES", &limit)]).await;
    // Warm-up: every code path once, with little metadata and 1 MB of kept data, so that
    // buffers and pools are grown, but not to the size a buffered 8 MB would reuse.
    for (upload, _) in [png_with_text(MB), jpeg_with_app_segments(MB)] {
        app.upload_ok(upload, "warm").await;
    }
    app.upload_ok(images::large_png(MB), "kept.png").await;
    let before = peak_rss(&app);

    for (upload, bare) in [png_with_text(8 * MB), jpeg_with_app_segments(8 * MB)] {
        assert!(upload.len() >= 8 * MB);
        let media = app.upload_ok(upload, "heavy").await;
        assert_eq!(media.size, bare.len() as u64, "the metadata was dropped");
    }
    let grown = peak_rss(&app).saturating_sub(before);
    assert!(
        grown < MAX_GROWTH,
        "peak RSS grew by {grown} bytes (from {before}) for 8 MB of metadata"
    );
}
