//! Test images, generated once at start-up and kept in memory.
//!
//! Noisy pixels keep the encoders from compressing them away, so the encoded size follows
//! the pixel count and can be tuned to a target size.

use anyhow::{Context, Result};
use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, RgbImage};

/// Smallest and largest seed image: the seed workload's images range from 96 KB to 2.6 MB.
pub const MIN_BYTES: usize = 96 * 1024;
pub const MAX_BYTES: usize = 2_600_000;

const JPEG_QUALITY: u8 = 85;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

#[derive(Clone)]
pub struct TestImage {
    pub bytes: Bytes,
    pub format: Format,
    pub file_name: String,
}

impl TestImage {
    pub fn mime(&self) -> &'static str {
        match self.format {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

/// A small deterministic generator (xorshift64*), so runs are repeatable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn noise(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let mut buf = vec![0u8; width as usize * height as usize * 3];
    for chunk in buf.chunks_mut(8) {
        let v = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    RgbImage::from_raw(width, height, buf).expect("buffer matches dimensions")
}

fn encode(format: Format, img: &RgbImage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        Format::Jpeg => JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )
            .context("encoding JPEG")?,
        Format::Png => {
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter)
                .write_image(
                    img.as_raw(),
                    img.width(),
                    img.height(),
                    image::ExtendedColorType::Rgb8,
                )
                .context("encoding PNG")?
        }
    }
    Ok(out)
}

/// One image of `format` whose encoded size is within 1.5 % of `target` bytes (usually).
pub fn generate(format: Format, target: usize, seed: u64) -> Result<TestImage> {
    // Bytes per pixel, measured on a sample; then two corrections on the real size.
    let sample = encode(format, &noise(128, 128, seed))?;
    let mut bpp = sample.len() as f64 / (128.0 * 128.0);
    let mut best: Option<Vec<u8>> = None;
    for _ in 0..4 {
        let pixels = (target as f64 / bpp).max(64.0);
        // 4:3 landscape, dimensions multiples of 8 (whole JPEG blocks).
        let width = (((pixels * 4.0 / 3.0).sqrt() / 8.0).round() as u32).max(1) * 8;
        let height = ((pixels / width as f64 / 8.0).round() as u32).max(1) * 8;
        let bytes = encode(format, &noise(width, height, seed))?;
        bpp = bytes.len() as f64 / (width as f64 * height as f64);
        let err = (bytes.len() as f64 - target as f64).abs() / target as f64;
        best = Some(bytes);
        if err < 0.015 {
            break;
        }
    }
    let bytes = best.expect("at least one attempt");
    let ext = match format {
        Format::Jpeg => "jpg",
        Format::Png => "png",
    };
    Ok(TestImage {
        file_name: format!("load-{seed}-{}.{ext}", bytes.len()),
        bytes: Bytes::from(bytes),
        format,
    })
}

/// `count` images whose sizes are spread evenly over 96 KB–2.6 MB, JPEG and PNG alternating.
pub fn seed_pool(count: usize) -> Result<Vec<TestImage>> {
    let count = count.max(2);
    // Aim 2 % inside the range, so that the 1.5 % tolerance keeps every file within it.
    let (lo, hi) = (MIN_BYTES as f64 * 1.02, MAX_BYTES as f64 / 1.02);
    let step = (hi - lo) / (count - 1) as f64;
    // Generate in a few threads: the 2.6 MB ones take a moment each.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let mut pool: Vec<Option<TestImage>> = vec![None; count];
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || -> Result<Vec<(usize, TestImage)>> {
                    let mut out = Vec::new();
                    for i in (t..count).step_by(threads) {
                        let target = (lo + step * i as f64) as usize;
                        let format = if i % 2 == 0 {
                            Format::Jpeg
                        } else {
                            Format::Png
                        };
                        out.push((i, generate(format, target, 1000 + i as u64)?));
                    }
                    Ok(out)
                })
            })
            .collect();
        for h in handles {
            for (i, img) in h.join().expect("image thread panicked")? {
                pool[i] = Some(img);
            }
        }
        Ok(())
    })?;
    Ok(pool
        .into_iter()
        .map(|i| i.expect("every slot filled"))
        .collect())
}
