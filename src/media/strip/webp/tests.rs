use super::super::exif::EXIF_PREFIX;
use super::super::exif::tests::tiff_with_gps;
use super::super::test_support::{
    apply_patch, assert_same, contains, pixels, refusal, run_all_splits, sample_rgb,
};
use super::*;
use crate::media::ImageFormat;

const W: u32 = 21;
const H: u32 = 13;

fn chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut c = fourcc.to_vec();
    c.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    c.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        c.push(0);
    }
    c
}

fn riff(chunks: &[&[u8]]) -> Vec<u8> {
    let body = chunks.concat();
    [
        &b"RIFF"[..],
        &(body.len() as u32 + 4).to_le_bytes(),
        b"WEBP",
        &body,
    ]
    .concat()
}

/// The lossless `VP8L` chunk the `image` encoder writes, whole.
fn vp8l() -> Vec<u8> {
    let mut webp = Vec::new();
    let img = sample_rgb(W, H);
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(img.as_raw(), W, H, image::ExtendedColorType::Rgb8)
        .unwrap();
    assert_eq!(&webp[12..16], b"VP8L");
    webp[12..].to_vec()
}

fn vp8x(flags: u8) -> Vec<u8> {
    let mut p = vec![flags, 0, 0, 0];
    p.extend_from_slice(&(W - 1).to_le_bytes()[..3]);
    p.extend_from_slice(&(H - 1).to_le_bytes()[..3]);
    chunk(b"VP8X", &p)
}

fn xmp() -> Vec<u8> {
    // Odd length, so that the pad byte is exercised.
    chunk(b"XMP ", b"<x:xmpmeta>GPS-SECRET</x:xmpmeta>")
}

fn riff_size(stored: &[u8]) -> u32 {
    u32::from_le_bytes(stored[4..8].try_into().unwrap())
}

#[test]
fn metadata_is_dropped_and_the_header_patch_makes_a_valid_file() {
    let iccp = chunk(b"ICCP", b"not really a profile.");
    for prefixed in [false, true] {
        let tiff = tiff_with_gps(6, prefixed);
        let exif_payload = if prefixed {
            [EXIF_PREFIX, &tiff].concat()
        } else {
            tiff
        };
        let exif = chunk(b"EXIF", &exif_payload);
        let flags = 0x20 | FLAG_EXIF | FLAG_XMP;
        let input = riff(&[&vp8x(flags), &iccp, &vp8l(), &exif, &xmp()]);
        let input = [&input[..], b"trailing GPS-SECRET"].concat();
        let (mut out, stripped) = run_all_splits(ImageFormat::Webp, &input).unwrap();
        let stored_flags = riff(&[&vp8x(flags), &iccp, &vp8l()]);
        let expected = [&stored_flags[..], &Webp::minimal_exif_chunk(6)].concat();
        // Before the patch: only the RIFF size and the flags differ.
        assert_same(&out[21..], &expected[21..]);
        assert!(!contains(&out, b"GPS-SECRET"));
        assert_eq!((stripped.orientation, stripped.frames), (6, None));
        let (at, patch) = stripped.header_patch.clone().unwrap();
        assert_eq!((at, patch.len()), (0, 21));
        apply_patch(&mut out, &stripped);
        assert_eq!(riff_size(&out) as usize, out.len() - 8);
        assert_eq!(
            out[20],
            0x20 | FLAG_EXIF,
            "XMP flag cleared, EXIF flag kept for orientation"
        );
        let format = image::ImageFormat::WebP;
        assert_eq!(pixels(&out, format), pixels(&input, format));
        let tail = &out[out.len() - 8 - MINIMAL_TIFF_LEN..];
        assert_eq!(&tail[..4], b"EXIF");
        assert_eq!(exif::orientation(&tail[8..], true), Ok(6));
    }
}

#[test]
fn without_orientation_the_exif_flag_is_cleared_too() {
    let input = riff(&[
        &vp8x(FLAG_EXIF | FLAG_XMP),
        &vp8l(),
        &chunk(b"EXIF", &tiff_with_gps(1, true)),
        &xmp(),
    ]);
    let (mut out, stripped) = run_all_splits(ImageFormat::Webp, &input).unwrap();
    apply_patch(&mut out, &stripped);
    assert_same(&out, &riff(&[&vp8x(0), &vp8l()]));
    assert_eq!(stripped.orientation, 1);
}

