//! The JSON bodies of the platform's calls: `POST /v1/media/map` (`MapRequest`, read and
//! validated as the handler does, through `mediastore::http::fuzzing::map_request`), and those
//! of `POST /v1/upload-tokens` and `POST /v1/media/{id}/signed-urls` (read as their handlers
//! do, through `mediastore::http::fuzzing::signing_requests`).
//!
//! Checked: what is accepted is a JSON object with only the documented fields, and keeps every
//! rule of SPEC and the schema: an owner of 1 to 200 printable characters, 1 to 100 files each
//! once, at most 20 tags of 1 to 64 printable characters each; its ids and tags are the ones
//! sent. And a map request that is read but refused does break one of those rules.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use mediastore::http::fuzzing;
use serde_json::Value;
use uuid::Uuid;

fn printable(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.chars().count()) && !text.chars().any(char::is_control)
}

fn only_fields(value: &Value, allowed: &[&str]) -> bool {
    value
        .as_object()
        .is_some_and(|o| o.keys().all(|k| allowed.contains(&k.as_str())))
}

fuzz_target!(|data: &[u8]| {
    let (token, urls) = fuzzing::signing_requests(data);
    let value: Option<Value> = serde_json::from_slice(data).ok();
    // An empty body, or `null`, takes the defaults; anything else must be an object.
    let no_body = data.iter().all(u8::is_ascii_whitespace) || value == Some(Value::Null);
    if token.is_some() && !no_body {
        let value = value.as_ref().expect("accepted, so it is JSON");
        assert!(
            only_fields(
                value,
                &["owner_hint", "max_files", "max_file_bytes", "expires_in"]
            ),
            "an upload-token request with other fields: {value}"
        );
    }
    if urls.is_some() && !no_body {
        let value = value.as_ref().expect("accepted, so it is JSON");
        assert!(
            only_fields(value, &["expires_in"]),
            "a signed-urls request with other fields: {value}"
        );
    }
    if no_body {
        assert!(
            token.is_some() && urls.is_some(),
            "an empty body does not take the defaults"
        );
    }

    let Some(validated) = fuzzing::map_request(data) else {
        return;
    };
    let value = value.expect("accepted, so it is JSON");
    assert!(
        only_fields(&value, &["owner", "files"]),
        "a map request with other fields: {value}"
    );
    let files = value["files"].as_array().expect("files is an array");
    let Ok((owner, items)) = validated else {
        // Refused once read: some rule is broken.
        assert!(
            breaks_a_rule(&value),
            "a map request that keeps every rule was refused: {value}"
        );
        return;
    };
    assert!(printable(&owner, 200), "owner {owner:?}");
    assert_eq!(value["owner"].as_str(), Some(owner.as_str()));
    assert!((1..=100).contains(&items.len()), "{} files", items.len());
    assert_eq!(files.len(), items.len());
    let mut seen = HashSet::new();
    for (item, file) in items.iter().zip(files) {
        assert!(
            only_fields(file, &["id", "tags"]),
            "a file with other fields: {file}"
        );
        assert_eq!(
            file["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()),
            Some(item.id),
            "the id read is not the id sent: {file}"
        );
        assert!(seen.insert(item.id), "id {} twice", item.id);
        assert!(item.tags.len() <= 20, "{} tags", item.tags.len());
        for tag in &item.tags {
            assert!(printable(tag, 64), "tag {tag:?}");
        }
        let sent: Vec<&str> = file
            .get("tags")
            .map(|t| {
                t.as_array()
                    .expect("tags is an array")
                    .iter()
                    .map(|t| t.as_str().expect("each tag is a string"))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(item.tags, sent, "the tags read are not the tags sent");
        assert!(item.placeholder.is_none());
    }
});

/// Whether the map request `value` (JSON that reads as one) breaks a rule of SPEC: owner,
/// files' count, an id twice, a tag too many, too long or not printable.
fn breaks_a_rule(value: &Value) -> bool {
    let owner = value["owner"].as_str().expect("owner is a string");
    let files = value["files"].as_array().expect("files is an array");
    let mut ids = HashSet::new();
    !printable(owner, 200)
        || !(1..=100).contains(&files.len())
        || files.iter().any(|file| {
            let id = file["id"].as_str().and_then(|id| Uuid::parse_str(id).ok());
            let tags = file.get("tags").and_then(Value::as_array);
            !ids.insert(id)
                || tags.is_some_and(|tags| {
                    tags.len() > 20
                        || tags
                            .iter()
                            .any(|t| !t.as_str().is_some_and(|t| printable(t, 64)))
                })
        })
}
