//! `DOWNLOAD_AUTH=signed`: every download route needs `?expires=…&signature=…`, checked before
//! anything is looked up; rotation keeps what the old key signed valid while it is listed.
//! `public` ignores the parameters.

use serde_json::Value;

use super::signed_urls::{signed_urls, unix};
use super::{KEY_A, KEY_B, now, sign_url, signed_app, signing_keys};
use crate::helpers::{Media, Stack, assert_problem, detail, spawn_app_with};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    signed_urls_download_originals_and_variants_by_id_and_by_name,
    missing_wrong_expired_and_malformed_signatures_are_403,
);
// Siblings share the bucket, so each can serve what the other stored.
matrix!(dbs = [sqlite, postgres], stores = [s3]; rotation_keeps_urls_of_every_listed_key_valid);

/// Every download path of `media`: by id, by name, and each variant both ways.
fn download_paths(media: &Media) -> Vec<String> {
    let mut paths = vec![media.url.clone(), media.file_url.clone()];
    for (name, by_id) in &media.variants {
        paths.push(by_id.clone());
        paths.push(format!("{}/variants/{name}", media.file_url));
    }
    paths
}

/// Every signed URL of a signed-urls answer, keyed by the path it downloads.
fn signed_by_path(urls: &Value) -> Vec<(String, String)> {
    let mut all = vec![urls["url"].clone(), urls["file_url"].clone()];
    for group in ["variants", "file_variants"] {
        all.extend(urls[group].as_object().unwrap().values().cloned());
    }
    let mut pairs: Vec<_> = all
        .iter()
        .map(|url| {
            let url = url.as_str().unwrap();
            (
                url.split_once('?').expect("a query").0.to_owned(),
                url.to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

async fn signed_urls_download_originals_and_variants_by_id_and_by_name(stack: Stack) {
    let app = signed_app(stack).await;
    let media = app.upload_open(images::png(64, 48)).await.files.remove(0);
    let before = now();
    let urls = signed_urls(&app, &media).await;
    let after = now();
    let expires = unix(&urls["expires_at"]);
    assert!((before + 600..=after + 600).contains(&expires), "{urls}");

    // One URL per download path, each exactly what the documented scheme signs.
    let signed = signed_by_path(&urls);
    let mut paths = download_paths(&media);
    paths.sort();
    assert_eq!(
        signed.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        paths
    );
    for (path, url) in &signed {
        assert_eq!(url, &sign_url(KEY_A, path, expires));
    }
    let names = |group: &str| {
        urls[group]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let offered: Vec<String> = media.variants.keys().cloned().collect();
    assert_eq!(
        (names("variants"), names("file_variants")),
        (offered.clone(), offered)
    );

    for (path, url) in &signed {
        let response = app.get(url).await;
        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with("image/"), "{url}: {content_type}");
        if path == &media.url || path == &media.file_url {
            assert_eq!(
                response.headers()["etag"],
                format!("\"{}\"", media.sha1).as_str()
            );
            assert_eq!(response.bytes().await.unwrap().len() as u64, media.size);
        }
        assert_eq!(app.head(url).await.status(), 200, "HEAD {url}");

        assert_problem(app.get(path).await, 403, "forbidden").await;
        assert_eq!(app.head(path).await.status(), 403, "HEAD {path}");
    }
}

async fn missing_wrong_expired_and_malformed_signatures_are_403(stack: Stack) {
    let app = signed_app(stack).await;
    let media = app.upload_open(images::png(64, 48)).await.files.remove(0);
    let other = app.upload_open(images::png(32, 32)).await.files.remove(0);
    let later = now() + 600;
    for path in [&media.url, &media.file_url, &media.variants["thumb"]] {
        let valid = sign_url(KEY_A, path, later);
        let signature = valid.rsplit_once("signature=").unwrap().1;
        let other_files = sign_url(KEY_A, &other.url, later);
        let other_query = other_files.split_once('?').unwrap().1;
        let cases = [
            ("no query", path.to_string()),
            ("no signature", format!("{path}?expires={later}")),
            ("no expiry", format!("{path}?signature={signature}")),
            ("another file's signature", format!("{path}?{other_query}")),
            (
                "expiry moved",
                format!("{path}?expires={}&signature={signature}", later + 1),
            ),
            (
                "expiry reworded",
                format!("{path}?expires=0{later}&signature={signature}"),
            ),
            (
                "expiry not a number",
                format!("{path}?expires=soon&signature={signature}"),
            ),
            (
                "signature too short",
                format!("{path}?expires={later}&signature=abc"),
            ),
            (
                "signature not base64url",
                format!("{path}?expires={later}&signature={}", "!".repeat(43)),
            ),
            ("signed by another key", sign_url(KEY_B, path, later)),
            (
                "signature one short",
                format!("{path}?expires={later}&signature={}", &signature[1..]),
            ),
            ("two expiries", format!("{valid}&expires={later}")),
        ];
        for (what, url) in &cases {
            let problem = assert_problem(app.get(url).await, 403, "forbidden").await;
            assert!(!detail(&problem).is_empty(), "{what}");
            assert_eq!(app.head(url).await.status(), 403, "HEAD {what}: {url}");
        }
        let expired = sign_url(KEY_A, path, now() - 10);
        let problem = assert_problem(app.get(&expired).await, 403, "forbidden").await;
        assert!(detail(&problem).contains("expired"), "says so: {problem}");
        assert_eq!(app.get(&valid).await.status(), 200, "{valid}");
    }
    // A signature is for a path: by id is not by name, an original is not its variant.
    let by_id = sign_url(KEY_A, &media.url, later);
    let query = by_id.split_once('?').unwrap().1;
    for path in [&media.file_url, &media.variants["thumb"]] {
        assert_problem(app.get(&format!("{path}?{query}")).await, 403, "forbidden").await;
    }
    // The gate comes before any lookup: what does not exist is 403 too, not 404.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/v1/media/{unknown}"),
        "/v1/media/not-a-uuid".to_owned(),
        format!(
            "/v1/files/{}",
            media.name.replace(&media.sha1, &"0".repeat(40))
        ),
        "/v1/files/not-a-name".to_owned(),
        format!("{}/variants/no-such-variant", media.url),
        format!("{}/variants/no-such-variant", media.file_url),
    ] {
        assert_problem(app.get(&path).await, 403, "forbidden").await;
    }
    // And with a good signature, what does not exist is still 404.
    let missing = sign_url(KEY_A, &format!("/v1/media/{unknown}"), later);
    assert_problem(app.get(&missing).await, 404, "not_found").await;
}

async fn rotation_keeps_urls_of_every_listed_key_valid(stack: Stack) {
    let app = signed_app(stack).await;
    let media = app.upload_open(images::png(64, 48)).await.files.remove(0);
    let by_a = signed_by_path(&signed_urls(&app, &media).await);
    let rotated = app
        .spawn_sibling(|s| s.access.signing_keys = signing_keys(&[KEY_B, KEY_A]))
        .await;
    let by_b = signed_by_path(&signed_urls(&rotated, &media).await);
    let dropped = app
        .spawn_sibling(|s| s.access.signing_keys = signing_keys(&[KEY_B]))
        .await;
    for ((path, a), (_, b)) in by_a.iter().zip(&by_b) {
        if path.contains("/variants/") && !path.ends_with("/thumb") {
            continue; // one variant of each kind is enough
        }
        assert_eq!(rotated.get(a).await.status(), 200, "A still listed: {a}");
        assert_eq!(rotated.get(b).await.status(), 200, "{b}");
        let expires = b
            .split("expires=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert_eq!(
            b,
            &sign_url(KEY_B, path, expires.parse().unwrap()),
            "B signs"
        );
        assert_problem(dropped.get(a).await, 403, "forbidden").await;
        assert_eq!(dropped.get(b).await.status(), 200, "{b}");
        assert_problem(app.get(b).await, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn public_downloads_ignore_signature_parameters() {
    let app = spawn_app_with(Stack::SQLITE_FS, |s| {
        s.access.signing_keys = signing_keys(&[KEY_A])
    })
    .await;
    let media = app.upload_open(images::png(64, 48)).await.files.remove(0);
    let expired = now() - 10;
    for path in download_paths(&media)
        .iter()
        .filter(|p| !p.contains("/variants/w"))
    {
        for url in [
            path.clone(),
            format!("{path}?expires=soon&signature=nonsense"),
            sign_url(KEY_B, path, expired),
        ] {
            assert_eq!(app.get(&url).await.status(), 200, "{url}");
            assert_eq!(app.head(&url).await.status(), 200, "HEAD {url}");
        }
    }
}
