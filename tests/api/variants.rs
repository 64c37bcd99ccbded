//! Variants (SPEC §10): sizes, formats and negotiation, orientation, download headers, bad
//! input, single flight, and variants leaving with their media. Outputs are decoded with the
//! `image` crate, independently of the service's encoders.

use image::{GenericImageView, RgbaImage};

use crate::helpers::{Media, Stack, TestApp, assert_problem, spawn_app, spawn_process_with};
use crate::images;
use crate::matrix;
use crate::metadata_fixtures as fx;

matrix!(dbs = [sqlite], stores = [fs, s3];
    every_preset_and_width_has_its_size_and_format_on_every_source_type,
    a_second_request_serves_the_kept_variant_with_the_same_etag_304_and_ranges,
    deleting_media_deletes_its_variants,
);
matrix!(dbs = [sqlite], stores = [fs];
    each_of_the_eight_orientations_gives_the_same_upright_variant,
    negotiation_picks_webp_from_accept_and_format_wins,
    unknown_variants_widths_and_formats_are_404_and_400_problems,
    a_corrupt_source_is_422_and_nothing_is_kept,
);

/// A 400×300 RGBA source with transparency in its left half.
fn transparent_png() -> Vec<u8> {
    let image = RgbaImage::from_fn(400, 300, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            90,
            if x < 200 { 0 } else { 255 },
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Whether `Vary` names `Accept` (CORS adds its own names to every response).
fn varies_on_accept(headers: &reqwest::header::HeaderMap) -> bool {
    headers.get_all("vary").iter().any(|value| {
        let value = value.to_str().unwrap_or_default();
        value
            .split(',')
            .any(|name| name.trim().eq_ignore_ascii_case("accept"))
    })
}

fn decoded(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).expect("the variant decodes")
}

async fn variant(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.send().await.expect("a response")
}

/// The expected size of each default variant for a `w`×`h` source.
fn expected_size(variant: &str, (w, h): (u32, u32)) -> (u32, u32) {
    let inside = |bw: u32, bh: u32| {
        let scale = f64::min(f64::from(bw) / f64::from(w), f64::from(bh) / f64::from(h)).min(1.0);
        (
            (f64::from(w) * scale).round() as u32,
            (f64::from(h) * scale).round() as u32,
        )
    };
    match variant {
        "thumb" => (200.min(w), 200.min(h)),
        "card" => (640.min(w), 480.min(h)),
        "large" => inside(1600, 1600),
        width => inside(width[1..].parse().unwrap(), u32::MAX),
    }
}

async fn every_preset_and_width_has_its_size_and_format_on_every_source_type(stack: Stack) {
    let app = spawn_app(stack).await;
    // The fallback (no modern format asked for) is JPEG, or PNG for a source with transparency.
    let sources = [
        ("photo.jpg", images::jpeg(2000, 1500), "image/jpeg"),
        ("logo.png", transparent_png(), "image/png"),
        (
            "spin.gif",
            images::animated_gif(&images::frames(3, 700, 500), 0),
            "image/jpeg",
        ),
        (
            "photo.webp",
            images::encoded(1000, 700, image::ImageFormat::WebP),
            "image/jpeg",
        ),
    ];
    for (file_name, bytes, expected_type) in sources {
        let media = app.upload_ok(bytes, file_name).await;
        let source_size = (media.width as u32, media.height as u32);
        assert_eq!(media.variants.len(), 8, "{:?}", media.variants);
        for (name, url) in &media.variants {
            assert_eq!(url, &format!("{}/variants/{name}", media.url));
            let response = variant(&app, url, Some("image/*")).await;
            assert_eq!(response.status(), 200, "{file_name} {name}");
            assert_eq!(
                response.headers()["content-type"],
                expected_type,
                "{file_name} {name}"
            );
            let etag = response.headers()["etag"].clone();
            let image = decoded(&response.bytes().await.unwrap());
            // Kept: the same ETag again, and a revalidation is a 304.
            let again = app
                .client
                .get(app.url(url))
                .header("accept", "image/*")
                .header("if-none-match", etag.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 304, "{file_name} {name}");
            assert_eq!(again.headers()["etag"], etag, "{file_name} {name}");
            assert_eq!(
                image.dimensions(),
                expected_size(name, source_size),
                "{file_name} {name} from {source_size:?}"
            );
        }
    }
}

async fn a_second_request_serves_the_kept_variant_with_the_same_etag_304_and_ranges(stack: Stack) {
    let app = spawn_app(stack).await;
    let media = app.upload_ok(images::jpeg(1200, 900), "photo.jpg").await;
    let url = &media.variants["card"];

    let first = variant(&app, url, Some("image/webp")).await;
    assert_eq!(first.status(), 200);
    let headers = first.headers().clone();
    assert_eq!(headers["content-type"], "image/webp");
    assert!(varies_on_accept(&headers), "{headers:?}");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    let body = first.bytes().await.unwrap();
    assert_eq!(decoded(&body).dimensions(), (640, 480));

    let second = variant(&app, url, Some("image/webp")).await;
    assert_eq!(second.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(second.bytes().await.unwrap(), body, "the kept bytes");

    let revalidated = app
        .client
        .get(app.url(url))
        .header("accept", "image/webp")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    let ranged = app
        .client
        .get(app.url(&format!("{url}?format=webp")))
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert!(!varies_on_accept(ranged.headers()), "not negotiated");
    assert_eq!(ranged.bytes().await.unwrap(), body[..10]);
    let head = app
        .client
        .head(app.url(&format!(
            "/v1/files/{}/variants/card?format=webp",
            media.name
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        body.len().to_string().as_str()
    );
}

/// The eight EXIF orientations of one upright picture: each stored turned the way its
/// orientation undoes, so all must give the same upright variant.
async fn each_of_the_eight_orientations_gives_the_same_upright_variant(stack: Stack) {
    use image::imageops::{flip_horizontal, flip_vertical, rotate90, rotate180, rotate270};
    let app = spawn_app(stack).await;
    // Four flat quadrants: red, green / blue, white. Large enough that `w320` decodes the
    // JPEG at half scale, so orientation is checked on the scaled path too.
    let quadrant = |left: bool, top: bool| match (left, top) {
        (true, true) => [255, 0, 0, 255],
        (false, true) => [0, 255, 0, 255],
        (true, false) => [0, 0, 255, 255],
        (false, false) => [255, 255, 255, 255],
    };
    let upright = RgbaImage::from_fn(960, 640, |x, y| image::Rgba(quadrant(x < 480, y < 320)));
    for orientation in 1..=8u8 {
        let stored = match orientation {
            1 => upright.clone(),
            2 => flip_horizontal(&upright),
            3 => rotate180(&upright),
            4 => flip_vertical(&upright),
            5 => flip_horizontal(&rotate90(&upright)),
            6 => rotate270(&upright),
            7 => flip_vertical(&rotate90(&upright)),
            _ => rotate90(&upright),
        };
        let mut jpeg = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgba8(stored)
            .into_rgb8()
            .write_to(&mut jpeg, image::ImageFormat::Jpeg)
            .unwrap();
        let tagged = fx::exiftool_write(
            &jpeg.into_inner(),
            image::ImageFormat::Jpeg,
            &[format!("-Orientation#={orientation}")],
        );
        let media = app.upload_ok(tagged, "turned.jpg").await;
        let response = variant(&app, &media.variants["w320"], None).await;
        let image = decoded(&response.bytes().await.unwrap()).into_rgba8();
        assert_eq!(image.dimensions(), (320, 213), "orientation {orientation}");
        for (x, y) in [(80, 53), (240, 53), (80, 160), (240, 160)] {
            let (got, want) = (image.get_pixel(x, y).0, quadrant(x < 160, y < 106));
            let close = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 24);
            assert!(
                close,
                "orientation {orientation} at ({x},{y}): {got:?}, not {want:?}"
            );
        }
    }
}

async fn negotiation_picks_webp_from_accept_and_format_wins(stack: Stack) {
    let app = spawn_app(stack).await;
    let media = app.upload_ok(images::jpeg(800, 600), "photo.jpg").await;
    let url = &media.variants["thumb"];
    let browser = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
    for (accept, query, expected, vary) in [
        (Some(browser), "", "image/webp", true), // AVIF is off by default
        (Some("image/*"), "", "image/jpeg", true),
        (None, "", "image/jpeg", true),
        (Some(browser), "?format=png", "image/png", false),
        (Some("image/webp"), "?format=jpeg", "image/jpeg", false),
    ] {
        let response = variant(&app, &format!("{url}{query}"), accept).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            expected,
            "{accept:?} {query}"
        );
        assert_eq!(
            varies_on_accept(response.headers()),
            vary,
            "{accept:?} {query}"
        );
        let bytes = response.bytes().await.unwrap();
        assert_eq!(decoded(&bytes).dimensions(), (200, 200));
    }
}

async fn unknown_variants_widths_and_formats_are_404_and_400_problems(stack: Stack) {
    let app = spawn_app(stack).await;
    let media = app.upload_ok(images::jpeg(300, 200), "photo.jpg").await;
    for missing in ["huge", "w321", "w", "W320", "w0320"] {
        let path = format!("{}/variants/{missing}", media.url);
        assert_problem(app.get(&path).await, 404, "not_found").await;
    }
    let unknown_media = format!("/v1/media/{}/variants/card", uuid::Uuid::new_v4());
    assert_problem(app.get(&unknown_media).await, 404, "not_found").await;
    assert_problem(
        app.get("/v1/files/nope.jpg/variants/card").await,
        404,
        "not_found",
    )
    .await;
    for format in ["gif", "bmp", "", "avif"] {
        let path = format!("{}?format={format}", media.variants["card"]);
        assert_problem(app.get(&path).await, 400, "malformed_request").await;
    }
    assert_eq!(stored_variants(&app, &media).await, Vec::<String>::new());
}

async fn a_corrupt_source_is_422_and_nothing_is_kept(stack: Stack) {
    let app = spawn_app(stack).await;
    // Well-formed chunks (the upload checks pass) whose pixel data is not a zlib stream.
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&400u32.to_be_bytes());
    ihdr.extend_from_slice(&300u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut broken = b"\x89PNG\r\n\x1a\n".to_vec();
    images::push_chunk(&mut broken, b"IHDR", &ihdr);
    images::push_chunk(&mut broken, b"IDAT", &[0x5a; 512]);
    images::push_chunk(&mut broken, b"IEND", &[]);
    let media = app.upload_ok(broken, "broken.png").await;
    let problem =
        assert_problem(app.get(&media.variants["card"]).await, 422, "invalid_image").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("decode"),
        "{problem}"
    );
    assert_eq!(stored_variants(&app, &media).await, Vec::<String>::new());
    app.assert_no_staged_files();
}

async fn deleting_media_deletes_its_variants(stack: Stack) {
    let app = spawn_app(stack).await;
    let media = app.upload_ok(images::jpeg(900, 600), "photo.jpg").await;
    for name in ["thumb", "w320"] {
        assert_eq!(
            variant(&app, &media.variants[name], None).await.status(),
            200
        );
    }
    assert_eq!(
        stored_variants(&app, &media).await,
        ["cover-200x200.jpg", "w320.jpg"]
    );

    assert_eq!(app.delete(media.id).await.status(), 204);
    assert_eq!(stored_variants(&app, &media).await, Vec::<String>::new());
    let path = format!("/v1/files/{}/variants/thumb", media.name);
    assert_problem(app.get(&path).await, 404, "not_found").await;
}

/// The kept variants of `media`, by file name, from the directory or the bucket's listing.
async fn stored_variants(app: &TestApp, media: &Media) -> Vec<String> {
    let mut names: Vec<String> = match &app.bucket {
        Some(bucket) => {
            let folder = format!(
                "{}/variants/{}/{}/",
                bucket.settings.prefix,
                &media.name[..2],
                media.name
            );
            let keys = bucket.keys().await;
            keys.iter()
                .filter_map(|k| k.strip_prefix(&folder).map(str::to_owned))
                .collect()
        }
        None => {
            let folder = app
                .upload_dir()
                .join("variants")
                .join(&media.name[..2])
                .join(&media.name);
            std::fs::read_dir(folder)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        }
    };
    names.sort();
    names
}

#[tokio::test]
async fn fifty_concurrent_requests_for_one_new_variant_make_it_once() {
    // A process of its own, so that its transform counter counts only this test's.
    let app = spawn_process_with(Stack::SQLITE_FS, &[]).await;
    let media = app.upload_ok(images::jpeg(1600, 1200), "photo.jpg").await;
    let url = app.url(&media.variants["card"]);
    let requests = (0..50).map(|_| {
        let request = app.client.get(&url).send();
        async move { request.await.unwrap().bytes().await.unwrap() }
    });
    let bodies = futures_util::future::join_all(requests).await;
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "one variant"
    );

    let metrics = app.get("/metrics").await.text().await.unwrap();
    let made = metrics
        .lines()
        .find(|l| {
            l.starts_with("mediastore_variant_transforms_total")
                && l.contains("variant=\"card\"")
                && l.contains("outcome=\"made\"")
        })
        .unwrap_or_else(|| panic!("no transform counted:\n{metrics}"));
    assert!(made.ends_with(" 1"), "made once: {made}");
}

