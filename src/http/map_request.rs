//! The body of `POST /v1/media/map` and its rules. Each rule is also in the schema (lengths,
//! counts, the printable-characters pattern), so a generated client never sends a body that
//! looks valid and is refused; a unit test keeps the two in step.

use std::collections::HashSet;

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiError, Result};
use crate::media::MapItem;

pub(super) const MAX_OWNER_CHARS: usize = 200;
const MAX_FILES_PER_MAP: usize = 100;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 64;

/// Maps uploads to their owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")] // the derived reading, wrapped by `object_only!`
pub struct MapRequest {
    /// The platform's user: 1 to 200 printable characters.
    #[schema(
        example = "user-42",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    owner: String,
    #[schema(schema_with = files_schema)]
    files: Vec<MapFile>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
pub struct MapFile {
    id: Uuid,
    /// At most 20 tags of 1 to 64 printable characters; replaces earlier tags.
    #[serde(default)]
    #[schema(schema_with = tags_schema)]
    tags: Vec<String>,
}

/// Reads `$ty` from a JSON object only: serde's derived reading of a struct takes an array of
/// its fields' values as well (`["user-42", [...]]`), which no schema allows.
macro_rules! object_only {
    ($($ty:ident),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                struct Object;
                impl<'de> serde::de::Visitor<'de> for Object {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> std::result::Result<$ty, A::Error> {
                        // The inherent, derived `deserialize` (`remote = "Self"`).
                        $ty::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                deserializer.deserialize_map(Object)
            }
        }
    )*};
}

object_only!(MapRequest, MapFile);

/// The printable-characters rule ([`is_printable`]) as a JSON Schema pattern: no character of
/// Unicode's control category (Cc).
pub(super) const PRINTABLE: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

/// `uniqueItems` catches the same entry twice; the same id with other tags, which no schema
/// can describe, is refused as well.
fn files_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, Ref};
    ArrayBuilder::new()
        .description(Some("1 to 100 files, each id at most once."))
        .items(Ref::from_schema_name("MapFile"))
        .min_items(Some(1))
        .max_items(Some(MAX_FILES_PER_MAP))
        .unique_items(true)
        .build()
}

fn tags_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let tag = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_TAG_CHARS))
        .pattern(Some(PRINTABLE));
    ArrayBuilder::new()
        .description(Some(
            "At most 20 tags of 1 to 64 printable characters; replaces earlier tags.",
        ))
        .items(tag)
        .max_items(Some(MAX_TAGS))
        .examples([serde_json::json!(["cake", "venue"])])
        .build()
}

impl MapRequest {
    /// The owner and items, once every rule holds; `400 malformed_request` naming the first
    /// rule broken otherwise.
    pub fn validated(self) -> Result<(String, Vec<MapItem>)> {
        if !is_printable(&self.owner, MAX_OWNER_CHARS) {
            return Err(ApiError::malformed(format!(
                "`owner` must be 1 to {MAX_OWNER_CHARS} printable characters"
            )));
        }
        if self.files.is_empty() || self.files.len() > MAX_FILES_PER_MAP {
            return Err(ApiError::malformed(format!(
                "`files` must hold 1 to {MAX_FILES_PER_MAP} entries"
            )));
        }
        let mut seen = HashSet::new();
        let mut items = Vec::with_capacity(self.files.len());
        for file in self.files {
            if !seen.insert(file.id) {
                return Err(ApiError::malformed(format!(
                    "id {} appears more than once",
                    file.id
                )));
            }
            if file.tags.len() > MAX_TAGS {
                return Err(ApiError::malformed(format!(
                    "id {}: at most {MAX_TAGS} tags",
                    file.id
                )));
            }
            if !file.tags.iter().all(|t| is_printable(t, MAX_TAG_CHARS)) {
                return Err(ApiError::malformed(format!(
                    "id {}: each tag must be 1 to {MAX_TAG_CHARS} printable characters",
                    file.id
                )));
            }
            items.push(MapItem {
                id: file.id,
                tags: file.tags,
                placeholder: None,
            });
        }
        Ok((self.owner, items))
    }
}

/// 1 to `max` characters, none of them a control character.
pub(super) fn is_printable(text: &str, max: usize) -> bool {
    let chars = text.chars().count();
    (1..=max).contains(&chars) && !text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of<T: ToSchema>() -> serde_json::Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    #[test]
    fn the_schema_states_the_rules_the_handler_enforces() {
        let request = schema_of::<MapRequest>();
        let owner = &request["properties"]["owner"];
        assert_eq!(owner["minLength"], 1);
        assert_eq!(owner["maxLength"], MAX_OWNER_CHARS);
        let files = &request["properties"]["files"];
        assert_eq!(files["minItems"], 1);
        assert_eq!(files["maxItems"], MAX_FILES_PER_MAP);
        assert_eq!(files["uniqueItems"], true);
        assert_eq!(request["additionalProperties"], false);
        let tags = &schema_of::<MapFile>()["properties"]["tags"];
        assert_eq!(tags["maxItems"], MAX_TAGS);
        let tag = &tags["items"];
        assert_eq!(tag["maxLength"], MAX_TAG_CHARS);
        assert_eq!(tag["minLength"], 1);
    }

    #[test]
    fn only_an_object_is_read_as_a_request() {
        let id = "0b0f5b1e-8c4b-4a53-9d2c-3c1f2b0e6a11";
        let object = format!(r#"{{"owner": "user-42", "files": [{{"id": "{id}", "tags": []}}]}}"#);
        assert!(serde_json::from_str::<MapRequest>(&object).is_ok());
        for array in [
            format!(r#"["user-42", [{{"id": "{id}"}}]]"#),
            format!(r#"{{"owner": "user-42", "files": [["{id}", []]]}}"#),
        ] {
            assert!(
                serde_json::from_str::<MapRequest>(&array).is_err(),
                "{array}"
            );
        }
    }

    #[test]
    fn the_printable_pattern_refuses_what_the_handler_refuses() {
        let tags = &schema_of::<MapFile>()["properties"]["tags"];
        assert_eq!(tags["items"]["pattern"], PRINTABLE);
        assert_eq!(
            schema_of::<MapRequest>()["properties"]["owner"]["pattern"],
            PRINTABLE
        );
        // The same class in Rust's regex dialect, against the handler's own rule.
        let same_class = regex::Regex::new(r"^[^\x{0}-\x{1F}\x{7F}-\x{9F}]*$").unwrap();
        for text in [
            "cake",
            "café ☕",
            "a\u{7f}",
            "tab\there",
            "\u{85}",
            "line\n",
        ] {
            let printable = !text.chars().any(char::is_control);
            assert_eq!(same_class.is_match(text), printable, "{text:?}");
            assert_eq!(is_printable(text, MAX_TAG_CHARS), printable, "{text:?}");
        }
    }
}
