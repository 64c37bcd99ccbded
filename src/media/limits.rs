//! Upload limits (SPEC §5).

use super::ImageFormat;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_files_per_request: usize,
    pub allowed_types: Vec<ImageFormat>,
    pub max_image_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 10 * 1024 * 1024,
            max_files_per_request: 10,
            allowed_types: ImageFormat::ALL.to_vec(),
            max_image_pixels: 50_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    pub width: u64,
    pub height: u64,
}

impl Dimensions {
    pub fn pixels(self) -> u64 {
        self.width.saturating_mul(self.height)
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