matrix!(dbs = [sqlite, postgres], stores = [fs];
    the_placeholder_is_a_thumbhash_of_the_upright_image,
);

async fn the_placeholder_is_a_thumbhash_of_the_upright_image(stack: Stack) {
    use base64::Engine as _;
    let app = spawn_app(stack).await;
    // Stored 300×600 with orientation 6: upright it is 600 wide and 300 high.
    let turned = fx::exiftool_write(
        &images::jpeg(300, 600),
        image::ImageFormat::Jpeg,
        &["-Orientation#=6".to_owned()],
    );
    let media = app.upload_ok(turned, "turned.jpg").await;
    assert_eq!(media.metadata, None, "no metadata before mapping");
    let body = serde_json::json!({"owner": "user-1", "files": [{"id": media.id}]});
    let response = app.map(&body).await;
    assert_eq!(response.status(), 200);
    let mapped: crate::helpers::MediaList = crate::helpers::read_json(response).await;
    let metadata = mapped.files[0].metadata.clone().expect("metadata");

    let placeholder = metadata.placeholder.expect("a placeholder");
    let hash = base64::engine::general_purpose::STANDARD
        .decode(&placeholder)
        .expect("base64");
    let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).expect("a ThumbHash");
    // ThumbHash keeps the ratio coarsely (about 1.75 for 2:1); as stored it would be below 1.
    assert!((1.5..=2.5).contains(&ratio), "upright 2:1, not {ratio}");
    let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&hash).expect("it decodes");
    assert!(w > h && rgba.len() == w * h * 4, "{w}x{h}");
    assert_eq!(
        app.info(&media).await.metadata.unwrap().placeholder,
        Some(placeholder)
    );
}

