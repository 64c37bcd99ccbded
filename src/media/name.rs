//! Stored names: `<sha1 hex>-<13-digit unix ms>.<ext>`, sharded by their first two characters.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::ImageFormat;

static STORED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9a-f]{40}-[0-9]{13}\.(jpg|png|gif|webp)$").expect("static regex")
});

/// A validated stored name. The only ways in are [`StoredName::new`] and [`StoredName::parse`],
/// so a value of this type is always safe to join onto a directory path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoredName(String);

#[derive(Debug, thiserror::Error)]
#[error("not a stored name")]
pub struct InvalidName;

impl StoredName {
    /// `sha1_hex` must be 40 lowercase hex digits; `unix_ms` must have 13 digits (true from
    /// 2001 to 2286).
    pub fn new(sha1_hex: &str, unix_ms: i64, format: ImageFormat) -> Result<Self, InvalidName> {
        Self::parse(&format!("{sha1_hex}-{unix_ms:013}.{}", format.extension()))
    }

    /// The names an upload of these bytes may take, in the order to try them: its upload time,
    /// then each following millisecond (the same bytes may arrive twice in one millisecond).
    pub fn candidates(
        sha1_hex: &str,
        unix_ms: i64,
        format: ImageFormat,
    ) -> Result<impl Iterator<Item = StoredName> + Send + use<>, InvalidName> {
        let first = Self::new(sha1_hex, unix_ms, format)?;
        let sha1_hex = first.sha1().to_owned();
        // Ends only past the 13-digit milliseconds, in the year 2286.
        Ok((unix_ms..).map_while(move |ms| Self::new(&sha1_hex, ms, format).ok()))
    }

    pub fn parse(candidate: &str) -> Result<Self, InvalidName> {
        if STORED_NAME.is_match(candidate) {
            Ok(Self(candidate.to_owned()))
        } else {
            Err(InvalidName)
        }
    }

    /// The two-character subdirectory the file lives in.
    pub fn shard(&self) -> &str {
        &self.0[..2]
    }

    pub fn sha1(&self) -> &str {
        &self.0[..40]
    }

    pub fn unix_ms(&self) -> i64 {
        self.0[41..54].parse().expect("validated digits")
    }

    pub fn format(&self) -> ImageFormat {
        ImageFormat::from_extension(&self.0[55..]).expect("validated extension")
    }
}

impl AsRef<str> for StoredName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoredName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";

    #[test]
    fn a_new_name_has_the_documented_shape_and_parts() {
        let name = StoredName::new(SHA, 1732262400123, ImageFormat::Jpeg).unwrap();
        assert_eq!(name.as_ref(), format!("{SHA}-1732262400123.jpg"));
        assert_eq!(name.shard(), "2f");
        assert_eq!(name.sha1(), SHA);
        assert_eq!(name.unix_ms(), 1732262400123);
        assert_eq!(name.format(), ImageFormat::Jpeg);
    }

    #[test]
    fn anything_else_is_rejected() {
        for bad in [
            "",
            "../etc/passwd",
            "..%2f..%2fetc%2fpasswd",
            "/etc/passwd",
            &format!("{SHA}-1732262400123.pdf"),
            &format!("{SHA}-1732262400123.JPG"),
            &format!("{}-1732262400123.jpg", SHA.to_uppercase()),
            &format!("{SHA}-173226240012.jpg"),
            &format!("{SHA}-1732262400123.jpg/.."),
            &format!("{SHA}-1732262400123.jpg\n"),
            &format!("..\\{SHA}-1732262400123.jpg"),
        ] {
            assert!(StoredName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn candidates_start_at_the_upload_time_and_take_each_next_millisecond() {
        let names: Vec<String> = StoredName::candidates(SHA, 1732262400123, ImageFormat::Gif)
            .unwrap()
            .take(3)
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names,
            [
                format!("{SHA}-1732262400123.gif"),
                format!("{SHA}-1732262400124.gif"),
                format!("{SHA}-1732262400125.gif"),
            ]
        );
        let last = StoredName::candidates(SHA, 9_999_999_999_999, ImageFormat::Gif).unwrap();
        assert_eq!(last.count(), 1, "no name past 13 digits");
    }

    #[test]
    fn a_short_hash_cannot_make_a_name() {
        assert!(StoredName::new("abc", 1732262400123, ImageFormat::Png).is_err());
    }
}
