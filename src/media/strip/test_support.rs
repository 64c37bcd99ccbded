//! Helpers shared by the format tests: running a filter over every way of splitting an input,
//! and a small seeded generator so that random splits and fuzzing are reproducible.

use bytes::Bytes;

use super::{MalformedImage, MetadataFilter, Stripped};
use crate::media::ImageFormat;

/// xorshift64*: reproducible randomness without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// In `0..bound`.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Runs `input` through a filter in pieces of the given lengths (the last piece takes the
/// rest), alternating the copying and the zero-copy entry points, and checks the bound on
/// what the filter holds after every push.
/// Why the filter refuses `input`, fed whole.
pub fn refusal(format: ImageFormat, input: &[u8]) -> &'static str {
    run_split(format, input, || usize::MAX)
        .unwrap_err()
        .reason()
}

pub fn run_split(
    format: ImageFormat,
    input: &[u8],
    mut lengths: impl FnMut() -> usize,
) -> Result<(Vec<u8>, Stripped), MalformedImage> {
    let mut filter = MetadataFilter::new(format);
    let mut out = Vec::new();
    let mut rest = input;
    let mut shared = false;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(lengths().clamp(1, rest.len()));
        rest = tail;
        if shared {
            filter.push_bytes(Bytes::copy_from_slice(piece), &mut out)?;
        } else {
            filter.push(piece, &mut out)?;
        }
        shared = !shared;
        assert!(
            filter.buffered() <= 70 * 1024,
            "held {} bytes",
            filter.buffered()
        );
    }
    let stripped = filter.finish(&mut out)?;
    Ok((out.concat(), stripped))
}

/// Runs `input` whole, byte by byte and in seeded random pieces; every split must give the
/// same result, which is returned.
pub fn run_all_splits(
    format: ImageFormat,
    input: &[u8],
) -> Result<(Vec<u8>, Stripped), MalformedImage> {
    let whole = run_split(format, input, || usize::MAX);
    let bytewise = run_split(format, input, || 1);
    assert_eq!(whole, bytewise, "byte by byte differs from whole");
    for seed in 0..8 {
        let mut rng = Rng::new(seed);
        let random = run_split(format, input, || 1 + rng.below(64 << (seed % 4)));
        assert_eq!(
            whole, random,
            "random split (seed {seed}) differs from whole"
        );
    }
    whole
}

/// Applies a WebP header patch as the integrator would.
pub fn apply_patch(stored: &mut [u8], stripped: &Stripped) {
    if let Some((at, bytes)) = &stripped.header_patch {
        let at = *at as usize;
        stored[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Decodes with the `image` crate, as RGBA pixels.
pub fn pixels(bytes: &[u8], format: image::ImageFormat) -> image::RgbaImage {
    image::load_from_memory_with_format(bytes, format)
        .expect("decodes")
        .to_rgba8()
}

/// A small gradient image with enough detail that encoders produce real data.
pub fn sample_rgb(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 13) as u8, ((x * y) % 251) as u8])
    })
}

/// `assert_eq!` for long byte strings, reporting where they first differ instead of both.
#[track_caller]
pub fn assert_same(actual: &[u8], expected: &[u8]) {
    if actual != expected {
        let at = actual
            .iter()
            .zip(expected)
            .take_while(|(a, b)| a == b)
            .count();
        let window = |b: &[u8]| b[at.saturating_sub(8)..(at + 8).min(b.len())].to_vec();
        panic!(
            "lengths {} and {}, first difference at {at}: {:?} vs {:?}",
            actual.len(),
            expected.len(),
            window(actual),
            window(expected)
        );
    }
}