#[tokio::test]
async fn with_avif_enabled_a_browser_that_names_it_gets_avif() {
    let app = crate::helpers::spawn_app_with(Stack::SQLITE_FS, |s| s.variants.avif = true).await;
    let media = app.upload_ok(images::jpeg(640, 480), "photo.jpg").await;
    let url = &media.variants["thumb"];
    let browser = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
    for (accept, query) in [(Some(browser), ""), (Some("image/webp"), "?format=avif")] {
        let response = variant(&app, &format!("{url}{query}"), accept).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/avif");
        let bytes = response.bytes().await.unwrap();
        // An ISO-BMFF file of the AVIF brand.
        assert_eq!(&bytes[4..12], b"ftypavif", "{accept:?} {query}");
    }
    let webp_only = variant(&app, url, Some("image/webp,image/avif;q=0")).await;
    assert_eq!(webp_only.headers()["content-type"], "image/webp");
    let anything = variant(&app, url, Some("image/*")).await;
    assert_eq!(anything.headers()["content-type"], "image/jpeg");
}

#[tokio::test]
async fn a_transparent_source_keeps_its_alpha_in_webp_and_png() {
    let app = spawn_app(Stack::SQLITE_FS).await;
    let media = app.upload_ok(transparent_png(), "logo.png").await;
    for accept in ["image/webp", "image/*"] {
        let response = variant(&app, &media.variants["w320"], Some(accept)).await;
        let image = decoded(&response.bytes().await.unwrap()).into_rgba8();
        assert_eq!(image.dimensions(), (320, 240));
        assert_eq!(
            image.get_pixel(10, 120).0[3],
            0,
            "{accept}: the left half stays clear"
        );
        assert_eq!(
            image.get_pixel(300, 120).0[3],
            255,
            "{accept}: the right half opaque"
        );
    }
}

