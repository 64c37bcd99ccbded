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

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
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
