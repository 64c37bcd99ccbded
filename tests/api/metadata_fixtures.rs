//! Photos that carry what the service must not publish, written by `exiftool` itself, and
//! `exiftool` again as the independent reader of what was stored.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::process::Command;

use image::{ImageEncoder, ImageFormat, RgbaImage};
use serde_json::Value;

/// The values written into every photo's metadata: none may be found in a stored file.
pub const SECRETS: [&str; 8] = [
    "Alice",
    "Phone",
    "Model-X",
    "SN-123456",
    "secret-comment",
    "homekeyword",
    "Copyright-Alice",
    "xmp-secret",
];

/// exiftool's arguments that write every kind of metadata a photo may carry, `thumb` being an
/// embedded thumbnail's file; `extra` picks the orientation (or anything else).
fn identifying_args(thumb: &std::path::Path, format: ImageFormat) -> Vec<String> {
    let mut args: Vec<String> = [
        "-GPSLatitude=48.8584",
        "-GPSLatitudeRef=N",
        "-GPSLongitude=2.2945",
        "-GPSLongitudeRef=E",
        "-Make=Phone",
        "-Model=Model-X",
        "-SerialNumber=SN-123456",
        "-Artist=Alice",
        "-Copyright=Copyright-Alice",
        "-XMP-dc:Creator=Alice",
        "-XMP-dc:Description=xmp-secret",
        "-Comment=secret-comment",
    ]
    .map(String::from)
    .to_vec();
    if format != ImageFormat::Gif {
        args.push(format!("-ThumbnailImage<={}", thumb.display()));
    }
    if matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        args.extend(["-IPTC:Keywords=homekeyword", "-IPTC:By-line=Alice"].map(String::from));
    }
    args
}

/// The pixels of every test photo: not a flat colour, so that a changed byte shows.
pub fn pixels(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x * 9) as u8, (y * 17) as u8, ((x ^ y) * 5) as u8, 255])
    })
}

/// `pixels(width, height)` encoded as `format`, with `icc` embedded by the encoder (not GIF).
pub fn plain(width: u32, height: u32, format: ImageFormat, icc: Option<&[u8]>) -> Vec<u8> {
    let img = pixels(width, height);
    let mut out = Vec::new();
    let (w, h) = (width, height);
    let rgb = image::DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    macro_rules! encode {
        ($encoder:expr, $buf:expr, $color:expr) => {{
            let mut encoder = $encoder;
            if let Some(icc) = icc {
                encoder
                    .set_icc_profile(icc.to_vec())
                    .expect("the encoder takes an ICC");
            }
            encoder.write_image($buf, w, h, $color).expect("encoding");
        }};
    }
    use image::ExtendedColorType::{Rgb8, Rgba8};
    match format {
        ImageFormat::Jpeg => encode!(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90),
            &rgb,
            Rgb8
        ),
        ImageFormat::Png => encode!(image::codecs::png::PngEncoder::new(&mut out), &rgb, Rgb8),
        ImageFormat::WebP => encode!(
            image::codecs::webp::WebPEncoder::new_lossless(&mut out),
            &img,
            Rgba8
        ),
        ImageFormat::Gif => {
            assert!(icc.is_none(), "GIF has no ICC here");
            img.write_to(&mut Cursor::new(&mut out), ImageFormat::Gif)
                .expect("encoding");
        }
        other => panic!("no test photo in {other:?}"),
    }
    out
}

/// `image` with everything of [`SECRETS`] (GPS, camera, author, copyright, XMP, IPTC, a
/// comment, a thumbnail: what `format` can hold) and `extra` added by exiftool.
pub fn with_identifying_metadata(image: &[u8], format: ImageFormat, extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let thumb = dir.path().join("thumb.jpg");
    std::fs::write(&thumb, plain(8, 6, ImageFormat::Jpeg, None)).unwrap();
    let mut args = identifying_args(&thumb, format);
    args.extend(extra.iter().map(|a| a.to_string()));
    exiftool_write(image, format, &args)
}

