//! Pixels: a stored file's bytes in, a variant's bytes out. Decoding is bounded (pixels and
//! allocation) and, for JPEG, at the smallest DCT scale that covers the variant (libvips'
//! shrink-on-load); the EXIF orientation is applied, an animation gives its first frame, resizing is
//! SIMD Lanczos3 with premultiplied alpha, and each format has its own encoder. CPU-bound: the
//! caller runs it on a blocking thread.

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader, RgbaImage};

use crate::media::{ImageFormat, OutputFormat, Recipe};

/// What a ThumbHash is made from: at most 100 pixels a side.
pub const THUMB_HASH_BOX: Recipe = Recipe::Box {
    width: 100,
    height: 100,
    fit: crate::media::Fit::Inside,
};

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

/// The source, decoded and upright; perhaps at a reduced scale (JPEG), so its pixels may be
/// fewer than the image's.
pub struct Upright {
    pixels: RgbaImage,
    /// The whole image's upright size, which recipes are planned on.
    full: (u32, u32),
}

impl Upright {
    /// Decodes `bytes` (stored as `format`) within `max_pixels`, and turns it upright. Given the
    /// recipe to make, a JPEG is decoded at the smallest DCT scale that still covers it.
    pub fn decode(
        bytes: &[u8],
        format: ImageFormat,
        max_pixels: u64,
        for_recipe: Option<&Recipe>,
    ) -> Result<Self, RenderError> {
        if format == ImageFormat::Jpeg
            && let Some(recipe) = for_recipe
            && let Some(upright) = Self::decode_jpeg_scaled(bytes, max_pixels, recipe)?
        {
            return Ok(upright);
        }
        let corrupt = |e: image::ImageError| RenderError::Corrupt(e.to_string());
        let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(format));
        let mut limits = image::Limits::default();
        // The decoded frame (up to 8 bytes a pixel) and the RGBA copy made of it.
        limits.max_alloc = Some(max_pixels.saturating_mul(12));
        reader.limits(limits);
        let mut decoder = reader.into_decoder().map_err(corrupt)?;
        let (width, height) = decoder.dimensions();
        check_pixels(width, height, max_pixels)?;
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let icc = decoder.icc_profile().ok().flatten();
        // An animation's decoder gives its first frame.
        let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
        image.apply_orientation(orientation);
        let mut pixels = image.into_rgba8();
        if let Some(icc) = icc {
            to_srgb(&mut pixels, &icc);
        }
        Ok(Self {
            full: pixels.dimensions(),
            pixels,
        })
    }

    /// A JPEG decoded at 1/8, 1/4, 1/2 or full scale, the smallest that covers what `recipe`
    /// makes of it; `None` for a pixel format this path does not convert (then `image` decodes).
    fn decode_jpeg_scaled(
        bytes: &[u8],
        max_pixels: u64,
        recipe: &Recipe,
    ) -> Result<Option<Self>, RenderError> {
        let corrupt = |e: jpeg_decoder::Error| RenderError::Corrupt(e.to_string());
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
        decoder.read_info().map_err(corrupt)?;
        let info = decoder.info().expect("read");
        let stored = (u32::from(info.width), u32::from(info.height));
        check_pixels(stored.0, stored.1, max_pixels)?;
        if info.pixel_format != jpeg_decoder::PixelFormat::RGB24 {
            return Ok(None);
        }
        let orientation = decoder
            .exif_data()
            .and_then(Orientation::from_exif_chunk)
            .unwrap_or(Orientation::NoTransforms);
        let turned = matches!(
            orientation,
            Orientation::Rotate90
                | Orientation::Rotate270
                | Orientation::Rotate90FlipH
                | Orientation::Rotate270FlipH
        );
        let full = if turned { (stored.1, stored.0) } else { stored };
        // The upright size the decode must reach: the output, as a share of the crop.
        let plan = recipe.plan(full);
        let need = (
            (u64::from(full.0) * u64::from(plan.width)).div_ceil(u64::from(plan.crop.2)),
            (u64::from(full.1) * u64::from(plan.height)).div_ceil(u64::from(plan.crop.3)),
        );
        let need = if turned { (need.1, need.0) } else { need };
        let at = |len: u32, eighths: u32| u64::from((len * eighths).div_ceil(8));
        let eighths = [1, 2, 4, 8]
            .into_iter()
            .find(|&e| at(stored.0, e) >= need.0 && at(stored.1, e) >= need.1)
            .unwrap_or(8);
        // jpeg-decoder takes the smallest scale at least this wide.
        let (width, height) = decoder
            .scale(at(stored.0, eighths) as u16, u16::MAX)
            .map_err(corrupt)?;
        let rgb = decoder.decode().map_err(corrupt)?;
        let rgb = image::RgbImage::from_raw(u32::from(width), u32::from(height), rgb)
            .ok_or_else(|| RenderError::Corrupt("fewer pixels than the header says".into()))?;
        let mut image = DynamicImage::ImageRgb8(rgb);
        image.apply_orientation(orientation);
        let mut pixels = image.into_rgba8();
        if let Some(icc) = decoder.icc_profile() {
            to_srgb(&mut pixels, &icc);
        }
        Ok(Some(Self { pixels, full }))
    }

    /// Whether any pixel is not fully opaque (then the default format is PNG, not JPEG).
    pub fn has_transparency(&self) -> bool {
        self.pixels.pixels().any(|p| p.0[3] < 255)
    }

    /// A ThumbHash of the image: its longest side shrunk to 100 pixels (ThumbHash's limit).
    pub fn thumb_hash(&self) -> Vec<u8> {
        let (width, height) = self.pixels.dimensions();
        let plan = THUMB_HASH_BOX.plan((width, height));
        let whole = (0.0, 0.0, f64::from(width), f64::from(height));
        let small = self.resized(plan.width, plan.height, whole);
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
        // Planned on the whole image, cut from the pixels decoded (perhaps fewer).
        let plan = recipe.plan(self.full);
        let (decoded_w, decoded_h) = self.pixels.dimensions();
        let (sx, sy) = (
            f64::from(decoded_w) / f64::from(self.full.0),
            f64::from(decoded_h) / f64::from(self.full.1),
        );
        let (x, y, w, h) = plan.crop;
        let crop = (
            f64::from(x) * sx,
            f64::from(y) * sy,
            f64::from(w) * sx,
            f64::from(h) * sy,
        );
        let resized;
        let pixels = if (plan.width, plan.height) == (decoded_w, decoded_h) && (w, h) == self.full {
            &self.pixels
        } else {
            resized = self.resized(plan.width, plan.height, crop);
            &resized
        };
        encode(pixels, format, encoding).map_err(|reason| RenderError::Encode { format, reason })
    }

    /// The region `(x, y, w, h)` of the decoded pixels resized to `width` × `height`
    /// (Lanczos3, alpha premultiplied).
    fn resized(&self, width: u32, height: u32, (x, y, w, h): (f64, f64, f64, f64)) -> RgbaImage {
        let mut target = RgbaImage::new(width, height);
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .crop(x, y, w, h);
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

/// Converts pixels in the colour space `icc` describes to sRGB, which is what a variant without
/// a profile is read as. A profile the colour engine cannot use leaves the pixels as they are.
fn to_srgb(pixels: &mut RgbaImage, icc: &[u8]) {
    use moxcms::{ColorProfile, Layout, TransformOptions};
    let Ok(source) = ColorProfile::new_from_slice(icc) else {
        return;
    };
    let srgb = ColorProfile::new_srgb();
    let options = TransformOptions::default();
    let Ok(transform) = source.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgba, options)
    else {
        return;
    };
    let input = pixels.as_raw().clone();
    if transform.transform(&input, pixels).is_err() {
        pixels.copy_from_slice(&input);
    }
}

