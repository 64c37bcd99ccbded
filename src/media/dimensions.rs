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
}
