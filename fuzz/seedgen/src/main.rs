//! Writes `../corpus-seeds/<target>/`: for each fuzz target, a few small inputs that reach deep
//! into what it tests, framed as the target reads them (see each target's documentation).
//! Run from `fuzz/seedgen` with `cargo run --release`; the output is committed.

use std::io::Cursor;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use hmac::{Hmac, KeyInit, Mac};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, DynamicImage, Frame, ImageEncoder, RgbImage, RgbaImage};
use sha2::{Digest, Sha256};

/// The signing key the token and signature targets verify with first.
const FIRST: &str = "fuzz-first-secret-0123456789abcdef";

fn rgb(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 9) as u8, (y * 17) as u8, ((x ^ y) * 5) as u8])
    })
}

fn rgba(width: u32, height: u32, shift: u8) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x * 9) as u8 ^ shift,
            (y * 17) as u8,
            ((x ^ y) * 5) as u8,
            255,
        ])
    })
}

/// A big-endian TIFF block: Make, Orientation 6 and a GPS IFD with a latitude.
fn tiff() -> Vec<u8> {
    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&3u16.to_be_bytes());
    entry(&mut t, 0x010F, 2, 6, 50u32.to_be_bytes()); // Make, at 50
    entry(&mut t, 0x0112, 3, 1, [0, 6, 0, 0]); // Orientation 6
    entry(&mut t, 0x8825, 4, 1, 56u32.to_be_bytes()); // GPS IFD, at 56
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(b"Phone\0");
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0"); // GPSLatitudeRef
    entry(&mut t, 0x0002, 5, 3, 86u32.to_be_bytes()); // GPSLatitude, at 86
    t.extend_from_slice(&0u32.to_be_bytes());
    for (num, den) in [(48u32, 1u32), (51, 1), (3024, 100)] {
        t.extend_from_slice(&num.to_be_bytes());
        t.extend_from_slice(&den.to_be_bytes());
    }
    assert_eq!(t.len(), 110);
    t
}

const XMP: &[u8] = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF><dc:creator>Alice</dc:creator></rdf:RDF></x:xmpmeta>";

fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2).unwrap();
    [&[0xFF, marker][..], &len.to_be_bytes(), payload].concat()
}

fn jpeg_plain() -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .write_image(&rgb(16, 12), 16, 12, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn jpeg_with_metadata() -> Vec<u8> {
    let plain = jpeg_plain();
    let iptc = [
        &b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x0b"[..],
        b"\x1c\x02\x19\0\x06Alice!",
        b"\0",
    ]
    .concat();
    let segments = [
        jpeg_segment(0xE1, &[&b"Exif\0\0"[..], &tiff()].concat()),
        jpeg_segment(
            0xE1,
            &[&b"http://ns.adobe.com/xap/1.0/\0"[..], XMP].concat(),
        ),
        jpeg_segment(0xED, &iptc),
        jpeg_segment(0xFE, b"secret-comment"),
        jpeg_segment(0xE2, &[&b"ICC_PROFILE\0\x01\x01"[..], &[0u8; 32]].concat()),
    ]
    .concat();
    [&plain[..2], &segments, &plain[2..]].concat()
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

fn png_plain(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            &rgb(width, height),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// The chunks of a PNG, as (type, data).
fn png_chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut at = 8;
    let mut chunks = Vec::new();
    while at + 12 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = png[at + 4..at + 8].try_into().unwrap();
        chunks.push((kind, png[at + 8..at + 8 + len].to_vec()));
        at += 12 + len;
    }
    chunks
}

const AFTER_IHDR: usize = 8 + 12 + 13;

fn png_with_metadata() -> Vec<u8> {
    let plain = png_plain(8, 6);
    let chunks = [
        png_chunk(b"eXIf", &tiff()),
        png_chunk(b"tEXt", b"Comment\0secret-comment"),
        png_chunk(
            b"iTXt",
            &[&b"XML:com.adobe.xmp\0\0\0\0\0"[..], XMP].concat(),
        ),
        png_chunk(b"zTXt", b"Author\0\0\x78\x9c\x03\0\0\0\0\x01"),
        png_chunk(b"tIME", &[0x07, 0xE8, 11, 22, 8, 0, 0]),
    ]
    .concat();
    [&plain[..AFTER_IHDR], &chunks, &plain[AFTER_IHDR..]].concat()
}

fn png_exif_after_idat() -> Vec<u8> {
    let plain = png_plain(8, 6);
    let iend = plain.len() - 12;
    [&plain[..iend], &png_chunk(b"eXIf", &tiff()), &plain[iend..]].concat()
}

fn fctl(seq: u32, width: u32, height: u32) -> Vec<u8> {
    let mut d = Vec::new();
    for v in [seq, width, height, 0, 0] {
        d.extend_from_slice(&v.to_be_bytes());
    }
    d.extend_from_slice(&[0, 1, 0, 10, 0, 0]);
    png_chunk(b"fcTL", &d)
}

fn apng() -> Vec<u8> {
    let plain = png_plain(8, 6);
    let chunks = png_chunks(&plain);
    let ihdr = &chunks[0].1;
    let idat: Vec<u8> = chunks
        .iter()
        .filter(|c| &c.0 == b"IDAT")
        .flat_map(|c| c.1.clone())
        .collect();
    let mut actl = 2u32.to_be_bytes().to_vec();
    actl.extend_from_slice(&0u32.to_be_bytes());
    [
        plain[..8].to_vec(),
        png_chunk(b"IHDR", ihdr),
        png_chunk(b"acTL", &actl),
        fctl(0, 8, 6),
        png_chunk(b"IDAT", &idat),
        fctl(1, 8, 6),
        png_chunk(b"fdAT", &[&2u32.to_be_bytes()[..], &idat].concat()),
        png_chunk(b"IEND", &[]),
    ]
    .concat()
}

fn gif_still() -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(rgba(8, 6, 0))
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Gif)
        .unwrap();
    out
}

