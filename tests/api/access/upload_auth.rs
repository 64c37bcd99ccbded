//! When uploads need a token: UPLOAD_AUTH, its default from BIND_ADDR, and the SIGNING_KEYS
//! that token (or signed) auth cannot work without, refused at start-up.

use std::time::{Duration, Instant};

use mediastore::config::{DownloadAuth, Settings, UploadAuth};
use serde_json::json;

use super::{Carried, KEY_A, Service, claims, craft_token, now, signing_keys};
use crate::helpers::{Stack, assert_problem, spawn_app_with};
use crate::images;

/// A token sent where uploads are open is checked all the same.
#[tokio::test]
async fn a_bad_token_is_401_even_where_uploads_are_open() {
    let app = spawn_app_with(Stack::SQLITE_FS, |s| {
        s.access.signing_keys = signing_keys(&[KEY_A]);
    })
    .await;
    assert_eq!(app.settings.upload_auth(), UploadAuth::Open);
    let expired = craft_token(KEY_A, KEY_A, &claims(now() - 10));
    for token in ["garbage", expired.as_str()] {
        let response = app.upload_with_token(images::png(4, 4), token).await;
        assert_problem(response, 401, "unauthorized").await;
    }
    app.assert_nothing_kept().await;
    app.upload_open(images::png(4, 4)).await;
}

#[tokio::test]
async fn a_non_loopback_bind_address_requires_tokens() {
    let app = spawn_app_with(Stack::SQLITE_FS, |s| {
        s.bind_addr = "0.0.0.0:0".parse().unwrap();
        s.access.signing_keys = signing_keys(&[KEY_A]);
    })
    .await;
    assert_eq!(app.settings.access.upload_auth, None, "UPLOAD_AUTH unset");
    let response = app
        .upload_with(vec![images::png(4, 4)], None, Carried::Header)
        .await;
    assert_problem(response, 401, "unauthorized").await;
    app.assert_nothing_kept().await;
    let token = app.mint_token(json!({})).await;
    assert_eq!(
        app.upload_with_token(images::png(4, 4), &token)
            .await
            .status(),
        201
    );
}

/// A change to the default settings.
type Customize = fn(&mut Settings);

#[test]
fn validate_refuses_token_or_signed_auth_without_signing_keys_and_names_it() {
    let settings = |bind: &str, customize: Customize| {
        let mut s = Settings {
            bind_addr: bind.parse().unwrap(),
            ..Settings::default()
        };
        customize(&mut s);
        s
    };
    let refused: [Case; 4] = [
        ("0.0.0.0:8080", |_| {}),
        ("[::]:8080", |_| {}),
        ("127.0.0.1:8080", |s| {
            s.access.upload_auth = Some(UploadAuth::Token)
        }),
        ("127.0.0.1:8080", |s| {
            s.access.download_auth = DownloadAuth::Signed
        }),
    ];
    for (bind, customize) in refused {
        let mut s = settings(bind, customize);
        let e = s.validate().expect_err(bind);
        assert_eq!(e.var, "SIGNING_KEYS");
        assert!(e.to_string().contains("SIGNING_KEYS"), "{e}");
        s.access.signing_keys = signing_keys(&[KEY_A]);
        assert!(s.validate().is_ok(), "{bind} with a key");
    }
    let open: [Case; 3] = [
        ("127.0.0.1:8080", |_| {}),
        ("[::1]:8080", |_| {}),
        ("0.0.0.0:8080", |s| {
            s.access.upload_auth = Some(UploadAuth::Open)
        }),
    ];
    for (bind, customize) in open {
        let s = settings(bind, customize);
        assert!(s.validate().is_ok(), "{bind}");
        assert_eq!(s.upload_auth(), UploadAuth::Open, "{bind}");
    }
    assert_eq!(
        settings("0.0.0.0:8080", |_| {}).upload_auth(),
        UploadAuth::Token
    );
}

/// The real binary stops with one line naming the variable, before it listens.
#[test]
fn the_binary_will_not_start_open_to_the_network_without_signing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mediastore"))
        .current_dir(dir.path())
        .args(["serve"])
        .env("BIND_ADDR", "0.0.0.0:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("m.db").display()),
        )
        .env("UPLOAD_DIR", dir.path().join("uploads"))
        .env_remove("SIGNING_KEYS")
        .env_remove("UPLOAD_AUTH")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mediastore serve started on 0.0.0.0 without SIGNING_KEYS");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("SIGNING_KEYS"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

/// A name and the settings change it describes.
type Case = (&'static str, fn(&mut Settings));
