//! Upload limits: what a single upload may be.

use crate::media::{Dimensions, ImageFormat};

use super::parse;

#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Largest accepted file, in bytes; larger uploads get 413 as soon as the limit is crossed.
    #[arg(long, env = "MAX_FILE_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_file_bytes: u64,
    /// Most `file` parts in one upload request (413 beyond).
    #[arg(long, env = "MAX_FILES_PER_REQUEST", default_value_t = 10)]
    pub max_files_per_request: usize,
    /// Accepted types, recognised by their magic bytes, comma-separated.
    #[arg(long, env = "ALLOWED_TYPES", value_delimiter = ',', value_parser = parse::image_type,
        default_value = "image/jpeg,image/png,image/gif,image/webp")]
    pub allowed_types: Vec<ImageFormat>,
    /// Largest accepted width × height, read from the header without decoding (422 beyond).
    #[arg(long, env = "MAX_IMAGE_PIXELS", default_value_t = 50_000_000)]
    pub max_image_pixels: u64,
    /// Most frames in an animation; more, or frames × width × height over 20 ×
    /// MAX_IMAGE_PIXELS, is 422 (counted without decoding).
    #[arg(long, env = "MAX_ANIMATION_FRAMES", default_value_t = 1000)]
    pub max_animation_frames: u64,
    /// Store uploads without their GPS, EXIF (but Orientation), XMP, IPTC, comments and
    /// thumbnails; `false` stores the bytes as sent.
    #[arg(long, env = "STRIP_METADATA", default_value_t = true, action = clap::ArgAction::Set)]
    pub strip_metadata: bool,
}

impl Default for Limits {
    fn default() -> Self {
        super::Settings::default().limits
    }
}

impl Limits {
    pub fn allows(&self, format: ImageFormat) -> bool {
        self.allowed_types.contains(&format)
    }

    /// Decompression bombs are refused from their header, before anything decodes them.
    pub fn allows_pixels(&self, dimensions: Dimensions) -> bool {
        dimensions.pixels() <= self.max_image_pixels
    }

    /// An animation's frames, each of `dimensions`, counted from its structure: at most
    /// `max_animation_frames`, and all of them together at most 20 × `max_image_pixels`.
    pub fn allows_frames(&self, frames: u64, dimensions: Dimensions) -> bool {
        frames <= self.max_animation_frames
            && frames.saturating_mul(dimensions.pixels())
                <= self.max_image_pixels.saturating_mul(20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_claiming_ten_billion_pixels_is_refused() {
        let bomb = Dimensions {
            width: 100_000,
            height: 100_000,
        };
        assert!(!Limits::default().allows_pixels(bomb));
    }

    #[test]
    fn the_pixel_limit_itself_is_allowed() {
        let edge = Dimensions {
            width: 10_000,
            height: 5_000,
        };
        assert!(Limits::default().allows_pixels(edge));
    }
}
