//! Hostile metadata: each file is either refused (`422 invalid_image`, nothing kept) or stored
//! stripped clean, and the service answers normally afterwards.

use image::ImageFormat;

use super::{photo, upload_and_fetch};
use crate::helpers::{Stack, TestApp, assert_problem, file_part, spawn_app, spawn_app_with};
use crate::images;
use crate::matrix;
use crate::metadata_fixtures::{self as fx, chunk, jpeg_with_segments, png_with_chunks, segment};

matrix!(all;
    a_jpeg_segment_length_running_past_the_end_is_refused,
    png_chunks_with_broken_lengths_or_types_are_refused,
    an_exif_whose_directory_points_outside_itself_is_refused,
    a_maximal_exif_block_of_65533_bytes_is_stripped_to_its_orientation,
    thousands_of_tiny_app_segments_are_all_dropped,
    a_five_megabyte_png_text_chunk_is_dropped,
    an_empty_png_text_chunk_is_dropped,
    whatever_follows_the_end_of_the_image_is_not_stored,
);

/// Posts `bytes`, which must be refused as `422 invalid_image` with nothing left behind.
async fn assert_refused(app: &TestApp, bytes: Vec<u8>, name: &str) {
    let form = reqwest::multipart::Form::new()
        .part("file", file_part(bytes, name, "application/octet-stream"));
    assert_problem(app.post_form(form).await, 422, "invalid_image").await;
    app.assert_nothing_kept().await;
    assert_still_serving(app).await;
}

/// Uploads `bytes`, which must be stored as exactly `expected`.
async fn assert_stored_as(app: &TestApp, bytes: Vec<u8>, name: &str, expected: &[u8]) {
    let (media, stored) = upload_and_fetch(app, bytes, name).await;
    assert!(
        stored == expected,
        "{name}: stored differs from the bare image"
    );
    assert_eq!(media.size, expected.len() as u64);
    assert_still_serving(app).await;
}

/// The service still answers, and still takes a good upload.
async fn assert_still_serving(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let media = app.upload_ok(images::png(3, 3), "good.png").await;
    // Gone again, so that the next refusal can check that nothing is kept.
    assert_eq!(app.delete(media.id).await.status(), 204);
}

async fn a_jpeg_segment_length_running_past_the_end_is_refused(stack: Stack) {
    let app = spawn_app(stack).await;
    let jpeg = images::jpeg(16, 16);
    // An APP1 claiming 65533 bytes of which 100 arrive.
    let mut cut = [&jpeg[..2], &[0xFF, 0xE1, 0xFF, 0xFF], b"Exif\0\0"].concat();
    cut.extend_from_slice(&[0x4D; 100]);
    assert_refused(&app, cut, "cut.jpg").await;
    // A comment claiming more bytes than the whole file has.
    let mut long = jpeg[..2].to_vec();
    long.extend_from_slice(&[0xFF, 0xFE, 0xFF, 0xF0]);
    long.extend_from_slice(&jpeg[2..]);
    assert_refused(&app, long, "long.jpg").await;
}

async fn png_chunks_with_broken_lengths_or_types_are_refused(stack: Stack) {
    let app = spawn_app(stack).await;
    let png = images::png(8, 8);
    let past_end = [
        &png[..33],
        &1_000_000u32.to_be_bytes(),
        b"tEXt",
        b"Comment\0x",
    ]
    .concat();
    assert_refused(&app, past_end, "past_end.png").await;
    let huge = [&png[..33], &u32::MAX.to_be_bytes(), b"tEXt", &png[33..]].concat();
    assert_refused(&app, huge, "huge.png").await;
    let garbage = [
        &png[..33],
        &0u32.to_be_bytes(),
        b"\0\x01\x02\x03",
        &[0; 4],
        &png[33..],
    ]
    .concat();
    assert_refused(&app, garbage, "garbage.png").await;
}

