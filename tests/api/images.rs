//! Test images, generated in code: valid ones of every accepted type and hostile ones.

use std::io::Cursor;

use image::{ImageFormat, RgbImage};

pub fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 13) as u8, 200])
    });
    let mut out = Cursor::new(Vec::new());
    match format {
        // The JPEG encoder takes RGB; GIF and WebP want RGBA.
        ImageFormat::Gif | ImageFormat::WebP => image::DynamicImage::ImageRgb8(img)
            .to_rgba8()
            .write_to(&mut out, format),
        _ => img.write_to(&mut out, format),
    }
    .expect("encoding a test image");
    out.into_inner()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::Jpeg)
}

/// A valid PNG of exactly `len` bytes: the padding is a private ancillary chunk (`paDd`),
/// which readers skip and metadata stripping keeps (it is not metadata), so the stored file
/// is the uploaded one.
pub fn png_of_exactly(len: usize) -> Vec<u8> {
    png_padded(len, |_| 0)
}

/// [`png_of_exactly`] with the padding bytes `pattern(i)`.
fn png_padded(len: usize, pattern: impl Fn(usize) -> u8) -> Vec<u8> {
    const CHUNK_OVERHEAD: usize = 12; // length, type, CRC
    let mut bytes = png(8, 8);
    let iend = bytes.split_off(bytes.len() - CHUNK_OVERHEAD);
    let padding = len - bytes.len() - CHUNK_OVERHEAD - iend.len();
    let data: Vec<u8> = (0..padding).map(pattern).collect();
    push_chunk(&mut bytes, b"paDd", &data);
    bytes.extend_from_slice(&iend);
    assert_eq!(bytes.len(), len);
    bytes
}

/// A PNG whose header claims 100000 x 100000 pixels: a decompression bomb if anyone decoded it.
pub fn png_bomb_header() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    push_chunk(&mut bytes, b"IHDR", &ihdr);
    push_chunk(
        &mut bytes,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    push_chunk(&mut bytes, b"IEND", &[]);
    bytes
}

pub fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A JPEG cut off before its frame header: the type is right, the dimensions are unreadable.
pub fn truncated_jpeg() -> Vec<u8> {
    let full = jpeg(16, 16);
    let sof = full
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG has SOF0");
    full[..sof + 3].to_vec()
}

pub fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    bytes.extend_from_slice(b"trailer << /Root 1 0 R >>\n%%EOF\n");
    bytes
}

/// Larger than one S3 part (5 MiB), so that a bucket gets a multipart upload.
pub const OVER_ONE_S3_PART: usize = 5 * 1024 * 1024 + 4321;

/// A valid PNG padded to exactly `len` bytes with a non-repeating pattern, so that a byte read
/// from the wrong offset (a part boundary, a range) shows.
pub fn large_png(len: usize) -> Vec<u8> {
    png_padded(len, |i| (i % 251) as u8)
}

/// `count` frames of `width` x `height`, each different from the one before.
pub fn frames(count: u32, width: u32, height: u32) -> Vec<image::RgbaImage> {
    (0..count)
        .map(|i| {
            image::RgbaImage::from_fn(width, height, |x, y| {
                let on = (x + y + i) % 4 == 0;
                image::Rgba(if on {
                    [255, 40, 0, 255]
                } else {
                    [0, 0, 90, 255]
                })
            })
        })
        .collect()
}

/// An animated GIF of `frames`, 70 ms each, played `loops` times more (0: forever).
pub fn animated_gif(frames: &[image::RgbaImage], loops: u16) -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        let repeat = match loops {
            0 => Repeat::Infinite,
            n => Repeat::Finite(n),
        };
        encoder.set_repeat(repeat).unwrap();
        let delay = image::Delay::from_numer_denom_ms(70, 1);
        encoder
            .encode_frames(
                frames
                    .iter()
                    .map(|f| image::Frame::from_parts(f.clone(), 0, 0, delay)),
            )
            .expect("encoding a GIF animation");
    }
    out
}

/// An animated WebP of `frames` (lossless, 70 ms each), played `loops` times (0: forever),
/// built by hand: `image` encodes one VP8L frame at a time, not animations.
pub fn animated_webp(frames: &[image::RgbaImage], loops: u16) -> Vec<u8> {
    let (width, height) = frames[0].dimensions();
    let u24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let mut vp8x = vec![0x10 | 0x02, 0, 0, 0]; // alpha, animation
    vp8x.extend(u24(width - 1));
    vp8x.extend(u24(height - 1));
    let mut anim = 0u32.to_le_bytes().to_vec(); // background colour
    anim.extend_from_slice(&loops.to_le_bytes());
    let mut body = b"WEBP".to_vec();
    riff_chunk(&mut body, b"VP8X", &vp8x);
    riff_chunk(&mut body, b"ANIM", &anim);
    for frame in frames {
        let mut anmf = [u24(0), u24(0), u24(width - 1), u24(height - 1), u24(70)].concat();
        anmf.push(0b10); // do not blend, do not dispose
        anmf.extend(vp8l_chunk(frame));
        riff_chunk(&mut body, b"ANMF", &anmf);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

fn riff_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}

/// The VP8L chunk (header, data, padding) of `frame` encoded as a simple lossless WebP.
fn vp8l_chunk(frame: &image::RgbaImage) -> Vec<u8> {
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(
            frame.as_raw(),
            frame.width(),
            frame.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    assert_eq!(&webp[12..16], b"VP8L", "a simple lossless WebP");
    webp.split_off(12)
}

/// An animated PNG of `frames` (70 ms each), played `plays` times (0: forever), built by hand:
/// each frame's image data from `image`'s encoder, the first as `IDAT`, the rest as `fdAT`.
pub fn animated_png(frames: &[image::RgbaImage], plays: u32) -> Vec<u8> {
    let (width, height) = frames[0].dimensions();
    let mut ihdr = [width.to_be_bytes(), height.to_be_bytes()].concat();
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    push_chunk(&mut out, b"IHDR", &ihdr);
    let actl = [(frames.len() as u32).to_be_bytes(), plays.to_be_bytes()].concat();
    push_chunk(&mut out, b"acTL", &actl);
    let mut sequence = 0u32;
    for (i, frame) in frames.iter().enumerate() {
        let mut fctl = sequence.to_be_bytes().to_vec();
        for v in [width, height, 0, 0] {
            fctl.extend_from_slice(&v.to_be_bytes());
        }
        fctl.extend_from_slice(&[0, 7, 0, 100, 0, 0]); // 7/100 s, no dispose, source
        push_chunk(&mut out, b"fcTL", &fctl);
        sequence += 1;
        let data = image_data(frame);
        if i == 0 {
            push_chunk(&mut out, b"IDAT", &data);
        } else {
            push_chunk(
                &mut out,
                b"fdAT",
                &[&sequence.to_be_bytes()[..], &data].concat(),
            );
            sequence += 1;
        }
    }
    push_chunk(&mut out, b"IEND", &[]);
    out
}

/// The concatenated `IDAT` payloads of `frame` encoded as an RGBA PNG.
fn image_data(frame: &image::RgbaImage) -> Vec<u8> {
    let mut png = Vec::new();
    frame
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    let mut data = Vec::new();
    let mut at = 8;
    while at < png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        if &png[at + 4..at + 8] == b"IDAT" {
            data.extend_from_slice(&png[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    data
}
