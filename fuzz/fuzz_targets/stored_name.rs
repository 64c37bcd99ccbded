//! `StoredName::parse`, the only way a name from a URL reaches a path on disk: whatever it
//! accepts has the documented shape, its parts read back without panicking, and it is the
//! name `StoredName::new` makes of those parts. `StoredName::new` on any text as the SHA-1
//! makes a name only of 40 lowercase hex digits, and that name keeps them. A kept variant's
//! file name (`VariantName::parse`, which lists what the store holds beside a source) that is
//! accepted is one path component.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediastore::media::{ImageFormat, StoredName, VariantName};

const SOURCE: &str = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12-1732262400123.jpg";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let unix_ms = 1_732_262_400_123 + i64::from(data.first().copied().unwrap_or(0));
    let format = ImageFormat::ALL[data.len() % 4];
    if let Ok(made) = StoredName::new(text, unix_ms, format) {
        assert!(
            text.len() == 40
                && text
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{text:?} made the name {made}"
        );
        assert_eq!(
            (made.sha1(), made.unix_ms(), made.format()),
            (text, unix_ms, format)
        );
    }

    let source = StoredName::parse(SOURCE).expect("a stored name");
    if let Some(variant) = VariantName::parse(&source, text) {
        assert_eq!(variant.file_name(), text);
        assert!(
            !text.is_empty() && text.is_ascii() && !text.contains(['/', '\\', '\0']),
            "{text:?} is a variant's file name"
        );
        assert!(text != "." && text != "..");
        assert_eq!(variant.source(), &source);
        assert!(text.ends_with(&format!(".{}", variant.format().extension())));
        assert_eq!(variant.to_string(), format!("{SOURCE}/{text}"));
    }

    let Ok(name) = StoredName::parse(text) else {
        return;
    };
    assert_eq!(name.to_string(), text);
    assert_eq!(name.as_ref(), text);
    let (sha1, unix_ms, format) = (name.sha1(), name.unix_ms(), name.format());
    assert_eq!(sha1.len(), 40);
    assert!(
        sha1.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(name.shard(), &sha1[..2]);
    assert!((0..10_000_000_000_000).contains(&unix_ms));
    assert!(text.is_ascii() && !text.contains(['/', '\\']) && !text.contains(".."));
    assert_eq!(text.len(), 55 + format.extension().len());
    let rebuilt = StoredName::new(sha1, unix_ms, format).expect("its parts make a name");
    assert_eq!(rebuilt, name);
    let first = StoredName::candidates(sha1, unix_ms, format)
        .expect("its parts make candidates")
        .next();
    assert_eq!(first.as_ref(), Some(&name));
});