#[tokio::test]
async fn with_every_transform_slot_busy_past_the_queue_timeout_a_new_variant_is_503_overloaded() {
    // A process of its own, so that its running-transforms gauge is its own.
    let env = [
        ("MAX_CONCURRENT_TRANSFORMS", "1"),
        ("UPLOAD_QUEUE_TIMEOUT_SECS", "0"),
        // AVIF of a 1600×1200 `large` keeps the slot busy for seconds.
        ("VARIANT_AVIF", "true"),
    ];
    let app = spawn_process_with(Stack::SQLITE_FS, &env).await;
    let media = app.upload_ok(images::jpeg(1600, 1200), "photo.jpg").await;
    let slow = app
        .client
        .get(app.url(&format!("{}?format=avif", media.variants["large"])))
        .send();
    let slow = tokio::spawn(slow);
    crate::helpers::wait_until("the AVIF transform holds the only slot", || async {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        metrics
            .lines()
            .any(|l| l == "mediastore_variant_transforms_running 1")
    })
    .await;

    let refused = app.get(&media.variants["card"]).await;
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_problem(refused, 503, "overloaded").await;

    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.status(), 200);
    assert_eq!(slow.headers()["content-type"], "image/avif");
    assert_eq!(
        app.get(&media.variants["card"]).await.status(),
        200,
        "a free slot again"
    );
}
