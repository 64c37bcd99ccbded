//! A still image reports no frames: `frames` is for animations.

use image::ImageFormat;

use crate::helpers::{Stack, spawn_app};
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs]; a_still_gif_reports_no_frames);

/// `frames` is for animations only; a GIF of one image is a still image.
async fn a_still_gif_reports_no_frames(stack: Stack) {
    let app = spawn_app(stack).await;
    let media = app
        .upload_ok(crate::images::encoded(6, 4, ImageFormat::Gif), "still.gif")
        .await;
    assert_eq!(media.frames, None);
    assert_eq!(app.record_stripping(media.id).await.1, 0);
}
