use super::super::exif::tests::tiff_with_gps;
use super::super::test_support::{
    assert_same, contains, pixels, refusal, run_all_splits, sample_rgb,
};
use super::*;
use crate::media::ImageFormat;

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() + 2) as u16;
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&len.to_be_bytes());
    s.extend_from_slice(payload);
    s
}

fn with_prefix(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    [prefix, rest].concat()
}

/// A baseline JPEG from the `image` encoder: SOI, JFIF APP0, tables, one scan, EOI.
fn encoded() -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&sample_rgb(37, 23))
        .unwrap();
    jpeg
}

/// Splits an encoded JPEG after its JFIF APP0: (SOI + APP0, the rest).
fn split_after_jfif(jpeg: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert_eq!(
        &jpeg[..4],
        [0xFF, SOI, 0xFF, APP0],
        "the encoder writes JFIF first"
    );
    let end = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
    assert_eq!(&jpeg[6..11], b"JFIF\0");
    (jpeg[..end].to_vec(), jpeg[end..].to_vec())
}

struct Parts {
    input: Vec<u8>,
    expected: Vec<u8>,
}

/// Every kind of metadata a phone or editor writes, around the encoder's real image.
fn with_metadata(orientation: u16, big_endian: bool) -> Parts {
    let (head, body) = split_after_jfif(&encoded());
    let exif = segment(
        APP1,
        &with_prefix(b"Exif\0\0", &tiff_with_gps(orientation, big_endian)),
    );
    let xmp = segment(
        APP1,
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPS-SECRET</x:xmpmeta>",
    );
    let extended_xmp = segment(
        APP1,
        &[
            &b"http://ns.adobe.com/xmp/extension/\0"[..],
            &[b'A'; 32],                // GUID of the main XMP's extension
            &[0, 0, 0, 10, 0, 0, 0, 0], // full length, offset of this part
            b"GPS-SECRET",
        ]
        .concat(),
    );
    let iptc = segment(
        0xED,
        b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x0cGPS-SECRET..",
    );
    let comment = segment(COM, b"taken at home GPS-SECRET");
    let jfxx = segment(APP0, b"JFXX\0\x10GPS-SECRET-THUMBNAIL");
    let icc1 = segment(APP2, b"ICC_PROFILE\0\x01\x02first half of the profile");
    let icc2 = segment(APP2, b"ICC_PROFILE\0\x02\x02second half of the profile");
    let adobe = segment(APP14, b"Adobe\0\x64\0\0\0\0\x01");
    let other_app = segment(0xE5, b"vendor GPS-SECRET");
    let empty_app = segment(0xE7, b"");
    let trailer = b"\0\0\0\x18ftypmp42 GPS-SECRET motion photo \xFF\xD8\xFF\xD9";
    let input = [
        &head[..],
        &exif,
        &xmp,
        &extended_xmp,
        &iptc,
        &comment,
        &jfxx,
        &icc1,
        &icc2,
        &adobe,
        &other_app,
        &empty_app,
        &body,
        trailer,
    ]
    .concat();
    let minimal = if !(2..=8).contains(&orientation) {
        vec![]
    } else {
        minimal_app1(orientation as u8)
    };
    let expected = [&head[..], &minimal, &icc1, &icc2, &adobe, &body].concat();
    Parts { input, expected }
}

#[test]
fn metadata_is_dropped_and_the_rest_is_byte_identical() {
    for big_endian in [true, false] {
        let parts = with_metadata(6, big_endian);
        let (out, stripped) = run_all_splits(ImageFormat::Jpeg, &parts.input).unwrap();
        assert_same(&out, &parts.expected);
        assert!(!contains(&out, b"GPS-SECRET"));
        assert_eq!(stripped.orientation, 6);
        assert_eq!(stripped.frames, None);
        assert_eq!(stripped.header_patch, None);
        let input_len = parts.input.len() as u64;
        assert_eq!(
            stripped.bytes_dropped,
            input_len - out.len() as u64 + minimal_app1(6).len() as u64
        );
    }
}

#[test]
fn the_output_decodes_to_the_same_pixels() {
    let parts = with_metadata(3, false);
    let (out, _) = run_all_splits(ImageFormat::Jpeg, &parts.input).unwrap();
    let format = image::ImageFormat::Jpeg;
    assert_eq!(pixels(&out, format), pixels(&parts.input, format));
}