fn check_pixels(width: u32, height: u32, limit: u64) -> Result<(), RenderError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limit {
        return Err(RenderError::TooLarge { pixels, limit });
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Fit;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, 128])
        });
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    const ENCODING: Encoding = Encoding {
        quality: 80,
        avif_speed: 10,
    };

    #[test]
    fn a_jpeg_is_decoded_at_the_smallest_scale_that_covers_the_variant() {
        let bytes = jpeg(800, 600);
        let small = Recipe::Width(100);
        let upright = Upright::decode(&bytes, ImageFormat::Jpeg, 1 << 24, Some(&small)).unwrap();
        assert_eq!(upright.pixels.dimensions(), (100, 75), "1/8");
        assert_eq!(upright.full, (800, 600));
        let card = Recipe::Box {
            width: 300,
            height: 300,
            fit: Fit::Cover,
        };
        let upright = Upright::decode(&bytes, ImageFormat::Jpeg, 1 << 24, Some(&card)).unwrap();
        assert_eq!(
            upright.pixels.dimensions(),
            (400, 300),
            "1/2 covers 300 high"
        );
        let made = upright.render(&card, OutputFormat::Png, ENCODING).unwrap();
        let made = image::load_from_memory(&made).unwrap();
        assert_eq!((made.width(), made.height()), (300, 300));
    }

    #[test]
    fn more_pixels_than_allowed_are_refused_before_decoding() {
        let bytes = jpeg(200, 100);
        for recipe in [None, Some(&Recipe::Width(50))] {
            let refused = Upright::decode(&bytes, ImageFormat::Jpeg, 19_999, recipe);
            assert!(matches!(
                refused,
                Err(RenderError::TooLarge { pixels: 20_000, .. })
            ));
        }
    }

    #[test]
    fn a_display_p3_photo_is_converted_to_srgb_on_both_decode_paths() {
        use image::codecs::jpeg::JpegEncoder;
        let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        let flat = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 100, 50]));
        let mut tagged = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut tagged, 95);
        encoder.set_icc_profile(p3).unwrap();
        encoder
            .write_image(&flat, 64, 48, image::ExtendedColorType::Rgb8)
            .unwrap();
        for recipe in [None, Some(&Recipe::Width(32))] {
            let upright = Upright::decode(&tagged, ImageFormat::Jpeg, 1 << 20, recipe).unwrap();
            let [r, g, b, _] = upright.pixels.get_pixel(10, 10).0;
            // The same colour in sRGB is more saturated: redder, less green and blue.
            assert!(r > 210 && g < 95 && b < 45, "{recipe:?}: {r} {g} {b}");
        }
    }

    #[test]
    fn jpeg_output_puts_transparency_on_white() {
        let clear = RgbaImage::from_pixel(4, 4, image::Rgba([0, 0, 0, 0]));
        let upright = Upright {
            full: (4, 4),
            pixels: clear,
        };
        assert!(upright.has_transparency());
        let made = upright
            .render(&Recipe::Width(4), OutputFormat::Jpeg, ENCODING)
            .unwrap();
        let pixel = image::load_from_memory(&made)
            .unwrap()
            .to_rgb8()
            .get_pixel(1, 1)
            .0;
        assert!(
            pixel.iter().all(|&c| c > 240),
            "white, not black: {pixel:?}"
        );
    }
}
