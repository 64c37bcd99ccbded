//! Upload tokens: minting, what a bad or missing one gets, and rotation of the signing keys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use serde_json::{Value, json};

use super::{
    Carried, KEY_A, KEY_B, Service, claims, craft_token, fingerprint, now, signing_keys, token_app,
};
use crate::helpers::{
    API_KEY, MediaList, Stack, assert_problem, detail, read_json, spawn_app, spawn_app_with,
};
use crate::images;
use crate::matrix;

matrix!(dbs = [sqlite, postgres], stores = [fs];
    a_minted_token_uploads_in_the_header_and_in_the_query,
    missing_and_bad_tokens_are_401_and_nothing_is_kept,
    rotation_keeps_tokens_of_every_listed_key_valid,
);

/// The claims of a token, decoded (they are only base64url, not secret).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(2).expect("v1.<kid>.<claims>.<tag>");
    serde_json::from_slice(&BASE64URL.decode(payload).unwrap()).unwrap()
}

async fn a_minted_token_uploads_in_the_header_and_in_the_query(stack: Stack) {
    let app = token_app(stack).await;
    let before = now();
    let response = app.request_token(None, Some(API_KEY)).await;
    let after = now();
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    let token = answer["token"].as_str().unwrap();
    assert!(
        token.starts_with(&format!("v1.{}.", fingerprint(KEY_A))),
        "{token}"
    );
    let expires_at = chrono::DateTime::parse_from_rfc3339(answer["expires_at"].as_str().unwrap())
        .expect("RFC 3339")
        .timestamp();
    assert!(
        (before + 3600..=after + 3600).contains(&expires_at),
        "{answer}"
    );
    let claims = claims_of(token);
    assert_eq!(claims["exp"], expires_at, "{claims}");
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
    assert_eq!(claims.as_object().unwrap().len(), 2, "no limits: {claims}");

    for how in [Carried::Header, Carried::Query] {
        let response = app
            .upload_with(vec![images::png(4, 4)], Some(token), how)
            .await;
        assert_eq!(response.status(), 201, "{how:?}");
        // The typed Media has no `owner_hint`: a token without one adds none.
        let list: MediaList = read_json(response).await;
        assert_eq!(list.files.len(), 1);
    }
    let missing = app
        .upload_with(vec![images::png(4, 4)], None, Carried::Header)
        .await;
    assert_eq!(missing.headers()["www-authenticate"], "Upload-Token");
    assert_problem(missing, 401, "unauthorized").await;
    assert_eq!(app.record_count().await, 2);
}

async fn missing_and_bad_tokens_are_401_and_nothing_is_kept(stack: Stack) {
    let app = token_app(stack).await;
    let valid = app.mint_token(json!({"max_files": 5})).await;
    // The claims changed (more files), the tag kept.
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut more = claims_of(&valid);
    more["mf"] = json!(1000);
    parts[2] = BASE64URL.encode(serde_json::to_vec(&more).unwrap());
    let raised = parts.join(".");
    let later = now() + 600;
    let cases = [
        ("empty", String::new()),
        ("garbage", "garbage".to_owned()),
        ("three parts", "v1.abc.def".to_owned()),
        ("another version", valid.replacen("v1.", "v2.", 1)),
        ("tag not base64url", format!("{valid}!")),
        ("claims changed", raised),
        ("unknown key", craft_token(KEY_B, KEY_B, &claims(later))),
        ("wrong signature", craft_token(KEY_A, KEY_B, &claims(later))),
        (
            "claims not an object",
            craft_token(KEY_A, KEY_A, &json!("x")),
        ),
        (
            "no expiry",
            craft_token(KEY_A, KEY_A, &json!({"jti": uuid::Uuid::new_v4()})),
        ),
    ];
    for (what, token) in &cases {
        for how in [Carried::Header, Carried::Query] {
            let response = app
                .upload_with(vec![images::png(4, 4)], Some(token), how)
                .await;
            assert_eq!(response.status(), 401, "{what} ({how:?})");
            assert_problem(response, 401, "unauthorized").await;
        }
    }
    let expired = craft_token(KEY_A, KEY_A, &claims(now() - 10));
    let problem = assert_problem(
        app.upload_with_token(images::png(4, 4), &expired).await,
        401,
        "unauthorized",
    )
    .await;
    assert!(detail(&problem).contains("expired"), "says so: {problem}");
    let missing = app
        .upload_with(vec![images::png(4, 4)], None, Carried::Header)
        .await;
    assert_problem(missing, 401, "unauthorized").await;
    app.assert_nothing_kept().await;
    // The crafted tokens are refused for what they are, not for how they were made.
    let good = craft_token(KEY_A, KEY_A, &claims(later));
    assert_eq!(
        app.upload_with_token(images::png(4, 4), &good)
            .await
            .status(),
        201
    );
}

