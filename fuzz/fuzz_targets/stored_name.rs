//! `StoredName::parse`, the only way a name from a URL reaches a path on disk: whatever it
//! accepts has the documented shape, its parts read back without panicking, and it is the
//! name `StoredName::new` makes of those parts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediastore::media::StoredName;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
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