/// `image` rewritten by `exiftool -overwrite_original <args>`.
pub fn exiftool_write(image: &[u8], format: ImageFormat, args: &[String]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir
        .path()
        .join(format!("photo.{}", format.extensions_str()[0]));
    std::fs::write(&file, image).unwrap();
    let output = Command::new("exiftool")
        .arg("-overwrite_original")
        .args(args)
        .arg(&file)
        .output()
        .expect("exiftool runs (tests/run installs libimage-exiftool-perl)");
    assert!(output.status.success(), "exiftool {args:?}: {output:?}");
    std::fs::read(&file).unwrap()
}

/// Every tag exiftool reads in `image` (`-j -G1 -a -n`): "Group:Tag" to value, less the
/// temporary file's own (`System:` and `SourceFile`).
pub fn tags(image: &[u8]) -> BTreeMap<String, Value> {
    let output = exiftool_read(image, &["-j", "-G1", "-a", "-n"]);
    let mut list: Vec<BTreeMap<String, Value>> =
        serde_json::from_slice(&output).expect("exiftool -j prints JSON");
    let mut tags = list.remove(0);
    tags.retain(|k, _| !k.starts_with("System:") && k != "SourceFile");
    tags
}

/// The ICC profile exiftool extracts from `image`, byte for byte (empty when none).
pub fn icc_profile_of(image: &[u8]) -> Vec<u8> {
    exiftool_read(image, &["-b", "-ICC_Profile"])
}

fn exiftool_read(image: &[u8], args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stored");
    std::fs::write(&file, image).unwrap();
    let output = Command::new("exiftool")
        .args(args)
        .arg(&file)
        .output()
        .expect("exiftool runs");
    assert!(output.status.success(), "exiftool {args:?}: {output:?}");
    output.stdout
}

/// Asserts that exiftool finds nothing of [`SECRETS`] in `stored`, no group that only
/// metadata fills, and no warning: only the image's structure, Orientation and the profile.
pub fn assert_no_identifying_metadata(stored: &[u8]) {
    let tags = tags(stored);
    let printed = serde_json::to_string_pretty(&tags).unwrap();
    for secret in SECRETS {
        assert!(!printed.contains(secret), "{secret} was stored: {printed}");
    }
    for key in tags.keys() {
        let group = key.split(':').next().unwrap();
        let allowed = match group {
            // Written by the service itself: Orientation alone.
            "IFD0" => key == "IFD0:Orientation",
            "ExifTool" => key != "ExifTool:Warning" && key != "ExifTool:Error",
            "File" => !key.contains("Comment") && !key.contains("IPTC"),
            "Composite" => !key.contains("GPS"),
            "JFIF" | "PNG" | "GIF" | "RIFF" | "Adobe" | "ICC-header" | "ICC_Profile"
            | "ICC-meas" | "ICC-view" => !key.contains("Comment") && !key.contains("Text"),
            _ => false,
        };
        assert!(allowed, "{key} was stored: {printed}");
    }
}

/// Asserts that `upload` carried what [`assert_no_identifying_metadata`] looks for, so that
/// its passing means something.
pub fn assert_identifying_metadata(upload: &[u8], format: ImageFormat) {
    let printed = serde_json::to_string(&tags(upload)).unwrap();
    let mut expected = vec!["GPSLatitude", "Alice", "Phone", "xmp-secret"];
    // exiftool writes no comment into WebP, nor EXIF into GIF.
    if format != ImageFormat::WebP {
        expected.push("secret-comment");
    }
    if format != ImageFormat::Gif {
        expected.extend(["SN-123456", "Copyright-Alice", "IFD1:ThumbnailImage"]);
    }
    if matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        expected.push("homekeyword");
    }
    for needle in expected {
        assert!(
            printed.contains(needle),
            "{format:?} upload lacks {needle}: {printed}"
        );
    }
}

