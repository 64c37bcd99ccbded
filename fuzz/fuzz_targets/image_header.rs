//! Image header reading as ingest does it: the magic-byte sniff (`media::sniff`, on the first
//! `SNIFF_BYTES`) and the width and height from `imagesize::reader_size` over a buffered
//! reader, without decoding.
//!
//! Checked: no panic, no hang; the buffered reader and the in-memory one agree; the header
//! reader never takes a file for another format than the sniff named; pixel and frame
//! arithmetic on whatever dimensions it reports does not overflow.
#![no_main]

use std::io::{BufReader, Cursor};

use libfuzzer_sys::fuzz_target;
use mediastore::media::{Dimensions, ImageFormat, SNIFF_BYTES, Sniffed, sniff};
use mediastore_fuzz::fuzz_limits;

fuzz_target!(|data: &[u8]| {
    let head = &data[..data.len().min(SNIFF_BYTES)];
    let sniffed = sniff(head);
    let _ = sniff(data);

    let in_memory = imagesize::blob_size(data);
    let buffered = imagesize::reader_size(BufReader::with_capacity(64, Cursor::new(data)));
    match (&in_memory, &buffered) {
        (Ok(a), Ok(b)) => assert_eq!((a.width, a.height), (b.width, b.height)),
        (Err(_), Err(_)) => {}
        _ => panic!("in memory {in_memory:?}, buffered {buffered:?}"),
    }

    if let Sniffed::Image(format) = sniffed
        && let Ok(kind) = imagesize::image_type(data)
    {
        let same = matches!(
            (format, kind),
            (ImageFormat::Jpeg, imagesize::ImageType::Jpeg)
                | (ImageFormat::Png, imagesize::ImageType::Png)
                | (ImageFormat::Gif, imagesize::ImageType::Gif)
                | (ImageFormat::Webp, imagesize::ImageType::Webp)
        );
        assert!(same, "sniffed as {format:?}, its header read as {kind:?}");
    }

    if let Ok(size) = in_memory {
        let dimensions = Dimensions {
            width: size.width as u64,
            height: size.height as u64,
        };
        let limits = fuzz_limits(true);
        for orientation in 0..=9 {
            let shown = dimensions.displayed(orientation);
            assert_eq!(shown.pixels(), dimensions.pixels());
        }
        let _ = limits.allows_pixels(dimensions);
        for frames in [0, 1, 2, 100, u64::MAX] {
            let _ = limits.allows_frames(frames, dimensions);
        }
    }
});
