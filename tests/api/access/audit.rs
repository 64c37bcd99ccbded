//! The audit log: one line (target `audit`) per call that needed or presented a credential,
//! with the request id, method, route, status, kind of credential, the fingerprint of what was
//! presented, and whether it was accepted; never the secret. Read from the real binary's
//! JSON log.

use serde_json::{Value, json};

use super::served::Served;
use super::{Carried, KEY_A, KEY_B, Service, claims, craft_token, fingerprint, now};
use crate::helpers::{API_KEY, MediaList, read_json, wait_until};
use crate::images;

/// What the audit line of a request must say.
struct Expected {
    request_id: String,
    method: &'static str,
    route: &'static str,
    status: u16,
    credential: &'static str,
    fingerprint: String,
    accepted: bool,
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Method and route (the pattern, not the path) of the protected calls.
const MINT: (&str, &str) = ("POST", "/v1/upload-tokens");
const UPLOAD: (&str, &str) = ("POST", "/v1/media");
const MAP: (&str, &str) = ("POST", "/v1/media/map");
const SIGN: (&str, &str) = ("POST", "/v1/media/{id}/signed-urls");
const DELETE: (&str, &str) = ("DELETE", "/v1/media/{id}");

#[tokio::test]
async fn protected_calls_are_logged_once_with_the_fingerprint_never_the_secret() {
    let served = Served::start(&[("UPLOAD_AUTH", "token"), ("SIGNING_KEYS", KEY_A)]).await;
    let app = &served;
    let mut expected = Vec::new();
    let mut unaudited = Vec::new();
    let mut expect = |response: &reqwest::Response,
                      (method, route): (&'static str, &'static str),
                      credential,
                      presented: Option<&str>,
                      accepted| {
        expected.push(Expected {
            request_id: request_id(response),
            method,
            route,
            status: response.status().as_u16(),
            credential,
            fingerprint: presented.map_or("none".to_owned(), fingerprint),
            accepted,
        });
    };

    let wrong_key = "wrong-key-not-the-api-key-0123";
    let minted = app.request_token(Some("{}"), Some(API_KEY)).await;
    expect(&minted, MINT, "api key", Some(API_KEY), true);
    let token = minted.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app.request_token(None, Some(wrong_key)).await;
    expect(&response, MINT, "api key", Some(wrong_key), false);
    let response = app.request_token(None, None).await;
    expect(&response, MINT, "api key", None, false);

    let forged = craft_token(KEY_A, KEY_B, &claims(now() + 600));
    let mut media = None;
    for (token, how, accepted) in [
        (Some(token.as_str()), Carried::Header, true),
        (Some(token.as_str()), Carried::Query, true),
        (Some(forged.as_str()), Carried::Header, false),
        (None, Carried::Header, false),
    ] {
        let response = app.upload_with(vec![images::png(4, 4)], token, how).await;
        assert_eq!(response.status().is_success(), accepted);
        expect(&response, UPLOAD, "upload token", token, accepted);
        if accepted {
            media = Some(read_json::<MediaList>(response).await.files.remove(0));
        }
    }
    let media = media.unwrap();

    let with_key = |method: reqwest::Method, path: &str| {
        app.http()
            .request(method, app.at(path))
            .bearer_auth(API_KEY)
    };
    let map = json!({"owner": "user-1", "files": [{"id": media.id}]});
    let response = with_key(reqwest::Method::POST, "/v1/media/map")
        .json(&map)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    expect(&response, MAP, "api key", Some(API_KEY), true);
    let signing = format!("/v1/media/{}/signed-urls", media.id);
    let response = with_key(reqwest::Method::POST, &signing)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    expect(&response, SIGN, "api key", Some(API_KEY), true);
    for path in [media.url.clone(), media.info_path(), "/healthz".to_owned()] {
        let response = app.http().get(app.at(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        unaudited.push(request_id(&response));
    }
    let deleting = format!("/v1/media/{}", media.id);
    let response = with_key(reqwest::Method::DELETE, &deleting)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    expect(&response, DELETE, "api key", Some(API_KEY), true);

    let count = expected.len();
    wait_until("every audit line is written", || async {
        served.audit_lines().len() >= count
    })
    .await;
    let lines = served.audit_lines();
    assert_eq!(
        lines.len(),
        count,
        "one line per protected call: {lines:#?}"
    );
    for want in &expected {
        let mine: Vec<&Value> = lines
            .iter()
            .filter(|l| l["request_id"] == want.request_id.as_str())
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "one line for {}: {lines:#?}",
            want.request_id
        );
        let line = mine[0];
        let got = (
            &line["method"],
            &line["route"],
            &line["status"],
            &line["credential"],
        );
        let wanted = (
            &json!(want.method),
            &json!(want.route),
            &json!(want.status),
            &json!(want.credential),
        );
        assert_eq!(got, wanted, "{line}");
        assert_eq!(line["key_fingerprint"], want.fingerprint.as_str(), "{line}");
        assert_eq!(line["accepted"], want.accepted, "{line}");
    }
    for id in &unaudited {
        assert!(
            !lines.iter().any(|l| l["request_id"] == id.as_str()),
            "{id} is not protected"
        );
    }
    let (stdout, stderr) = (served.log("stdout.log"), served.log("stderr.log"));
    for secret in [API_KEY, wrong_key, &token, &forged, KEY_A] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} was logged"
        );
    }
    // Nor the signature part of a token, which is what makes it a credential.
    let tag = token.rsplit('.').next().unwrap();
    assert!(!stdout.contains(tag) && !stderr.contains(tag));
}

/// Uploads are open and there are no SIGNING_KEYS: an upload without a token needs no
/// credential and is not logged, but one that presents a token (refused: nothing can check it)
/// presented a credential, and is.
#[tokio::test]
async fn a_token_presented_to_a_server_without_signing_keys_is_logged() {
    let served = Served::start(&[]).await;
    let open = served
        .upload_with(vec![images::png(4, 4)], None, Carried::Header)
        .await;
    assert_eq!(open.status(), 201);
    let token = craft_token(KEY_A, KEY_A, &claims(now() + 600));
    let presented = served.upload_with_token(images::png(4, 4), &token).await;
    assert_eq!(presented.status(), 401);
    // Audited whatever else happens, and written after the others: a marker.
    let marker = served.request_token(None, None).await;
    assert_eq!(marker.status(), 401);
    let marker = request_id(&marker);
    wait_until("the marker's audit line is written", || async {
        served
            .audit_lines()
            .iter()
            .any(|l| l["request_id"] == marker.as_str())
    })
    .await;
    let lines = served.audit_lines();
    assert!(
        !lines
            .iter()
            .any(|l| l["request_id"] == request_id(&open).as_str()),
        "an open upload without a token is not a protected call: {lines:#?}"
    );
    let line = lines
        .iter()
        .find(|l| l["request_id"] == request_id(&presented).as_str())
        .unwrap_or_else(|| panic!("no audit line for the presented token: {lines:#?}"));
    assert_eq!(line["credential"], "upload token", "{line}");
    assert_eq!(
        line["key_fingerprint"],
        fingerprint(&token).as_str(),
        "{line}"
    );
    assert_eq!(line["accepted"], false, "{line}");
    assert_eq!(line["status"], 401, "{line}");
    assert!(!served.log("stdout.log").contains(&token));
}