#[test]
fn the_orientation_only_exif_reads_back() {
    let (out, _) = run_all_splits(ImageFormat::Jpeg, &with_metadata(8, true).input).unwrap();
    let (head, _) = split_after_jfif(&out);
    let app1 = &out[head.len()..head.len() + minimal_app1(8).len()];
    assert_eq!(&app1[..2], [0xFF, APP1]);
    assert_eq!(exif::orientation(&app1[4..], true), Ok(8));
}

#[test]
fn no_exif_is_written_for_an_upright_or_absent_orientation() {
    for orientation in [1, 0] {
        let parts = with_metadata(orientation, true);
        let (out, stripped) = run_all_splits(ImageFormat::Jpeg, &parts.input).unwrap();
        assert_same(&out, &parts.expected);
        assert!(!contains(&out, b"Exif"));
        assert_eq!(stripped.orientation, 1);
    }
    let plain = encoded();
    let (out, stripped) = run_all_splits(ImageFormat::Jpeg, &plain).unwrap();
    assert_same(&out, &plain);
    assert_eq!((stripped.orientation, stripped.bytes_dropped), (1, 0));
}

/// A progressive-style stream: several scans with tables and a comment between them, and
/// entropy-coded data holding stuffing, restart markers and fill bytes.
#[test]
fn markers_between_scans_are_walked_and_only_the_first_eoi_after_a_scan_ends() {
    let sof2 = segment(0xC2, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
    let dht = segment(0xC4, &[0x00; 17]);
    let sos = segment(SOS, &[1, 1, 0, 0, 0x3F, 0]);
    let scan1 = b"\x12\xFF\x00\x34\xFF\xD0\x56\xFF\xFF\x00\x78".to_vec();
    let scan2 = b"\xAB\xFF\x00\xFF\xD7\xCD".to_vec();
    let comment = segment(COM, b"between scans");
    let app = segment(APP1, b"http://ns.adobe.com/xap/1.0/\0between scans");
    let eoi = [0xFF, EOI];
    let head = [0xFF, SOI];
    let input = [
        &head[..],
        &sof2,
        &dht,
        &sos,
        &scan1,
        &comment,
        &app,
        &dht,
        &sos,
        &scan2,
        &eoi,
        b"\xFF\xD8trailing\xFF\xD9",
    ]
    .concat();
    let expected = [
        &head[..],
        &sof2,
        &dht,
        &sos,
        &scan1,
        &dht,
        &sos,
        &scan2,
        &eoi,
    ]
    .concat();
    let (out, _) = run_all_splits(ImageFormat::Jpeg, &input).unwrap();
    assert_same(&out, &expected);
}

fn error(input: &[u8]) -> &'static str {
    refusal(ImageFormat::Jpeg, input)
}

#[test]
fn malformed_streams_are_refused_with_a_reason() {
    let jpeg = encoded();
    assert_eq!(
        error(b"\xFF\xD9"),
        "JPEG does not start with Start Of Image"
    );
    assert_eq!(
        error(&[0xFF, SOI, 0xFF, 0xDB, 0, 1]),
        "JPEG segment length below 2"
    );
    assert_eq!(
        error(&[0xFF, SOI, 0x12]),
        "JPEG has garbage where a marker must be"
    );
    assert_eq!(
        error(&[0xFF, SOI, 0xFF, SOI]),
        "JPEG has a second Start Of Image"
    );
    let bad_exif = [
        &[0xFF, SOI][..],
        &segment(APP1, b"Exif\0\0II*\0\xFF\xFF\xFF\x7F"),
    ]
    .concat();
    assert_eq!(
        error(&[&bad_exif[..], &[0xFF, EOI]].concat()),
        "EXIF IFD0 lies outside the EXIF block"
    );
    for cut in [1, 3, 5, 20, jpeg.len() / 2, jpeg.len() - 1] {
        assert_eq!(error(&jpeg[..cut]), "truncated", "cut at {cut}");
    }
}

#[test]
fn an_error_sticks() {
    let mut filter = super::super::MetadataFilter::new(ImageFormat::Jpeg);
    let mut out = Vec::new();
    assert!(filter.push(b"\x00\x00", &mut out).is_err());
    assert!(filter.push(&encoded(), &mut out).is_err());
    assert!(filter.finish(&mut out).is_err());
    assert!(out.is_empty());
}