fn gif_animated() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        encoder.set_repeat(Repeat::Infinite).unwrap();
        let frames = (0..3).map(|i| {
            Frame::from_parts(rgba(8, 6, i * 40), 0, 0, Delay::from_numer_denom_ms(100, 1))
        });
        encoder.encode_frames(frames).unwrap();
    }
    out
}

/// A GIF with a comment and an XMP application extension after its screen descriptor.
fn gif_with_metadata() -> Vec<u8> {
    let gif = gif_animated();
    let packed = gif[10];
    let table = if packed & 0x80 != 0 {
        3 << ((packed & 7) + 1)
    } else {
        0
    };
    let at = 13 + table;
    let comment = [&[0x21, 0xFE, 14][..], b"secret-comment", &[0]].concat();
    let mut xmp = [&[0x21, 0xFF, 11][..], b"XMP DataXMP"].concat();
    for chunk in XMP.chunks(255) {
        xmp.push(chunk.len() as u8);
        xmp.extend_from_slice(chunk);
    }
    xmp.push(0);
    [&gif[..at], &comment, &xmp, &gif[at..]].concat()
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

fn riff(chunks: &[u8]) -> Vec<u8> {
    [
        &b"RIFF"[..],
        &(chunks.len() as u32 + 4).to_le_bytes(),
        b"WEBP",
        chunks,
    ]
    .concat()
}

fn webp_plain(shift: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(&rgba(8, 6, shift), 8, 6, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// The image chunk (`VP8L`) of a simple WebP, whole.
fn webp_image_chunk(shift: u8) -> Vec<u8> {
    webp_plain(shift)[12..].to_vec()
}

fn u24(v: u32) -> [u8; 3] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

fn vp8x(flags: u8, width: u32, height: u32) -> Vec<u8> {
    let data = [&[flags, 0, 0, 0][..], &u24(width - 1), &u24(height - 1)].concat();
    riff_chunk(b"VP8X", &data)
}

fn webp_with_metadata() -> Vec<u8> {
    let chunks = [
        vp8x(0x20 | 0x10 | 0x08 | 0x04, 8, 6),
        riff_chunk(b"ICCP", &[0u8; 32]),
        webp_image_chunk(0),
        riff_chunk(b"EXIF", &tiff()),
        riff_chunk(b"XMP ", XMP),
    ]
    .concat();
    riff(&chunks)
}

fn webp_animated() -> Vec<u8> {
    let frame = |shift: u8| {
        let data = [
            &u24(0)[..],
            &u24(0),
            &u24(7),
            &u24(5),
            &u24(100),
            &[0],
            &webp_image_chunk(shift),
        ]
        .concat();
        riff_chunk(b"ANMF", &data)
    };
    let chunks = [
        vp8x(0x10 | 0x02 | 0x08, 8, 6),
        riff_chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]),
        frame(0),
        frame(60),
        riff_chunk(b"EXIF", &tiff()),
    ]
    .concat();
    riff(&chunks)
}

/// Every sample image, with its format's index in `ImageFormat::ALL` (jpeg, png, gif, webp).
fn images() -> Vec<(&'static str, u8, Vec<u8>)> {
    vec![
        ("jpeg-plain", 0, jpeg_plain()),
        ("jpeg-metadata", 0, jpeg_with_metadata()),
        ("png-plain", 1, png_plain(8, 6)),
        ("png-metadata", 1, png_with_metadata()),
        ("png-exif-after-idat", 1, png_exif_after_idat()),
        ("apng", 1, apng()),
        ("gif-still", 2, gif_still()),
        ("gif-animated-metadata", 2, gif_with_metadata()),
        ("webp-plain", 3, webp_plain(0)),
        ("webp-metadata", 3, webp_with_metadata()),
        ("webp-animated", 3, webp_animated()),
    ]
}

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(b"--fuzzboundary\r\n");
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--fuzzboundary--\r\n");
    body
}

