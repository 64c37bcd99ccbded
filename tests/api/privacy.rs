//! Privacy at ingest: what is stored may be published. exiftool, not the service's own parser,
//! says what the stored bytes still carry; `image` says whether their pixels changed.

mod animation;
mod hostile;
mod memory;
mod still;
mod stored_bytes;

use image::ImageFormat;

use crate::helpers::{Media, Stack, TestApp, sha1_hex, spawn_app};
use crate::matrix;
use crate::metadata_fixtures as fx;

matrix!(all;
    identifying_metadata_is_gone_from_every_stored_type_but_orientation,
    stored_pixels_are_the_uploaded_pixels_for_every_type,
    an_icc_profile_comes_through_byte_for_byte,
    each_of_the_eight_orientations_is_kept_and_gives_the_displayed_size,
    the_record_holds_orientation_frames_and_that_the_bytes_were_stripped,
);

const TYPES: [ImageFormat; 4] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::WebP,
    ImageFormat::Gif,
];

/// 40 x 30, so that a swap shows.
const WIDTH: u32 = 40;
const HEIGHT: u32 = 30;

/// A photo of `format` with an ICC profile (not GIF), everything of [`fx::SECRETS`] and, where
/// EXIF can hold it, Orientation 6.
fn photo(format: ImageFormat) -> Vec<u8> {
    let icc = fx::icc_profile(0);
    let (icc, extra): (_, &[&str]) = match format {
        ImageFormat::Gif => (None, &[]),
        _ => (Some(&icc[..]), &["-Orientation#=6"]),
    };
    fx::with_identifying_metadata(&fx::plain(WIDTH, HEIGHT, format, icc), format, extra)
}

fn file_name(format: ImageFormat) -> String {
    format!("photo.{}", format.extensions_str()[0])
}

/// The stored bytes, as `file_url` serves them.
async fn stored(app: &TestApp, media: &Media) -> Vec<u8> {
    let response = app.get(&media.file_url).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// Uploads `bytes` (which must be accepted); returns the answer and the stored bytes.
async fn upload_and_fetch(app: &TestApp, bytes: Vec<u8>, name: &str) -> (Media, Vec<u8>) {
    let media = app.upload_ok(bytes, name).await;
    let stored = stored(app, &media).await;
    (media, stored)
}

async fn identifying_metadata_is_gone_from_every_stored_type_but_orientation(stack: Stack) {
    let app = spawn_app(stack).await;
    for format in TYPES {
        let upload = photo(format);
        fx::assert_identifying_metadata(&upload, format);
        let (media, stored) = upload_and_fetch(&app, upload.clone(), &file_name(format)).await;
        fx::assert_no_identifying_metadata(&stored);
        let tags = fx::tags(&stored);
        // GIF has no EXIF: its orientation was XMP, which goes.
        let (orientation, displayed) = match format {
            ImageFormat::Gif => (1, [WIDTH, HEIGHT]),
            _ => (6, [HEIGHT, WIDTH]),
        };
        let kept = tags.get("IFD0:Orientation").and_then(|v| v.as_u64());
        assert_eq!(
            kept.unwrap_or(1),
            u64::from(orientation),
            "{format:?} Orientation"
        );
        assert_eq!(media.orientation, orientation, "{format:?}");
        if format != ImageFormat::Gif {
            assert_eq!(media.frames, None, "{format:?} is still");
        }
        assert_eq!([media.width, media.height], displayed.map(u64::from));
        assert!(stored.len() < upload.len(), "{format:?} was not stripped");
        assert_eq!(media.size, stored.len() as u64);
        assert_eq!(media.sha1, sha1_hex(&stored));
    }
}

async fn stored_pixels_are_the_uploaded_pixels_for_every_type(stack: Stack) {
    let app = spawn_app(stack).await;
    for format in TYPES {
        let upload = photo(format);
        let (_, stored) = upload_and_fetch(&app, upload.clone(), &file_name(format)).await;
        let sent = image::load_from_memory(&upload).expect("the upload decodes");
        let kept = image::load_from_memory(&stored).expect("the stored file decodes");
        assert_eq!(kept.color(), sent.color(), "{format:?}");
        assert!(
            kept.as_bytes() == sent.as_bytes(),
            "{format:?} pixels changed"
        );
    }
}

/// exiftool extracts the very profile the encoder embedded; a profile over 64 KiB spans several
/// JPEG APP2 segments, each of which must come through unchanged and in order.
async fn an_icc_profile_comes_through_byte_for_byte(stack: Stack) {
    let app = spawn_app(stack).await;
    for padding in [0, 150_000] {
        let icc = fx::icc_profile(padding);
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
            let plain = fx::plain(WIDTH, HEIGHT, format, Some(&icc));
            let upload = fx::with_identifying_metadata(&plain, format, &[]);
            assert_eq!(fx::icc_profile_of(&upload), icc, "{format:?} upload");
            let (_, stored) = upload_and_fetch(&app, upload.clone(), &file_name(format)).await;
            assert_eq!(fx::icc_profile_of(&stored), icc, "{format:?} stored");
            if format == ImageFormat::Jpeg {
                let segments = fx::jpeg_icc_segments(&upload);
                assert_eq!(segments.len(), 1 + padding / 65_000);
                assert_eq!(fx::jpeg_icc_segments(&stored), segments);
            }
        }
    }
}

async fn each_of_the_eight_orientations_is_kept_and_gives_the_displayed_size(stack: Stack) {
    let app = spawn_app(stack).await;
    let plain = fx::plain(WIDTH, HEIGHT, ImageFormat::Jpeg, None);
    for orientation in 1..=8u8 {
        let arg = format!("-Orientation#={orientation}");
        let upload = fx::with_identifying_metadata(&plain, ImageFormat::Jpeg, &[&arg]);
        let (media, stored) = upload_and_fetch(&app, upload, "turned.jpg").await;
        fx::assert_no_identifying_metadata(&stored);
        let kept = fx::tags(&stored)
            .get("IFD0:Orientation")
            .and_then(|v| v.as_u64());
        // 1 is the default: the EXIF block may go entirely.
        assert_eq!(kept.unwrap_or(1), u64::from(orientation));
        assert_eq!(media.orientation, orientation);
        let displayed = match orientation {
            5..=8 => [HEIGHT, WIDTH],
            _ => [WIDTH, HEIGHT],
        };
        assert_eq!([media.width, media.height], displayed.map(u64::from));
        assert_eq!(app.info(&media).await, media, "info says the same");
    }
}

async fn the_record_holds_orientation_frames_and_that_the_bytes_were_stripped(stack: Stack) {
    let app = spawn_app(stack).await;
    let still = app.upload_ok(photo(ImageFormat::Jpeg), "still.jpg").await;
    assert_eq!(still.frames, None);
    assert_eq!(app.record_stripping(still.id).await, (6, 0, true));
    let animation = crate::images::animated_gif(&crate::images::frames(3, 8, 8), 0);
    let animated = app.upload_ok(animation, "moving.gif").await;
    assert_eq!(animated.frames, Some(3));
    assert_eq!(app.record_stripping(animated.id).await, (1, 3, true));
}
