//! The JSON bodies of the platform's calls: `POST /v1/media/map` (`MapRequest`, read and
//! validated as the handler does, through `mediastore::http::fuzzing::map_request`), and those
//! of `POST /v1/upload-tokens` and `POST /v1/media/{id}/signed-urls`.
//!
//! Checked: what is accepted is a JSON object with only the documented fields, and keeps every
//! rule of SPEC and the schema: an owner of 1 to 200 printable characters, 1 to 100 files each
//! once, at most 20 tags of 1 to 64 printable characters each.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use mediastore::http::fuzzing;
use serde_json::Value;

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
    if token.is_some() {
        let value = value.as_ref().expect("accepted, so it is JSON");
        assert!(
            only_fields(
                value,
                &["owner_hint", "max_files", "max_file_bytes", "expires_in"]
            ),
            "an upload-token request with other fields: {value}"
        );
    }
    if urls.is_some() {
        let value = value.as_ref().expect("accepted, so it is JSON");
        assert!(
            only_fields(value, &["expires_in"]),
            "a signed-urls request with other fields: {value}"
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
    let Ok((owner, items)) = validated else {
        return;
    };
    assert!(printable(&owner, 200), "owner {owner:?}");
    assert_eq!(value["owner"].as_str(), Some(owner.as_str()));
    assert!((1..=100).contains(&items.len()), "{} files", items.len());
    let files = value["files"].as_array().expect("files is an array");
    assert_eq!(files.len(), items.len());
    let mut seen = HashSet::new();
    for (item, file) in items.iter().zip(files) {
        assert!(
            only_fields(file, &["id", "tags"]),
            "a file with other fields: {file}"
        );
        assert!(seen.insert(item.id), "id {} twice", item.id);
        assert!(item.tags.len() <= 20, "{} tags", item.tags.len());
        for tag in &item.tags {
            assert!(printable(tag, 64), "tag {tag:?}");
        }
        assert!(item.placeholder.is_none());
    }
});
