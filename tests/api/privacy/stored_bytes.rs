//! What names and checks a stored file: SHA-1 and size of the stripped bytes, the size limit on
//! the bytes received, `STRIP_METADATA=false`, and `mediastore verify` afterwards.

use image::ImageFormat;

use super::{HEIGHT, TYPES, WIDTH, file_name, photo, upload_and_fetch};
use crate::helpers::{
    Stack, assert_problem, file_part, sha1_hex, spawn_app, spawn_app_with, stdout,
};
use crate::images;
use crate::matrix;
use crate::metadata_fixtures::{self as fx, jpeg_with_segments, segment};

matrix!(all;
    with_strip_metadata_off_the_bytes_are_stored_as_sent_and_orientation_still_reported,
    sha1_and_size_are_of_the_stored_bytes_and_the_same_photo_gets_the_same_sha1,
    the_size_limit_applies_to_the_bytes_received_not_to_the_bytes_stored,
    mediastore_verify_passes_after_stripped_uploads,
);

async fn with_strip_metadata_off_the_bytes_are_stored_as_sent_and_orientation_still_reported(
    stack: Stack,
) {
    let app = spawn_app_with(stack, |s| s.limits.strip_metadata = false).await;
    for format in TYPES {
        let upload = photo(format);
        let (media, stored) = upload_and_fetch(&app, upload.clone(), &file_name(format)).await;
        assert!(stored == upload, "{format:?} stored byte for byte");
        assert_eq!(media.sha1, sha1_hex(&upload));
        assert!(media.name.starts_with(&media.sha1));
        assert_eq!(media.size, upload.len() as u64);
        let orientation = if format == ImageFormat::Gif { 1 } else { 6 };
        assert_eq!(media.orientation, orientation, "{format:?}");
        if orientation == 6 {
            assert_eq!((media.width, media.height), (HEIGHT as u64, WIDTH as u64));
        }
        let (recorded, _, stripped) = app.record_stripping(media.id).await;
        assert_eq!((recorded, stripped), (i32::from(orientation), false));
    }
    let animation = images::animated_gif(&images::frames(3, 8, 8), 0);
    let media = app.upload_ok(animation, "moving.gif").await;
    assert_eq!(media.frames, Some(3), "frames are still read");
}

async fn sha1_and_size_are_of_the_stored_bytes_and_the_same_photo_gets_the_same_sha1(stack: Stack) {
    let app = spawn_app(stack).await;
    for format in TYPES {
        let upload = photo(format);
        let (first, stored) = upload_and_fetch(&app, upload.clone(), &file_name(format)).await;
        assert_eq!(first.sha1, sha1_hex(&stored));
        assert_ne!(first.sha1, sha1_hex(&upload));
        assert!(first.name.starts_with(&format!("{}-", first.sha1)));
        assert_eq!(first.size, stored.len() as u64);
        let (again, _) = upload_and_fetch(&app, upload, &file_name(format)).await;
        assert_eq!(again.sha1, first.sha1, "{format:?} uploaded twice");
        assert_ne!(again.name, first.name);
    }
    // The same picture from another phone: other place, other owner, same stored bytes.
    let plain = fx::plain(WIDTH, HEIGHT, ImageFormat::Jpeg, Some(&fx::icc_profile(0)));
    let [a, b] = [
        ["-GPSLatitude=10", "-Artist=Bob"],
        ["-GPSLatitude=60", "-Artist=Eve"],
    ]
    .map(|args| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        fx::exiftool_write(&plain, ImageFormat::Jpeg, &args)
    });
    assert_ne!(a, b);
    let (a, _) = upload_and_fetch(&app, a, "a.jpg").await;
    let (b, _) = upload_and_fetch(&app, b, "b.jpg").await;
    assert_eq!(a.sha1, b.sha1);
}

const LIMIT: u64 = 64 * 1024;

async fn the_size_limit_applies_to_the_bytes_received_not_to_the_bytes_stored(stack: Stack) {
    let app = spawn_app_with(stack, |s| s.limits.max_file_bytes = LIMIT).await;
    let jpeg = images::jpeg(16, 16);
    let comment = |len: usize| segment(0xFE, &vec![b'c'; len]);
    // Stripped, a few hundred bytes; as received, one byte over the limit.
    let filler = LIMIT as usize + 1 - jpeg.len() - 4 - 4;
    let over = jpeg_with_segments(&jpeg, &[comment(filler / 2), comment(filler - filler / 2)]);
    assert_eq!(over.len() as u64, LIMIT + 1);
    let form = reqwest::multipart::Form::new()
        .part("file", file_part(over.clone(), "over.jpg", "image/jpeg"));
    assert_problem(app.post_form(form).await, 413, "file_too_large").await;
    app.assert_nothing_kept().await;
    // Exactly the limit as received is accepted, and stored stripped.
    let exact = jpeg_with_segments(
        &jpeg,
        &[comment(filler / 2 - 1), comment(filler - filler / 2)],
    );
    assert_eq!(exact.len() as u64, LIMIT);
    let (media, stored) = upload_and_fetch(&app, exact, "exact.jpg").await;
    assert!(stored == jpeg, "stored without its comments");
    assert_eq!(media.size, jpeg.len() as u64);
}

async fn mediastore_verify_passes_after_stripped_uploads(stack: Stack) {
    let app = spawn_app(stack).await;
    for format in TYPES {
        app.upload_ok(photo(format), &file_name(format)).await;
    }
    // Animated WebP: its header is patched after streaming, then the file re-hashed.
    let webp = images::animated_webp(&images::frames(3, 8, 8), 0);
    let webp = fx::with_identifying_metadata(&webp, ImageFormat::WebP, &[]);
    app.upload_ok(webp, "moving.webp").await;
    let output = app.run_cli(&["verify"]);
    assert!(output.status.success(), "{output:?}");
    let printed = stdout(&output);
    assert!(
        printed.contains("checked 5 files and 5 records: 0 corrupt, 0 missing, 0 without record"),
        "{printed}"
    );
}