/// A TIFF header whose IFD0 offset lies far past the block.
async fn an_exif_whose_directory_points_outside_itself_is_refused(stack: Stack) {
    let app = spawn_app(stack).await;
    let tiff = [
        &b"Exif\0\0MM\0\x2a"[..],
        &0x7FFF_0000u32.to_be_bytes(),
        &[0; 8],
    ]
    .concat();
    let jpeg = jpeg_with_segments(&images::jpeg(16, 16), &[segment(0xE1, &tiff)]);
    assert_refused(&app, jpeg, "outside.jpg").await;
}

async fn a_maximal_exif_block_of_65533_bytes_is_stripped_to_its_orientation(stack: Stack) {
    let app = spawn_app(stack).await;
    let jpeg = photo(ImageFormat::Jpeg);
    let exif = fx::exif_segment(&jpeg);
    let mut payload = exif[4..].to_vec();
    payload.resize(65_533, 0);
    let maximal = segment(0xE1, &payload);
    assert_eq!(&maximal[2..4], [0xFF, 0xFF]);
    let at = fx::find(&jpeg, &exif).unwrap();
    let upload = [&jpeg[..at], &maximal, &jpeg[at + exif.len()..]].concat();
    fx::assert_identifying_metadata(&upload, ImageFormat::Jpeg);
    let (media, stored) = upload_and_fetch(&app, upload, "maximal.jpg").await;
    fx::assert_no_identifying_metadata(&stored);
    assert_eq!(fx::tags(&stored)["IFD0:Orientation"], 6);
    assert_eq!(media.orientation, 6);
    assert!(stored.len() < 20_000, "{} bytes stored", stored.len());
    assert_still_serving(&app).await;
}

/// 5000 APPn and comment segments of two bytes each: all dropped, the bare image stored.
async fn thousands_of_tiny_app_segments_are_all_dropped(stack: Stack) {
    let app = spawn_app(stack).await;
    let jpeg = images::jpeg(16, 16);
    let markers = [0xE1, 0xE3, 0xE4, 0xE9, 0xED, 0xEE, 0xEF, 0xFE];
    let tiny: Vec<_> = (0..5000)
        .map(|i| segment(markers[i % markers.len()], b"xy"))
        .collect();
    let upload = jpeg_with_segments(&jpeg, &tiny);
    assert_stored_as(&app, upload, "tiny.jpg", &jpeg).await;
}

const FIVE_MB: usize = 5 * 1024 * 1024;

async fn a_five_megabyte_png_text_chunk_is_dropped(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.limits.max_file_bytes = 2 * FIVE_MB as u64).await;
    let png = images::png(8, 8);
    let mut text = b"Comment\0".to_vec();
    text.resize(FIVE_MB, b'z');
    let upload = png_with_chunks(&png, &[chunk(b"tEXt", &text)]);
    assert_stored_as(&app, upload, "text.png", &png).await;
}

/// An empty `tEXt` lacks even its keyword; it is dropped like any other.
async fn an_empty_png_text_chunk_is_dropped(stack: Stack) {
    let app = spawn_app(stack).await;
    let png = images::png(8, 8);
    let upload = png_with_chunks(&png, &[chunk(b"tEXt", b""), chunk(b"zTXt", b"")]);
    assert_stored_as(&app, upload, "empty.png", &png).await;
}

/// A motion photo's video, a second image, a hidden archive: after the end, never stored.
async fn whatever_follows_the_end_of_the_image_is_not_stored(stack: Stack) {
    let app = spawn_app(stack).await;
    let trailer = b"PK\x03\x04 a hidden archive, or a motion photo's video".repeat(100);
    for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Gif] {
        let bare = images::encoded(12, 8, format);
        let upload = [&bare[..], &trailer].concat();
        let name = format!("trailing.{}", format.extensions_str()[0]);
        assert_stored_as(&app, upload, &name, &bare).await;
    }
}