fn key_id(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..8])
}

fn hmac(secret: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A token of the right shape whose tag is wrong (a right one would verify: the target's
/// raw mode expects nothing to).
fn token_with_wrong_tag(claims: &str) -> String {
    let signed = format!("v1.{}.{}", key_id(FIRST), BASE64URL.encode(claims));
    let mut tag = hmac(FIRST, &[b"mediastore upload token v1\n", signed.as_bytes()]);
    tag[0] ^= 1;
    format!("{signed}.{}", BASE64URL.encode(tag))
}

fn signature_with_wrong_tag(path: &str, expires: &str) -> String {
    let mut tag = hmac(
        FIRST,
        &[
            b"mediastore download v1\n",
            path.as_bytes(),
            b"\n",
            expires.as_bytes(),
        ],
    );
    tag[31] ^= 1;
    BASE64URL.encode(tag)
}

/// Bytes that look random, for the targets that read their input with `arbitrary`.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("../corpus-seeds").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let _ = std::fs::remove_dir_all("../corpus-seeds");
    for (name, format, bytes) in images() {
        write("image_header", name, &bytes);
        // ingest and multipart: whole (class 7), in chunks of up to 64 bytes (class 3),
        // and not stripped (bit 3).
        for (tag, control) in [("whole", 7u8), ("chunks", 3), ("unstripped", 7 | 8)] {
            write(
                "ingest",
                &format!("{name}-{tag}"),
                &[&[control, 42][..], &bytes].concat(),
            );
        }
        write(
            "metadata_filter",
            &format!("{name}-whole"),
            &[&[format | 7 << 2, 1][..], &bytes].concat(),
        );
        write(
            "metadata_filter",
            &format!("{name}-chunks"),
            &[&[format | 3 << 2, 2][..], &bytes].concat(),
        );
        let body = multipart(&[("note", None, b"hello"), ("file", Some("a.bin"), &bytes)]);
        write("multipart", name, &[&[7u8, 1][..], &body].concat());
    }
    let all = images();
    let body = multipart(&[
        ("file", Some("a.jpg"), &all[1].2),
        ("file", Some("b.webp"), &all[9].2),
    ]);
    write(
        "multipart",
        "two-files-chunked",
        &[&[4u8, 9][..], &body].concat(),
    );
    let body = multipart(&[("file", None, &all[2].2)]);
    write("multipart", "no-filename", &[&[7u8, 0][..], &body].concat());

    let sha = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";
    for (i, name) in [
        format!("{sha}-1732262400123.jpg"),
        format!("{sha}-1732262400123.png"),
        format!("{sha}-0000000000000.gif"),
        format!("{sha}-9999999999999.webp"),
        format!("{sha}-1732262400123.jpg\n"),
        format!("{}-1732262400123.png", sha.to_uppercase()),
        format!("../{sha}-1732262400123.png"),
    ]
    .iter()
    .enumerate()
    {
        write("stored_name", &format!("name-{i}"), name.as_bytes());
    }
    // Kept variants' file names, and the SHA-1 alone (what `StoredName::new` is given).
    for (i, name) in [
        "cover-640x480.webp",
        "inside-1600x1600.avif",
        "w320.jpg",
        "w320/../x.png",
        sha,
    ]
    .iter()
    .enumerate()
    {
        write("stored_name", &format!("part-{i}"), name.as_bytes());
    }

    // download: control byte (bit 0 HEAD, then the blob: 0, 1, 2, 10, 1000, 65536 or 262145
    // bytes), then header lines.
    let etag4 = format!("\"{}\"", "04".repeat(20));
    let date4 = "Fri, 22 Nov 2024 08:00:04 GMT";
    for (i, request) in [
        "\x08".to_string(),
        "\x08Rbytes=0-9".into(),
        "\x09Rbytes=-100".into(),
        "\x0cRbytes=200000-".into(),
        "\x0aRbytes=70000-".into(),
        "\x08Rbytes=0-1,5-6".into(),
        "\x00Rbytes=-1".into(),
        format!("\x08N{etag4}"),
        format!("\x08NW/{etag4}, \"x\""),
        "\x08N*".into(),
        format!("\x08M{date4}"),
        "\x08MFri, 22 Nov 2024 08:00:03 GMT".into(),
        format!("\x08N\"nope\"\nM{date4}"),
        format!("\x08Rbytes=0-10\nI{etag4}"),
        format!("\x08Rbytes=0-10\nI{date4}"),
        format!("\x08Rbytes=10-0\nN\"nope\""),
    ]
    .iter()
    .enumerate()
    {
        write("download", &format!("request-{i}"), request.as_bytes());
    }

    for (i, claims) in [
        r#"{"jti":"0190a0b2-7c1d-7a3e-9f00-000000000001","exp":1900000000,"own":"user-42","mf":3}"#,
        r#"{"jti":"0190a0b2-7c1d-7a3e-9f00-000000000002","exp":1}"#,
    ]
    .iter()
    .enumerate()
    {
        write(
            "upload_token",
            &format!("wrong-tag-{i}"),
            &[&[0u8][..], token_with_wrong_tag(claims).as_bytes()].concat(),
        );
    }
    write("upload_token", "garbage", b"\x00v1..");
    for i in 0..4 {
        write(
            "upload_token",
            &format!("minted-{i}"),
            &[&[1u8][..], &noise(i, 64)].concat(),
        );
    }

    for (i, (path, expires)) in [
        (
            "/v1/files/2fd4e1c67a2d28fced849ee1bb76e7391b93eb12-1732262400123.jpg",
            "1900000000",
        ),
        (
            "/v1/media/0190a0b2-7c1d-7a3e-9f00-000000000001/variants/thumb",
            "0",
        ),
    ]
    .iter()
    .enumerate()
    {
        let text = format!(
            "{path}\n{expires}\n{}",
            signature_with_wrong_tag(path, expires)
        );
        write(
            "signature",
            &format!("wrong-tag-{i}"),
            &[&[0u8][..], text.as_bytes()].concat(),
        );
    }
    for i in 0..4 {
        write(
            "signature",
            &format!("signed-{i}"),
            &[&[1u8][..], &noise(10 + i, 64)].concat(),
        );
    }

    for (i, forwarded) in [
        "1.1.1.1, 198.51.100.7, 10.0.0.2",
        "::ffff:10.0.0.1,2001:db8::1",
        "junk, 10.1.1.1",
        "",
    ]
    .iter()
    .enumerate()
    {
        write(
            "client_addr",
            &format!("chain-{i}"),
            &[&noise(20 + i as u64, 48)[..], forwarded.as_bytes()].concat(),
        );
    }

    for (i, json) in [
        r#"{"owner":"user-42","files":[{"id":"0190a0b2-7c1d-7a3e-9f00-000000000001","tags":["cake","venue"]}]}"#,
        r#"{"owner":"user-42","files":[{"id":"0190a0b2-7c1d-7a3e-9f00-000000000001"},{"id":"0190a0b2-7c1d-7a3e-9f00-000000000001"}]}"#,
        r#"{"owner":"caf\u00e9 \u2615","files":[{"id":"0190a0b2-7c1d-7a3e-9f00-000000000002","tags":["a\u0085"]}]}"#,
        r#"{"owner":"","files":[]}"#,
        r#"{"owner":"x","files":[{"id":"0190a0b2-7c1d-7a3e-9f00-000000000003","tags":[]}],"extra":1}"#,
        r#"{"owner_hint":"user-42","max_files":10,"max_file_bytes":10485760,"expires_in":3600}"#,
        r#"{"expires_in":600}"#,
        "  \n",
    ]
    .iter()
    .enumerate()
    {
        write("map_json", &format!("body-{i}"), json.as_bytes());
    }
    println!("wrote ../corpus-seeds");
}
