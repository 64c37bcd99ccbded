//! Animations keep every frame, their timing and their loop count; too many frames are refused.

use std::io::Cursor;

use image::{AnimationDecoder, ImageFormat, RgbaImage};

use super::upload_and_fetch;
use crate::helpers::{Stack, TestApp, assert_problem, file_part, spawn_app, spawn_app_with};
use crate::images::{animated_gif, animated_png, animated_webp, frames};
use crate::matrix;
use crate::metadata_fixtures as fx;

matrix!(all;
    an_animated_gif_keeps_every_frame_and_its_loop_count,
    an_animated_webp_keeps_every_frame_and_its_loop_count,
    an_animated_png_keeps_every_frame_and_its_play_count,
    an_animation_over_max_animation_frames_is_refused_and_nothing_is_kept,
);
matrix!(dbs = [sqlite, postgres], stores = [fs];
    frames_times_pixels_over_twenty_times_max_image_pixels_are_refused,
);

/// Every frame decoded, with its position and delay.
fn decoded(bytes: &[u8], format: ImageFormat) -> Vec<(RgbaImage, u32, u32, (u32, u32))> {
    let frames = match format {
        ImageFormat::Gif => image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
            .unwrap()
            .into_frames(),
        ImageFormat::Png => image::codecs::png::PngDecoder::new(Cursor::new(bytes))
            .and_then(|png| png.apng())
            .unwrap()
            .into_frames(),
        _ => image::codecs::webp::WebPDecoder::new(Cursor::new(bytes))
            .unwrap()
            .into_frames(),
    };
    let frames = frames.collect_frames().expect("every frame decodes");
    frames
        .into_iter()
        .map(|f| {
            let (left, top, delay) = (f.left(), f.top(), f.delay().numer_denom_ms());
            (f.into_buffer(), left, top, delay)
        })
        .collect()
}

/// What exiftool reads of the animation: frame count and loop count, as `(tag, value)`.
fn animation_tags(bytes: &[u8], keys: &[&str]) -> Vec<(String, serde_json::Value)> {
    let tags = fx::tags(bytes);
    keys.iter()
        .map(|k| {
            let value = tags.get(*k).cloned().unwrap_or_default();
            (k.to_string(), value)
        })
        .collect()
}

/// `animation` with XMP, a comment and (WebP) EXIF added, uploaded: every frame, the loop count
/// and `frames` are right, and the metadata is gone.
async fn assert_animation_kept(
    app: &TestApp,
    animation: Vec<u8>,
    format: ImageFormat,
    count: u32,
    keys: &[&str],
) {
    let upload = fx::with_identifying_metadata(&animation, format, &[]);
    let name = format!("moving.{}", format.extensions_str()[0]);
    let (media, stored) = upload_and_fetch(app, upload.clone(), &name).await;
    assert_eq!(media.frames, Some(count));
    fx::assert_no_identifying_metadata(&stored);
    let frames = decoded(&stored, format);
    assert_eq!(frames.len(), count as usize);
    assert!(
        frames == decoded(&upload, format),
        "{format:?} frames changed"
    );
    let read = animation_tags(&stored, keys);
    assert_eq!(read, animation_tags(&upload, keys));
    assert!(read.iter().all(|(_, v)| !v.is_null()), "{read:?}");
}

async fn an_animated_gif_keeps_every_frame_and_its_loop_count(stack: Stack) {
    let app = spawn_app(stack).await;
    let gif = animated_gif(&frames(5, 24, 16), 3);
    let keys = ["GIF:AnimationIterations", "GIF:FrameCount", "GIF:Duration"];
    assert_animation_kept(&app, gif, ImageFormat::Gif, 5, &keys).await;
}

async fn an_animated_webp_keeps_every_frame_and_its_loop_count(stack: Stack) {
    let app = spawn_app(stack).await;
    let webp = animated_webp(&frames(4, 24, 16), 7);
    // exiftool counts no WebP frames: `decoded` does.
    let keys = ["RIFF:AnimationLoopCount", "RIFF:Duration"];
    assert_animation_kept(&app, webp, ImageFormat::WebP, 4, &keys).await;
}

async fn an_animated_png_keeps_every_frame_and_its_play_count(stack: Stack) {
    let app = spawn_app(stack).await;
    let png = animated_png(&frames(6, 24, 16), 2);
    let keys = ["PNG:AnimationFrames", "PNG:AnimationPlays"];
    assert_animation_kept(&app, png, ImageFormat::Png, 6, &keys).await;
}

async fn refused_as_invalid(app: &TestApp, bytes: Vec<u8>, name: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .part("file", file_part(bytes, name, "application/octet-stream"));
    let problem = assert_problem(app.post_form(form).await, 422, "invalid_image").await;
    app.assert_nothing_kept().await;
    problem["detail"].as_str().unwrap().to_owned()
}

async fn an_animation_over_max_animation_frames_is_refused_and_nothing_is_kept(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.limits.max_animation_frames = 3).await;
    let detail = refused_as_invalid(&app, animated_gif(&frames(4, 8, 8), 0), "a.gif").await;
    assert!(detail.contains("4 frames"), "{detail}");
    refused_as_invalid(&app, animated_webp(&frames(4, 8, 8), 0), "a.webp").await;
    refused_as_invalid(&app, animated_png(&frames(4, 8, 8), 0), "a.png").await;
    // At the limit is accepted.
    let media = app
        .upload_ok(animated_webp(&frames(3, 8, 8), 0), "b.webp")
        .await;
    assert_eq!(media.frames, Some(3));
}

/// Each 10 x 10 frame is within MAX_IMAGE_PIXELS = 100; 21 of them are over 20 x 100.
async fn frames_times_pixels_over_twenty_times_max_image_pixels_are_refused(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.limits.max_image_pixels = 100).await;
    refused_as_invalid(&app, animated_gif(&frames(21, 10, 10), 0), "a.gif").await;
    refused_as_invalid(&app, animated_webp(&frames(21, 10, 10), 0), "a.webp").await;
    refused_as_invalid(&app, animated_png(&frames(21, 10, 10), 0), "a.png").await;
    let media = app
        .upload_ok(animated_gif(&frames(20, 10, 10), 0), "b.gif")
        .await;
    assert_eq!(media.frames, Some(20));
}