/// A valid ICC v2 display profile, built by hand: header, a description, a white point, a
/// copyright, and a private tag of `padding` bytes (to span several JPEG segments).
pub fn icc_profile(padding: usize) -> Vec<u8> {
    let text = |sig: &[u8; 4], body: &[u8]| [&sig[..], &[0; 4], body].concat();
    let description = b"mediastore test profile\0";
    let mut desc = (description.len() as u32).to_be_bytes().to_vec();
    desc.extend_from_slice(description);
    desc.extend_from_slice(&[0; 4 + 4 + 2 + 1 + 67]); // no Unicode, no ScriptCode
    let d50 = [0x0000_F6D6u32, 0x0001_0000, 0x0000_D32D];
    let xyz: Vec<u8> = d50.iter().flat_map(|v| v.to_be_bytes()).collect();
    let pad: Vec<u8> = (0..padding).map(|i| (i % 253) as u8).collect();
    let tags: [(&[u8; 4], Vec<u8>); 4] = [
        (b"desc", text(b"desc", &desc)),
        (b"wtpt", text(b"XYZ ", &xyz)),
        (b"cprt", text(b"text", b"No copyright, test data\0")),
        (b"zPad", text(b"zPad", &pad)),
    ];
    let mut table = (tags.len() as u32).to_be_bytes().to_vec();
    let mut data = Vec::new();
    let mut offset = 128 + 4 + 12 * tags.len();
    for (sig, body) in &tags {
        table.extend_from_slice(&sig[..]);
        table.extend_from_slice(&(offset as u32).to_be_bytes());
        table.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut body = body.clone();
        body.resize(body.len().next_multiple_of(4), 0);
        offset += body.len();
        data.extend_from_slice(&body);
    }
    let mut header = vec![0; 128];
    header[0..4].copy_from_slice(&(offset as u32).to_be_bytes());
    header[8..12].copy_from_slice(&0x0210_0000u32.to_be_bytes());
    header[12..16].copy_from_slice(b"mntr");
    header[16..20].copy_from_slice(b"RGB ");
    header[20..24].copy_from_slice(b"XYZ ");
    header[24..36].copy_from_slice(&[0x07, 0xE9, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    header[36..40].copy_from_slice(b"acsp");
    header[68..80].copy_from_slice(&xyz);
    [header, table, data].concat()
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Every APP2 ICC_PROFILE segment of a JPEG, whole (marker to last byte), in file order.
pub fn jpeg_icc_segments(jpeg: &[u8]) -> Vec<Vec<u8>> {
    let mut segments = Vec::new();
    let mut at = 2;
    // Markers with a length, up to the first scan.
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let segment = &jpeg[at..at + 2 + len];
        if segment[1] == 0xE2 && segment[4..].starts_with(b"ICC_PROFILE\0") {
            segments.push(segment.to_vec());
        }
        at += 2 + len;
    }
    segments
}

/// `jpeg` with `segments` (each whole: marker, length, payload) inserted after its SOI.
pub fn jpeg_with_segments(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
    [&jpeg[..2], &segments.concat(), &jpeg[2..]].concat()
}

/// A JPEG marker segment: `marker`, the length, `payload`.
pub fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2).expect("a segment holds at most 65533 bytes");
    [&[0xFF, marker][..], &len.to_be_bytes(), payload].concat()
}

/// `png` with `chunks` (each whole: length, type, data, CRC) inserted after IHDR.
pub fn png_with_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    const AFTER_IHDR: usize = 8 + 12 + 13;
    [&png[..AFTER_IHDR], &chunks.concat(), &png[AFTER_IHDR..]].concat()
}

/// A PNG chunk with a valid CRC.
pub fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::images::push_chunk(&mut out, kind, data);
    out
}

/// The APP1 EXIF segment of `jpeg` (exiftool writes it first after JFIF).
pub fn exif_segment(jpeg: &[u8]) -> Vec<u8> {
    let at = find(jpeg, b"Exif\0\0").expect("an EXIF block") - 4;
    let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    jpeg[at..at + 2 + len].to_vec()
}
