use super::super::exif::tests::tiff_with_gps;
use super::super::test_support::{
    assert_same, contains, pixels, refusal, run_all_splits, run_split, sample_rgb,
};
use super::*;
use crate::media::ImageFormat;

fn chunk(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut c = (payload.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(payload);
    let crc = crc32fast::hash(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

/// A zlib stream of one stored (uncompressed) block: valid input for any inflater.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    z
}

fn encoded() -> Vec<u8> {
    let mut png = Vec::new();
    sample_rgb(29, 17)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

/// The encoder's chunks: signature + IHDR, then the rest (IDAT ... IEND).
fn split_after_ihdr(png: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert_eq!(&png[12..16], b"IHDR");
    (png[..33].to_vec(), png[33..].to_vec())
}

fn text_chunks() -> Vec<u8> {
    let ztxt = [&b"Comment\0\0"[..], &zlib_stored(b"GPS-SECRET")].concat();
    let itxt = b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>GPS-SECRET</x:xmpmeta>";
    [
        chunk(b"tEXt", b"Author\0GPS-SECRET"),
        chunk(b"zTXt", &ztxt),
        chunk(b"iTXt", itxt),
        chunk(b"tIME", &[0x07, 0xE8, 1, 2, 3, 4, 5]),
    ]
    .concat()
}

fn iccp() -> Vec<u8> {
    chunk(
        b"iCCP",
        &[&b"profile\0\0"[..], &zlib_stored(b"not really a profile")].concat(),
    )
}

#[test]
fn metadata_chunks_are_dropped_and_the_rest_is_byte_identical() {
    let (head, body) = split_after_ihdr(&encoded());
    for big_endian in [true, false] {
        let exif = chunk(b"eXIf", &tiff_with_gps(6, big_endian));
        let input = [
            &head[..],
            &iccp(),
            &text_chunks(),
            &exif,
            &body,
            b"trailing GPS-SECRET",
        ]
        .concat();
        let (out, stripped) = run_all_splits(ImageFormat::Png, &input).unwrap();
        let expected = [&head[..], &iccp(), &Png::minimal_exif_chunk(6), &body].concat();
        assert_same(&out, &expected);
        assert!(!contains(&out, b"GPS-SECRET"));
        assert_eq!(
            (stripped.orientation, stripped.frames, stripped.header_patch),
            (6, None, None)
        );
        let written = Png::minimal_exif_chunk(6).len() as u64;
        assert_eq!(
            stripped.bytes_dropped,
            input.len() as u64 + written - out.len() as u64
        );
        let format = image::ImageFormat::Png;
        assert_eq!(pixels(&out, format), pixels(&input, format));
    }
}

#[test]
fn the_orientation_chunk_has_a_valid_crc_and_reads_back() {
    let chunk = Png::minimal_exif_chunk(5);
    let len = chunk.len();
    assert_eq!(&chunk[4..8], b"eXIf");
    assert_eq!(
        chunk[len - 4..],
        crc32fast::hash(&chunk[4..len - 4]).to_be_bytes()
    );
    assert_eq!(exif::orientation(&chunk[8..len - 4], true), Ok(5));
    // The png decoder checks every CRC, and reads the orientation back.
    let (head, body) = split_after_ihdr(&encoded());
    let exif = exif_chunk(&tiff_with_gps(5, false));
    let (out, _) = run_all_splits(ImageFormat::Png, &[&head[..], &exif, &body].concat()).unwrap();
    let mut decoder = image::codecs::png::PngDecoder::new(std::io::Cursor::new(&out)).unwrap();
    use image::ImageDecoder;
    assert_eq!(
        decoder.orientation().unwrap(),
        image::metadata::Orientation::Rotate90FlipH
    );
}

fn exif_chunk(tiff: &[u8]) -> Vec<u8> {
    chunk(b"eXIf", tiff)
}

#[test]
fn an_exif_after_image_data_is_dropped_and_only_reported() {
    let (head, body) = split_after_ihdr(&encoded());
    let (idat, iend) = body.split_at(body.len() - 12);
    let input = [&head[..], idat, &exif_chunk(&tiff_with_gps(3, true)), iend].concat();
    let (out, stripped) = run_all_splits(ImageFormat::Png, &input).unwrap();
    assert_same(&out, &[&head[..], idat, iend].concat());
    assert_eq!(stripped.orientation, 3);
}

#[test]
fn an_upright_or_plain_png_gets_no_exif() {
    let (head, body) = split_after_ihdr(&encoded());
    let input = [&head[..], &exif_chunk(&tiff_with_gps(1, true)), &body].concat();
    let (out, stripped) = run_all_splits(ImageFormat::Png, &input).unwrap();
    assert_same(&out, &encoded());
    assert_eq!(stripped.orientation, 1);
    let (out, stripped) = run_all_splits(ImageFormat::Png, &encoded()).unwrap();
    assert_same(&out, &encoded());
    assert_eq!(stripped.bytes_dropped, 0);
}

#[test]
fn an_exif_larger_than_the_cap_is_read_from_its_prefix_and_never_held_whole() {
    let (head, body) = split_after_ihdr(&encoded());
    let mut tiff = tiff_with_gps(7, true);
    tiff.resize(200_000, 0xAB);
    let input = [&head[..], &exif_chunk(&tiff), &body].concat();
    // run_split asserts the bound after every push.
    let (out, stripped) = run_split(ImageFormat::Png, &input, || 4096).unwrap();
    assert_same(
        &out,
        &[&head[..], &Png::minimal_exif_chunk(7), &body].concat(),
    );
    assert_eq!(stripped.orientation, 7);
}

#[test]
fn a_huge_text_chunk_streams_past_without_being_held() {
    let (head, body) = split_after_ihdr(&encoded());
    let text = chunk(b"tEXt", &vec![b'x'; 3 << 20]);
    let input = [&head[..], &text, &body].concat();
    let (out, stripped) = run_split(ImageFormat::Png, &input, || 10_000).unwrap();
    assert_same(&out, &encoded());
    assert_eq!(stripped.bytes_dropped, text.len() as u64);
}

/// Two frames: the default image is the first, the second is an fdAT holding the same data.
#[test]
fn apng_frames_are_counted_and_animation_chunks_kept() {
    let (head, body) = split_after_ihdr(&encoded());
    let (idat, iend) = body.split_at(body.len() - 12);
    let idat_data = &idat[8..idat.len() - 4];
    let fctl = |seq: u32| {
        let mut p = seq.to_be_bytes().to_vec();
        for v in [29u32, 17, 0, 0] {
            p.extend_from_slice(&v.to_be_bytes());
        }
        p.extend_from_slice(&[0, 1, 0, 10, 0, 0]); // delay 1/10 s, no dispose, source blend
        chunk(b"fcTL", &p)
    };
    let actl = chunk(b"acTL", &[0, 0, 0, 2, 0, 0, 0, 0]);
    let fdat = chunk(b"fdAT", &[&2u32.to_be_bytes()[..], idat_data].concat());
    let kept = [&head[..], &actl, &fctl(0), idat, &fctl(1), &fdat].concat();
    let input = [&kept[..], &text_chunks(), iend].concat();
    let (out, stripped) = run_all_splits(ImageFormat::Png, &input).unwrap();
    assert_same(&out, &[&kept[..], iend].concat());
    assert_eq!(stripped.frames, Some(2));
    use image::AnimationDecoder;
    let decoder = image::codecs::png::PngDecoder::new(std::io::Cursor::new(&out)).unwrap();
    assert_eq!(decoder.apng().unwrap().into_frames().count(), 2);
}

fn error(input: &[u8]) -> &'static str {
    refusal(ImageFormat::Png, input)
}

#[test]
fn malformed_streams_are_refused_with_a_reason() {
    let png = encoded();
    let (head, _) = split_after_ihdr(&png);
    assert_eq!(error(b"\x89PNG\r\n\x1a\x0a"), "truncated");
    assert_eq!(
        error(b"GIF89a\0\0"),
        "PNG does not start with the PNG signature"
    );
    let huge = [&head[..], &[0x80, 0, 0, 0], b"tEXt"].concat();
    assert_eq!(error(&huge), "PNG chunk length exceeds 2^31 - 1");
    let garbage = [&head[..], &[0, 0, 0, 1], b"\0\0\0\0"].concat();
    assert_eq!(
        error(&garbage),
        "PNG has garbage where a chunk type must be"
    );
    let bad_exif = [&head[..], &exif_chunk(b"MM\0*\0\0\0\x08\x00\x05")].concat();
    assert_eq!(error(&bad_exif), "EXIF IFD0 lies outside the EXIF block");
    for cut in [9, 20, 33, 40, png.len() - 1] {
        assert_eq!(error(&png[..cut]), "truncated", "cut at {cut}");
    }
}
