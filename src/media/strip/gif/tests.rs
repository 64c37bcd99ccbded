use super::super::test_support::{assert_same, contains, refusal, run_all_splits};
use super::*;
use crate::media::ImageFormat;
use image::AnimationDecoder;

/// Data sub-blocks of at most 255 bytes, then the terminator.
fn sub_blocks(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in data.chunks(255) {
        out.push(piece.len() as u8);
        out.extend_from_slice(piece);
    }
    out.push(0);
    out
}

fn comment(text: &[u8]) -> Vec<u8> {
    [&[EXTENSION, COMMENT][..], &sub_blocks(text)].concat()
}

fn application(id: &[u8; 11], data: &[u8]) -> Vec<u8> {
    [&[EXTENSION, APPLICATION, 11][..], id, &sub_blocks(data)].concat()
}

/// An animated GIF from the `image` encoder, with a NETSCAPE loop extension.
fn encoded(frames: u32) -> Vec<u8> {
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .unwrap();
        let frames = (0..frames).map(|i| {
            let img = image::RgbaImage::from_fn(11, 7, |x, y| {
                image::Rgba([(x * 20) as u8, (y * 30) as u8, (i * 90) as u8, 255])
            });
            image::Frame::new(img)
        });
        encoder.encode_frames(frames).unwrap();
    }
    gif
}

/// Where the first block after the header and global colour table starts.
fn blocks_start(gif: &[u8]) -> usize {
    HEADER_LEN + colour_table_len(gif[10]) as usize
}

fn decoded_frames(gif: &[u8]) -> Vec<image::RgbaImage> {
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(gif)).unwrap();
    decoder
        .into_frames()
        .map(|f| f.unwrap().into_buffer())
        .collect()
}

#[test]
fn comments_and_foreign_applications_are_dropped_and_the_rest_kept() {
    let gif = encoded(3);
    assert!(contains(&gif, b"NETSCAPE2.0"));
    let start = blocks_start(&gif);
    let (head, blocks) = gif.split_at(start);
    let (blocks, trailer) = blocks.split_at(blocks.len() - 1);
    let xmp_data: Vec<u8> = b"<x:xmpmeta>GPS-SECRET</x:xmpmeta>"
        .iter()
        .cycle()
        .take(600)
        .copied()
        .collect();
    let input = [
        head,
        &comment(b"shot at GPS-SECRET"),
        &application(b"XMP DataXMP", &xmp_data),
        blocks,
        &comment(&[b'c'; 300]),
        &application(b"ANIMEXTS1.0", &[1, 0, 0]),
        trailer,
        b"trailing GPS-SECRET",
    ]
    .concat();
    let (out, stripped) = run_all_splits(ImageFormat::Gif, &input).unwrap();
    let expected = [
        head,
        blocks,
        &application(b"ANIMEXTS1.0", &[1, 0, 0]),
        trailer,
    ]
    .concat();
    assert_same(&out, &expected);
    assert!(!contains(&out, b"GPS-SECRET"));
    assert_eq!(stripped.frames, Some(3));
    assert_eq!(stripped.bytes_dropped, (input.len() - out.len()) as u64);
    assert_eq!(decoded_frames(&out), decoded_frames(&gif));
}

#[test]
fn a_still_gif_has_one_frame_and_passes_unchanged() {
    let gif = encoded(1);
    let (out, stripped) = run_all_splits(ImageFormat::Gif, &gif).unwrap();
    assert_same(&out, &gif);
    assert_eq!(
        (
            stripped.frames,
            stripped.orientation,
            stripped.bytes_dropped
        ),
        (Some(1), 1, 0)
    );
}

/// A hand-made GIF87a with a local colour table, plain text extension and odd application
/// extensions: an empty one and one whose identifier block is not 11 bytes.
#[test]
fn local_colour_tables_and_odd_extensions_are_walked() {
    let header = b"GIF87a\x02\0\x02\0\x00\0\0"; // no global colour table
    let plain_text = [&[EXTENSION, 0x01, 12][..], &[0; 12], &sub_blocks(b"hi")].concat();
    let image = [
        &[IMAGE, 0, 0, 0, 0, 2, 0, 2, 0, 0x81][..], // local table of 4 colours
        &[0x10; 12],
        &[2],
        &sub_blocks(&[0x4C, 0x01]),
    ]
    .concat();
    let empty_app = [EXTENSION, APPLICATION, 0];
    let odd_app = [
        &[EXTENSION, APPLICATION, 3][..],
        b"abc",
        &sub_blocks(b"GPS-SECRET"),
    ]
    .concat();
    let input = [
        &header[..],
        &empty_app,
        &plain_text,
        &odd_app,
        &image,
        &[TRAILER],
    ]
    .concat();
    let (out, stripped) = run_all_splits(ImageFormat::Gif, &input).unwrap();
    assert_same(
        &out,
        &[&header[..], &plain_text, &image, &[TRAILER]].concat(),
    );
    assert_eq!(stripped.frames, Some(1));
}

fn error(input: &[u8]) -> &'static str {
    refusal(ImageFormat::Gif, input)
}

#[test]
fn malformed_streams_are_refused_with_a_reason() {
    let gif = encoded(2);
    assert_eq!(
        error(b"GIF90a\x01\0\x01\0\0\0\0"),
        "GIF does not start with a GIF header"
    );
    let garbage = [&gif[..blocks_start(&gif)], b"\x99"].concat();
    assert_eq!(error(&garbage), "GIF has garbage where a block must be");
    for cut in [3, 13, blocks_start(&gif) + 5, gif.len() - 1] {
        assert_eq!(error(&gif[..cut]), "truncated", "cut at {cut}");
    }
}
