//! Access control (SPEC §12): upload tokens and their limits, signed downloads, rate limits per
//! client address, and the audit log. Tokens and signatures that the service must refuse are
//! made here, independently of the service's code, from the documented formats.

mod audit;
mod quotas;
mod rate_limits;
mod served;
mod signed_downloads;
mod signed_urls;
mod tokens;
mod upload_auth;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use hmac::{Hmac, KeyInit, Mac};
use mediastore::access::SigningKey;
use mediastore::config::{DownloadAuth, UploadAuth};
use reqwest::multipart::Form;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{API_KEY, MediaList, Stack, TestApp, file_part, read_json, spawn_app_with};

/// Two signing keys (at least 32 characters each): the service's, and another.
pub const KEY_A: &str = "signing-key-a-0123456789abcdef0123456789";
pub const KEY_B: &str = "signing-key-b-0123456789abcdef0123456789";

const TOKEN_PURPOSE: &[u8] = b"mediastore upload token v1\n";
const DOWNLOAD_PURPOSE: &[u8] = b"mediastore download v1\n";

pub fn signing_keys(secrets: &[&str]) -> Vec<SigningKey> {
    secrets.iter().map(SigningKey::new).collect()
}

/// The public name of a secret: the first 8 bytes of its SHA-256, in hex.
pub fn fingerprint(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..8])
}

fn hmac_sha256(secret: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a token with only its id and expiry.
pub fn claims(expires_at: i64) -> Value {
    json!({"jti": uuid::Uuid::new_v4(), "exp": expires_at})
}

/// `v1.<key id of named_key>.<claims>.<HMAC under signed_with>`: a real token when both are
/// the same key.
pub fn craft_token(named_key: &str, signed_with: &str, claims: &Value) -> String {
    let payload = BASE64URL.encode(serde_json::to_vec(claims).unwrap());
    let signed = format!("v1.{}.{payload}", fingerprint(named_key));
    let tag = hmac_sha256(signed_with, &[TOKEN_PURPOSE, signed.as_bytes()]);
    format!("{signed}.{}", BASE64URL.encode(tag))
}

/// `path?expires=…&signature=…`, signed with `secret`.
pub fn sign_url(secret: &str, path: &str, expires: i64) -> String {
    let expires = expires.to_string();
    let parts: [&[u8]; 4] = [DOWNLOAD_PURPOSE, path.as_bytes(), b"\n", expires.as_bytes()];
    let signature = BASE64URL.encode(hmac_sha256(secret, &parts));
    format!("{path}?expires={expires}&signature={signature}")
}

/// An app with `UPLOAD_AUTH=token` and `SIGNING_KEYS=KEY_A`.
pub async fn token_app(stack: Stack) -> TestApp {
    spawn_app_with(stack, |s| {
        s.access.upload_auth = Some(UploadAuth::Token);
        s.access.signing_keys = signing_keys(&[KEY_A]);
    })
    .await
}

/// An app with `DOWNLOAD_AUTH=signed` and `SIGNING_KEYS=KEY_A` (uploads open: loopback).
pub async fn signed_app(stack: Stack) -> TestApp {
    spawn_app_with(stack, |s| {
        s.access.download_auth = DownloadAuth::Signed;
        s.access.signing_keys = signing_keys(&[KEY_A]);
    })
    .await
}

/// An upload that must be accepted: its files as JSON (`Media` with `owner_hint`, which the
/// typed `Media` does not know).
pub async fn accepted_files(response: reqwest::Response) -> Vec<Value> {
    assert_eq!(response.status(), 201);
    let list: Value = read_json(response).await;
    list["files"].as_array().expect("files").clone()
}

/// How an upload carries its token.
#[derive(Debug, Clone, Copy)]
pub enum Carried {
    Header,
    Query,
}

/// The requests of these tests, to an app of the test process or to a binary of its own.
#[allow(async_fn_in_trait)]
pub trait Service {
    fn http(&self) -> &reqwest::Client;
    fn at(&self, path: &str) -> String;

    /// `POST /v1/upload-tokens` with `body` (none: empty) and `key` as the bearer (none: no
    /// `Authorization`).
    async fn request_token(&self, body: Option<&str>, key: Option<&str>) -> reqwest::Response {
        let request = self.http().post(self.at("/v1/upload-tokens"));
        with_body_and_key(request, body, key)
            .send()
            .await
            .expect("upload-tokens")
    }

    /// A token minted by the service with `body`, which must be accepted.
    async fn mint_token(&self, body: Value) -> String {
        let response = self
            .request_token(Some(&body.to_string()), Some(API_KEY))
            .await;
        assert_eq!(response.status(), 201);
        let answer: Value = response.json().await.unwrap();
        answer["token"].as_str().expect("a token").to_owned()
    }

    /// Uploads `files` in one request, with `token` (if any) carried as `how`.
    async fn upload_with(
        &self,
        files: Vec<Vec<u8>>,
        token: Option<&str>,
        how: Carried,
    ) -> reqwest::Response {
        let mut form = Form::new();
        for (i, bytes) in files.into_iter().enumerate() {
            let part = file_part(bytes, &format!("f{i}.png"), "application/octet-stream");
            form = form.part("file", part);
        }
        let mut request = self.http().post(self.at("/v1/media"));
        match (token, how) {
            (Some(token), Carried::Header) => request = request.header("upload-token", token),
            (Some(token), Carried::Query) => request = request.query(&[("token", token)]),
            (None, _) => {}
        }
        request.multipart(form).send().await.expect("upload")
    }

    /// Uploads one file with `token` in the `Upload-Token` header.
    async fn upload_with_token(&self, bytes: Vec<u8>, token: &str) -> reqwest::Response {
        self.upload_with(vec![bytes], Some(token), Carried::Header)
            .await
    }
}

impl Service for TestApp {
    fn http(&self) -> &reqwest::Client {
        &self.client
    }

    fn at(&self, path: &str) -> String {
        self.url(path)
    }
}

impl TestApp {
    /// An upload with no token that must be accepted, typed.
    pub async fn upload_open(&self, bytes: Vec<u8>) -> MediaList {
        let response = self.upload_with(vec![bytes], None, Carried::Header).await;
        assert_eq!(response.status(), 201);
        read_json(response).await
    }

    pub async fn head(&self, path: &str) -> reqwest::Response {
        self.client.head(self.url(path)).send().await.expect("HEAD")
    }
}

/// A backend call: `body` as JSON (none: empty) and `key` as the bearer (none: no
/// `Authorization`).
pub fn with_body_and_key(
    mut request: reqwest::RequestBuilder,
    body: Option<&str>,
    key: Option<&str>,
) -> reqwest::RequestBuilder {
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    request
}
