//! Image formats the service accepts, recognised by their magic bytes only.

use serde::{Deserialize, Serialize};

/// An image format the service can store. The client's file name and `Content-Type` never
/// decide it: only the first bytes of the file do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
}

/// What the first bytes of an upload turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    Image(ImageFormat),
    /// A recognised type that is not one of ours, e.g. `application/pdf`.
    Other(&'static str),
    Unknown,
}

/// Bytes needed before sniffing is conclusive for every format we accept (WebP needs 12).
pub const SNIFF_BYTES: usize = 32;

impl ImageFormat {
    pub const ALL: [ImageFormat; 4] = [Self::Jpeg, Self::Png, Self::Gif, Self::Webp];

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.mime() == mime)
    }

    pub fn from_extension(ext: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// The short name used in generated metadata (`"jpeg"`, `"png"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }
}

/// Identify a file from its first bytes.
pub fn sniff(head: &[u8]) -> Sniffed {
    match infer::get(head) {
        Some(kind) => match ImageFormat::from_mime(kind.mime_type()) {
            // `infer` takes `WEBP` at offset 8 for a WebP whatever comes before it; a WebP is a
            // RIFF file.
            Some(ImageFormat::Webp) if !head.starts_with(b"RIFF") => Sniffed::Unknown,
            Some(format) => Sniffed::Image(format),
            None => Sniffed::Other(kind.mime_type()),
        },
        None => Sniffed::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_is_recognised_as_a_pdf_whatever_it_is_called() {
        assert_eq!(
            sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
            Sniffed::Other("application/pdf")
        );
    }

    #[test]
    fn png_magic_bytes_are_recognised() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Sniffed::Image(ImageFormat::Png)
        );
    }

    #[test]
    fn webp_needs_its_riff_header() {
        assert_eq!(
            sniff(b"RIFF\x24\0\0\0WEBPVP8 "),
            Sniffed::Image(ImageFormat::Webp)
        );
        assert_eq!(sniff(b"\0\0\0\0\0\0\0\0WEBPVP8 "), Sniffed::Unknown);
    }

    #[test]
    fn text_is_unknown() {
        assert_eq!(sniff(b"hello"), Sniffed::Unknown);
    }

    #[test]
    fn mime_and_extension_round_trip() {
        for f in ImageFormat::ALL {
            assert_eq!(ImageFormat::from_mime(f.mime()), Some(f));
            assert_eq!(ImageFormat::from_extension(f.extension()), Some(f));
        }
    }
}