#[test]
fn a_simple_webp_passes_unchanged_and_needs_no_patch() {
    let plain = riff(&[&vp8l()]);
    let input = [&plain[..], b"appended"].concat();
    let (out, stripped) = run_all_splits(ImageFormat::Webp, &input).unwrap();
    assert_same(&out, &plain);
    assert_eq!(stripped.header_patch, None);
    assert_eq!(stripped.bytes_dropped, 8);
}

#[test]
fn animation_frames_are_counted_and_kept() {
    let frame = |duration: u8| {
        let mut p = vec![0; 6]; // X/2, Y/2
        p.extend_from_slice(&(W - 1).to_le_bytes()[..3]);
        p.extend_from_slice(&(H - 1).to_le_bytes()[..3]);
        p.extend_from_slice(&[duration, 0, 0, 0]); // duration, no blend, no dispose
        p.extend_from_slice(&vp8l());
        chunk(b"ANMF", &p)
    };
    let anim = chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]);
    let flags = FLAG_ANIMATION | FLAG_XMP;
    let input = riff(&[
        &vp8x(flags),
        &anim,
        &frame(50),
        &xmp(),
        &frame(70),
        &frame(90),
    ]);
    let (mut out, stripped) = run_all_splits(ImageFormat::Webp, &input).unwrap();
    assert_eq!(stripped.frames, Some(3));
    apply_patch(&mut out, &stripped);
    assert_same(
        &out,
        &riff(&[
            &vp8x(FLAG_ANIMATION),
            &anim,
            &frame(50),
            &frame(70),
            &frame(90),
        ]),
    );
    use image::AnimationDecoder;
    let decoder = image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&out)).unwrap();
    assert!(decoder.has_animation());
    assert_eq!(decoder.into_frames().count(), 3);
}

#[test]
fn an_orientation_without_vp8x_is_only_reported() {
    let input = riff(&[&vp8l(), &chunk(b"EXIF", &tiff_with_gps(8, false))]);
    let (mut out, stripped) = run_all_splits(ImageFormat::Webp, &input).unwrap();
    apply_patch(&mut out, &stripped);
    assert_same(&out, &riff(&[&vp8l()]));
    assert_eq!(stripped.orientation, 8);
}

#[test]
fn a_missing_final_pad_is_tolerated_and_owed_before_the_appended_exif() {
    let unpadded = [&b"ZZZZ\x03\0\0\0"[..], b"abc"].concat();
    let exif = chunk(b"EXIF", &tiff_with_gps(2, true));
    let input = riff(&[&vp8x(FLAG_EXIF), &vp8l(), &exif, &unpadded]);
    let (mut out, stripped) = run_all_splits(ImageFormat::Webp, &input).unwrap();
    apply_patch(&mut out, &stripped);
    let expected = riff(&[
        &vp8x(FLAG_EXIF),
        &vp8l(),
        &unpadded,
        &[0],
        &Webp::minimal_exif_chunk(2),
    ]);
    assert_same(&out, &expected);
}

fn error(input: &[u8]) -> &'static str {
    refusal(ImageFormat::Webp, input)
}

#[test]
fn malformed_streams_are_refused_with_a_reason() {
    let good = riff(&[&vp8x(0), &vp8l()]);
    assert_eq!(error(b"RIFF\0\0\0\0WEBPxx"), "WebP RIFF size too small");
    assert_eq!(
        error(b"RIFF\x04\0\0\0WAVE"),
        "WebP does not start with a RIFF WEBP header"
    );
    let mut past = good.clone();
    past[16..20].copy_from_slice(&1000u32.to_le_bytes());
    assert_eq!(error(&past), "WebP chunk runs past the RIFF size");
    let mut short = good.clone();
    short[4..8].copy_from_slice(&(riff_size(&good) - 3).to_le_bytes());
    assert_eq!(error(&short), "WebP chunk runs past the RIFF size");
    for cut in [4, 12, 15, 25, good.len() - 1] {
        assert_eq!(error(&good[..cut]), "truncated", "cut at {cut}");
    }
}
