//! Image header reading as ingest does it, on any bytes: the magic-byte sniff (`media::sniff`,
//! on the first `SNIFF_BYTES`, as `ingest::receive` calls it) and the width and height from
//! `imagesize::reader_size` over a `BufReader` of the default capacity, as the private
//! `ingest::dimensions_within` calls it, without decoding. That function itself runs on every
//! upload the ingest and multipart targets accept, where `check_received` holds the dimensions
//! it recorded to the stored file's header; here the header reader meets bytes the metadata
//! filter would have refused first.
//!
//! Checked: no panic, no hang; the reader as ingest calls it, one with a 64-byte buffer and
//! the in-memory one agree; the header reader never takes a file for another format than the
//! sniff named; the limits' pixel and frame arithmetic on whatever dimensions it reports does
//! not overflow.
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
    let as_ingest = imagesize::reader_size(BufReader::new(Cursor::new(data)));
    let small = imagesize::reader_size(BufReader::with_capacity(64, Cursor::new(data)));
    for buffered in [&as_ingest, &small] {
        match (&in_memory, buffered) {
            (Ok(a), Ok(b)) => assert_eq!((a.width, a.height), (b.width, b.height)),
            (Err(_), Err(_)) => {}
            _ => panic!("in memory {in_memory:?}, buffered {buffered:?}"),
        }
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
