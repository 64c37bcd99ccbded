//! Pixels: a stored file's bytes in, a variant's bytes out. Decoding is bounded (pixels and
//! allocation), the EXIF orientation is applied, an animation gives its first frame, resizing is
//! SIMD Lanczos3 with premultiplied alpha, and each format has its own encoder. CPU-bound: the
//! caller runs it on a blocking thread.

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader, RgbaImage};

use crate::media::{ImageFormat, OutputFormat, Recipe};

/// The encoders' settings.
#[derive(Debug, Clone, Copy)]
pub struct Encoding {
    /// JPEG, WebP and AVIF quality, 1 to 100.
    pub quality: u8,
    /// AVIF speed, 1 to 10.
    pub avif_speed: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The stored bytes do not decode (a header that passed the upload checks, corrupt data).
    #[error("the image does not decode: {0}")]
    Corrupt(String),
    #[error("the image has {pixels} pixels, more than the {limit} a variant may decode")]
    TooLarge { pixels: u64, limit: u64 },
    #[error("encoding the variant as {format}: {reason}")]
    Encode {
        format: OutputFormat,
        reason: String,
    },
}

/// The source, decoded and upright.
pub struct Upright {
    pixels: RgbaImage,
}

impl Upright {
    /// Decodes `bytes` (stored as `format`) within `max_pixels`, and turns it upright.
    pub fn decode(bytes: &[u8], format: ImageFormat, max_pixels: u64) -> Result<Self, RenderError> {
        let corrupt = |e: image::ImageError| RenderError::Corrupt(e.to_string());
        let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(format));
        let mut limits = image::Limits::default();
        // The decoded frame (up to 8 bytes a pixel) and the RGBA copy made of it.
        limits.max_alloc = Some(max_pixels.saturating_mul(12));
        reader.limits(limits);
        let mut decoder = reader.into_decoder().map_err(corrupt)?;
        let (width, height) = decoder.dimensions();
        let pixels = u64::from(width) * u64::from(height);
        if pixels > max_pixels {
            return Err(RenderError::TooLarge {
                pixels,
                limit: max_pixels,
            });
        }
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        // An animation's decoder gives its first frame.
        let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
        image.apply_orientation(orientation);
        Ok(Self {
            pixels: image.into_rgba8(),
        })
    }

    pub fn dimensions(&self) -> (u32, u32) {
        self.pixels.dimensions()
    }

    /// Whether any pixel is not fully opaque (then the default format is PNG, not JPEG).
    pub fn has_transparency(&self) -> bool {
        self.pixels.pixels().any(|p| p.0[3] < 255)
    }

    /// A ThumbHash of the image: its longest side shrunk to 100 pixels (ThumbHash's limit).
    pub fn thumb_hash(&self) -> Vec<u8> {
        let (width, height) = self.dimensions();
        let plan = Recipe::Box {
            width: 100,
            height: 100,
            fit: crate::media::Fit::Inside,
        }
        .plan((width, height));
        let small = self.resized(plan.width, plan.height, (0, 0, width, height));
        thumbhash::rgba_to_thumb_hash(
            small.width() as usize,
            small.height() as usize,
            small.as_raw(),
        )
    }

    /// The variant `recipe` makes, encoded as `format`.
    pub fn render(
        &self,
        recipe: &Recipe,
        format: OutputFormat,
        encoding: Encoding,
    ) -> Result<Vec<u8>, RenderError> {
        let plan = recipe.plan(self.dimensions());
        let resized;
        let pixels = if (plan.width, plan.height) == self.dimensions() {
            &self.pixels
        } else {
            resized = self.resized(plan.width, plan.height, plan.crop);
            &resized
        };
        encode(pixels, format, encoding).map_err(|reason| RenderError::Encode { format, reason })
    }

    /// The region `(x, y, w, h)` resized to `width` × `height` (Lanczos3, alpha premultiplied).
    fn resized(&self, width: u32, height: u32, (x, y, w, h): (u32, u32, u32, u32)) -> RgbaImage {
        let mut target = RgbaImage::new(width, height);
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .crop(f64::from(x), f64::from(y), f64::from(w), f64::from(h));
        Resizer::new()
            .resize(&self.pixels, &mut target, &options)
            .expect("RGBA into RGBA of a non-empty size");
        target
    }
}

fn encode(pixels: &RgbaImage, format: OutputFormat, encoding: Encoding) -> Result<Vec<u8>, String> {
    let (width, height) = pixels.dimensions();
    let mut out = Vec::new();
    match format {
        OutputFormat::Jpeg => {
            let rgb = over_white(pixels);
            let (w, h) = (dimension_u16(width)?, dimension_u16(height)?);
            jpeg_encoder::Encoder::new(&mut out, encoding.quality)
                .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
                .map_err(|e| e.to_string())?;
        }
        OutputFormat::Png => {
            use image::codecs::png::{CompressionType, FilterType, PngEncoder};
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
                .write_image(pixels, width, height, image::ExtendedColorType::Rgba8)
                .map_err(|e| e.to_string())?;
        }
        OutputFormat::Webp => {
            let encoded = webp::Encoder::from_rgba(pixels, width, height)
                .encode_simple(false, f32::from(encoding.quality))
                .map_err(|e| format!("{e:?}"))?;
            out.extend_from_slice(&encoded);
        }
        OutputFormat::Avif => {
            use rgb::FromSlice as _;
            let image = ravif::Img::new(pixels.as_raw().as_rgba(), width as usize, height as usize);
            out = ravif::Encoder::new()
                .with_quality(f32::from(encoding.quality))
                .with_alpha_quality(f32::from(encoding.quality))
                .with_speed(encoding.avif_speed)
                .encode_rgba(image)
                .map_err(|e| e.to_string())?
                .avif_file;
        }
    }
    Ok(out)
}

/// RGB with any transparency composited over white: JPEG has no alpha, and black (what
/// dropping alpha gives) behind a transparent logo is never what was meant.
fn over_white(pixels: &RgbaImage) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(pixels.len() / 4 * 3);
    for p in pixels.pixels() {
        let [r, g, b, a] = p.0;
        let a = u16::from(a);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        rgb.extend_from_slice(&[blend(r), blend(g), blend(b)]);
    }
    rgb
}

fn dimension_u16(n: u32) -> Result<u16, String> {
    u16::try_from(n).map_err(|_| format!("{n} pixels is too large for JPEG"))
}

fn image_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Webp => image::ImageFormat::WebP,
    }
}