async fn rotation_keeps_tokens_of_every_listed_key_valid(stack: Stack) {
    let app = token_app(stack).await;
    let by_a = app.mint_token(json!({})).await;
    let rotated = app
        .spawn_sibling(|s| s.access.signing_keys = signing_keys(&[KEY_B, KEY_A]))
        .await;
    let status = rotated
        .upload_with_token(images::png(4, 4), &by_a)
        .await
        .status();
    assert_eq!(status, 201, "A is still listed");
    // The first key signs.
    let by_b = rotated.mint_token(json!({})).await;
    assert!(
        by_b.starts_with(&format!("v1.{}.", fingerprint(KEY_B))),
        "{by_b}"
    );
    let response = app.upload_with_token(images::png(4, 4), &by_b).await;
    assert_problem(response, 401, "unauthorized").await;

    let dropped = app
        .spawn_sibling(|s| s.access.signing_keys = signing_keys(&[KEY_B]))
        .await;
    let response = dropped.upload_with_token(images::png(4, 4), &by_a).await;
    assert_problem(response, 401, "unauthorized").await;
    let status = dropped
        .upload_with_token(images::png(4, 4), &by_b)
        .await
        .status();
    assert_eq!(status, 201);
    assert_eq!(app.record_count().await, 2);
}

#[tokio::test]
async fn token_requests_are_validated() {
    let app = token_app(Stack::SQLITE_FS).await;
    let max = app.settings.limits.max_file_bytes;
    let cases: &[(&str, u16)] = &[
        ("", 201),
        ("  ", 201),
        ("{}", 201),
        (&format!(r#"{{"max_file_bytes": {max}}}"#), 201),
        (&format!(r#"{{"max_file_bytes": {}}}"#, max + 1), 400),
        (r#"{"max_file_bytes": 0}"#, 400),
        (r#"{"expires_in": 604800}"#, 201),
        (r#"{"expires_in": 604801}"#, 400),
        (r#"{"expires_in": 0}"#, 400),
        (r#"{"expires_in": -1}"#, 400),
        (r#"{"max_files": 0}"#, 400),
        (r#"{"max_files": "3"}"#, 400),
        (r#"{"owner_hint": ""}"#, 400),
        (r#"{"owner_hint": "a\u0007b"}"#, 400),
        (&format!(r#"{{"owner_hint": "{}"}}"#, "x".repeat(201)), 400),
        (r#"{"surprise": 1}"#, 400),
        ("[]", 400),
        ("not json", 400),
    ];
    for &(body, status) in cases {
        let response = app.request_token(Some(body), Some(API_KEY)).await;
        if status == 201 {
            assert_eq!(response.status(), 201, "{body:?}");
        } else {
            assert_problem(response, status, "malformed_request").await;
        }
    }
    let body = json!({"owner_hint": "user-42", "max_files": 3, "max_file_bytes": 1000,
        "expires_in": 60});
    let response = app
        .request_token(Some(&body.to_string()), Some(API_KEY))
        .await;
    let answer: Value = response.json().await.unwrap();
    let claims = claims_of(answer["token"].as_str().unwrap());
    let expires_at = chrono::DateTime::parse_from_rfc3339(answer["expires_at"].as_str().unwrap());
    assert_eq!(claims["exp"], expires_at.unwrap().timestamp());
    assert_eq!(
        (&claims["own"], &claims["mf"], &claims["mb"]),
        (&json!("user-42"), &json!(3), &json!(1000))
    );

    assert_problem(app.request_token(None, None).await, 401, "unauthorized").await;
    let wrong = app.request_token(None, Some("not-the-key")).await;
    assert_problem(wrong, 401, "unauthorized").await;
    // Without signing keys there is nothing to sign with; without an API key, no one to mint for.
    let keyless = spawn_app(Stack::SQLITE_FS).await;
    let problem = assert_problem(
        keyless.request_token(None, Some(API_KEY)).await,
        503,
        "unavailable",
    )
    .await;
    assert!(detail(&problem).contains("SIGNING_KEYS"), "{problem}");
    let no_api_key = spawn_app_with(Stack::SQLITE_FS, |s| {
        s.api_key = None;
        s.access.signing_keys = signing_keys(&[KEY_A]);
    })
    .await;
    assert_problem(
        no_api_key.request_token(None, Some(API_KEY)).await,
        503,
        "unavailable",
    )
    .await;
}
