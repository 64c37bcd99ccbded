//! Privacy at ingest: what is stored is what may be published. [`MetadataFilter`] rewrites an
//! upload as it streams in, dropping the metadata that can identify a person or place (EXIF
//! with GPS, XMP, IPTC, comments, thumbnails, text chunks) and keeping what rendering needs
//! (pixels, colour profiles, animation control, orientation).
//!
//! Memory stays bounded whatever the input: dropped segments are skipped as they stream past,
//! and only a header or one EXIF block (at most [`EXIF_CAP`] bytes, the JPEG APP1 maximum) is
//! ever held.
//!
//! For the integrator:
//! - Hash (SHA-1) and size the *output* bytes: they are what is stored. `finish` may still
//!   append output (WebP's orientation chunk), so hash only after it.
//! - Orientation survives as a minimal EXIF block holding that one tag, in place of the
//!   original (JPEG APP1, PNG `eXIf` before `IDAT`), or as an `EXIF` chunk appended after the
//!   image data (WebP). Where the container has no valid place for it (a PNG `eXIf` after
//!   `IDAT`, a WebP without VP8X) it is not written, only reported in
//!   [`Stripped::orientation`].
//! - WebP only: once the output is complete, overwrite it at [`Stripped::header_patch`]'s
//!   offset with its bytes (RIFF size, VP8X flags), then hash the patched file. The patch
//!   lies within the first 21 bytes, so a caller may instead hold those back until `finish`.
//! - An EXIF block whose IFD0 points outside itself makes the upload malformed, like any
//!   other structural error.

mod exif;
mod gif;
mod jpeg;
mod png;
mod stream;
#[cfg(test)]
mod test_support;
mod webp;

use bytes::Bytes;

use crate::media::ImageFormat;

pub use stream::EXIF_CAP;
use stream::{Counters, Driver, Sink};

/// What stripping learnt about the image, once its last byte has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// EXIF Orientation, 1..=8; 1 when absent.
    pub orientation: u8,
    /// Frame count, counted without decoding: the number of image descriptors of a GIF, and
    /// of an animated PNG (`acTL`) or WebP (`ANMF` chunks). `None` for still PNG, WebP, JPEG.
    pub frames: Option<u32>,
    /// Bytes to overwrite at this offset of the stored output once it is complete. Only WebP
    /// needs it (the RIFF size and VP8X flags precede the chunks whose removal changes them);
    /// `None` when the stored bytes are already right.
    pub header_patch: Option<(u64, Vec<u8>)>,
    /// Input bytes not stored: metadata, and whatever followed the end of the image.
    pub bytes_dropped: u64,
}

/// The upload is not a well-formed image of the format it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed image: {reason}")]
pub struct MalformedImage {
    reason: &'static str,
}

impl MalformedImage {
    fn new(reason: &'static str) -> Self {
        MalformedImage { reason }
    }

    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// Rewrites an upload without its metadata, as it streams in. See the module documentation.
pub struct MetadataFilter {
    walker: Walker,
    counters: Counters,
    /// Set by the first error: a filter that has failed keeps failing, it never resyncs.
    failed: Option<MalformedImage>,
}

enum Walker {
    Jpeg(Driver<jpeg::Jpeg>),
    Png(Driver<png::Png>),
    Gif(Driver<gif::Gif>),
    Webp(Driver<webp::Webp>),
}

impl MetadataFilter {
    pub fn new(format: ImageFormat) -> Self {
        let walker = match format {
            ImageFormat::Jpeg => Walker::Jpeg(jpeg::Jpeg::driver()),
            ImageFormat::Png => Walker::Png(png::Png::driver()),
            ImageFormat::Gif => Walker::Gif(gif::Gif::driver()),
            ImageFormat::Webp => Walker::Webp(webp::Webp::driver()),
        };
        MetadataFilter {
            walker,
            counters: Counters::default(),
            failed: None,
        }
    }

    /// Feeds the next received bytes; appends to `out` the bytes to store, in order. Copies
    /// the kept bytes; [`push_bytes`](Self::push_bytes) avoids that. After an error the
    /// upload must be discarded whole: what was output so far is no image.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<Bytes>) -> Result<(), MalformedImage> {
        self.run(input, None, out)
    }

    /// As [`push`](Self::push), but kept bytes are slices of `input`, not copies.
    pub fn push_bytes(&mut self, input: Bytes, out: &mut Vec<Bytes>) -> Result<(), MalformedImage> {
        self.run(&input, Some(&input), out)
    }

    /// After the last byte: the remaining output, plus what the stripping learnt. An image
    /// that has not reached its end marker is malformed ("truncated").
    pub fn finish(mut self, out: &mut Vec<Bytes>) -> Result<Stripped, MalformedImage> {
        if let Some(failed) = self.failed {
            return Err(failed);
        }
        let mut sink = Sink::new(&[], None, out, &mut self.counters);
        let stripped = match &mut self.walker {
            Walker::Jpeg(d) => d.finish(&mut sink),
            Walker::Png(d) => d.finish(&mut sink),
            Walker::Gif(d) => d.finish(&mut sink),
            Walker::Webp(d) => d.finish(&mut sink),
        };
        sink.flush();
        Ok(Stripped {
            bytes_dropped: self.counters.dropped,
            ..stripped?
        })
    }

