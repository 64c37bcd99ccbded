//! Width and height, as an image's header gives them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    pub width: u64,
    pub height: u64,
}

impl Dimensions {
    pub fn pixels(self) -> u64 {
        self.width.saturating_mul(self.height)
    }

    /// As shown on screen: EXIF orientations 5 to 8 turn the picture a quarter, so its width
    /// and height swap.
    pub fn displayed(self, orientation: u8) -> Self {
        match orientation {
            5..=8 => Self {
                width: self.height,
                height: self.width,
            },
            _ => self,
        }
    }
}