    /// Bytes the filter holds between pushes: headers and an EXIF block being read. Never
    /// much more than [`EXIF_CAP`].
    pub fn buffered(&self) -> usize {
        match &self.walker {
            Walker::Jpeg(d) => d.held(),
            Walker::Png(d) => d.held(),
            Walker::Gif(d) => d.held(),
            Walker::Webp(d) => d.held(),
        }
    }

    fn run(
        &mut self,
        input: &[u8],
        shared: Option<&Bytes>,
        out: &mut Vec<Bytes>,
    ) -> Result<(), MalformedImage> {
        if let Some(failed) = &self.failed {
            return Err(failed.clone());
        }
        let mut sink = Sink::new(input, shared, out, &mut self.counters);
        let result = match &mut self.walker {
            Walker::Jpeg(d) => d.push(&mut sink),
            Walker::Png(d) => d.push(&mut sink),
            Walker::Gif(d) => d.push(&mut sink),
            Walker::Webp(d) => d.push(&mut sink),
        };
        sink.flush();
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{Rng, apply_patch, run_split, sample_rgb};
    use super::*;

    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        let img = image::DynamicImage::ImageRgb8(sample_rgb(33, 19));
        let img = if format == image::ImageFormat::Gif {
            img.to_rgba8().into()
        } else {
            img
        };
        img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
            .unwrap();
        bytes
    }

    fn samples() -> [(ImageFormat, Vec<u8>); 4] {
        [
            (ImageFormat::Jpeg, encoded(image::ImageFormat::Jpeg)),
            (ImageFormat::Png, encoded(image::ImageFormat::Png)),
            (ImageFormat::Gif, encoded(image::ImageFormat::Gif)),
            (ImageFormat::Webp, encoded(image::ImageFormat::WebP)),
        ]
    }

    fn signature(format: ImageFormat, rng: &mut Rng) -> Vec<u8> {
        match format {
            ImageFormat::Jpeg => vec![0xFF, 0xD8],
            ImageFormat::Png => b"\x89PNG\r\n\x1a\n".to_vec(),
            ImageFormat::Gif => b"GIF89a".to_vec(),
            ImageFormat::Webp => [&b"RIFF"[..], &rng.bytes(4), b"WEBP"].concat(),
        }
    }

    /// Stripping what was stored changes nothing more.
    fn assert_idempotent(format: ImageFormat, stored: &[u8]) {
        let (again, stripped) =
            run_split(format, stored, || usize::MAX).expect("stored output is valid");
        let mut again = again;
        apply_patch(&mut again, &stripped);
        assert_eq!(again, stored, "stripping twice differs");
    }

    #[test]
    fn arbitrary_bytes_after_a_signature_never_panic_nor_grow_memory() {
        let mut rng = Rng::new(42);
        for format in ImageFormat::ALL {
            for _ in 0..400 {
                let len = rng.below(4000);
                let input = [signature(format, &mut rng), rng.bytes(len)].concat();
                // run_split asserts the memory bound after every push.
                let _ = run_split(format, &input, || 1 + rng.below(300));
            }
        }
    }

    /// Mutations of real images reach far deeper into each format than random bytes do.
    #[test]
    fn mutated_images_never_panic_and_what_passes_is_stable() {
        let mut rng = Rng::new(7);
        for (format, sample) in samples() {
            let mut passed = 0;
            for _ in 0..600 {
                let mut input = sample.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(input.len());
                    match rng.below(4) {
                        0 => input[at] = rng.next() as u8,
                        1 => input[at] = [0x00, 0xFF, 0x80, 0x7F][rng.below(4)],
                        2 => input.insert(at, rng.next() as u8),
                        _ => input.truncate(at.max(1)),
                    }
                }
                let mut pieces = Rng::new(rng.next());
                if let Ok((mut out, stripped)) = run_split(format, &input, || 1 + pieces.below(200))
                {
                    apply_patch(&mut out, &stripped);
                    assert_idempotent(format, &out);
                    passed += 1;
                }
            }
            // Some mutations leave the image valid: the stability check must have run.
            assert!(
                passed > 50,
                "{format:?}: only {passed} mutated images passed"
            );
        }
    }

    #[test]
    fn a_maximal_exif_block_stays_within_the_bound_byte_by_byte() {
        let mut tiff = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0".to_vec();
        tiff.resize(65533 - 6, 0);
        let app1 = [&[0xFF, 0xE1, 0xFF, 0xFF][..], b"Exif\0\0", &tiff].concat();
        let jpeg = encoded(image::ImageFormat::Jpeg);
        let input = [&jpeg[..2], &app1, &jpeg[2..]].concat();
        let (_, stripped) = run_split(ImageFormat::Jpeg, &input, || 1).unwrap();
        assert_eq!(stripped.orientation, 6);
    }

    #[test]
    fn push_bytes_passes_kept_data_through_without_copying() {
        for (format, sample) in samples() {
            let input = bytes::Bytes::from(sample.clone());
            let range = input.as_ptr_range();
            let mut filter = MetadataFilter::new(format);
            let mut out = Vec::new();
            filter.push_bytes(input.clone(), &mut out).unwrap();
            filter.finish(&mut out).unwrap();
            assert_eq!(out.concat(), sample);
            let shared: usize = out
                .iter()
                .filter(|b| range.contains(&b.as_ptr()))
                .map(|b| b.len())
                .sum();
            assert!(
                shared * 10 >= sample.len() * 9,
                "{format:?}: only {shared} of {} shared",
                sample.len()
            );
        }
    }
}
