//! Signed download URLs: `?expires=<unix seconds>&signature=<base64url HMAC-SHA256>` over the
//! path and the expiry. Any listed key verifies (no key id in the URL keeps it short).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;

use super::{SigningKeys, unix_now};

/// Signed before the path, so no other signature of these keys can pass as a download's.
const PURPOSE: &[u8] = b"mediastore download v1\n";
/// An HMAC-SHA256 tag, base64url without padding.
const SIGNATURE_CHARS: usize = 43;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("this download needs a signed URL (`expires` and `signature` query parameters)")]
    Missing,
    #[error("the URL's `expires` or `signature` is malformed")]
    Malformed,
    #[error("the URL's signature is wrong for this path and expiry")]
    Invalid,
    #[error("the signed URL expired at {expired_at} (unix seconds)")]
    Expired { expired_at: i64 },
}

/// A download path and the moment its signature stops being accepted.
#[derive(Debug, Clone, Copy)]
pub struct SignedPath<'a> {
    pub path: &'a str,
    pub expires: i64,
}

impl SignedPath<'_> {
    /// The `signature` parameter for this path and expiry, with the first key.
    pub fn sign(&self, keys: &SigningKeys) -> String {
        let expires = self.expires.to_string();
        BASE64URL.encode(keys.signer().sign(&self.message(&expires)))
    }

    /// `path?expires=…&signature=…`.
    pub fn signed_url(&self, keys: &SigningKeys) -> String {
        format!(
            "{}?expires={}&signature={}",
            self.path,
            self.expires,
            self.sign(keys)
        )
    }

    fn message<'m>(&'m self, expires: &'m str) -> [&'m [u8]; 4] {
        [PURPOSE, self.path.as_bytes(), b"\n", expires.as_bytes()]
    }
}

/// Checks the query parameters of a download of `path` at the current time.
pub fn verify(
    keys: &SigningKeys,
    path: &str,
    expires: Option<&str>,
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    verify_at(keys, path, expires, signature, unix_now())
}

/// The signature is checked before the expiry, so "expired" is only ever said of a URL this
/// server signed.
pub fn verify_at(
    keys: &SigningKeys,
    path: &str,
    expires: Option<&str>,
    signature: Option<&str>,
    now: i64,
) -> Result<(), SignatureError> {
    let (Some(expires_text), Some(signature)) = (expires, signature) else {
        return Err(SignatureError::Missing);
    };
    // Digits only: `+5` or ` 5` would sign one text and mean the same number.
    if expires_text.is_empty()
        || expires_text.len() > 19
        || !expires_text.bytes().all(|b| b.is_ascii_digit())
        || signature.len() != SIGNATURE_CHARS
    {
        return Err(SignatureError::Malformed);
    }
    let expires: i64 = expires_text
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    let tag = BASE64URL
        .decode(signature)
        .map_err(|_| SignatureError::Malformed)?;
    let signed = SignedPath { path, expires };
    let message = signed.message(expires_text);
    // Every key is tried, so the time taken does not say which key, if any, came close.
    let valid = keys
        .all()
        .iter()
        .fold(false, |valid, key| key.verifies(&message, &tag) | valid);
    if !valid {
        return Err(SignatureError::Invalid);
    }
    if expires <= now {
        return Err(SignatureError::Expired {
            expired_at: expires,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::SigningKey;

    fn keys(secrets: &[&str]) -> SigningKeys {
        SigningKeys::new(secrets.iter().map(SigningKey::new).collect()).unwrap()
    }

    const PATH: &str = "/v1/files/ab/abcdef.jpg";

    #[test]
    fn a_signature_holds_for_its_path_until_its_expiry() {
        let keys = keys(&["download-secret-0123456789abcdef0"]);
        let signature = SignedPath {
            path: PATH,
            expires: 100,
        }
        .sign(&keys);
        assert_eq!(
            verify_at(&keys, PATH, Some("100"), Some(&signature), 99),
            Ok(())
        );
        assert_eq!(
            verify_at(&keys, PATH, Some("100"), Some(&signature), 100),
            Err(SignatureError::Expired { expired_at: 100 })
        );
        assert_eq!(
            verify_at(
                &keys,
                "/v1/files/ab/other.jpg",
                Some("100"),
                Some(&signature),
                0
            ),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_at(&keys, PATH, Some("101"), Some(&signature), 0),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn the_same_number_written_differently_is_refused() {
        let keys = keys(&["download-secret-0123456789abcdef0"]);
        let signature = SignedPath {
            path: PATH,
            expires: 100,
        }
        .sign(&keys);
        for expires in ["0100", "+100", " 100", "100 ", ""] {
            assert!(verify_at(&keys, PATH, Some(expires), Some(&signature), 0).is_err());
        }
    }

    #[test]
    fn every_listed_key_verifies_and_only_the_first_signs() {
        let old = keys(&["old-download-secret-0123456789abc"]);
        let rotated = keys(&[
            "new-download-secret-0123456789abc",
            "old-download-secret-0123456789abc",
        ]);
        let by_old = SignedPath {
            path: PATH,
            expires: 100,
        }
        .sign(&old);
        assert_eq!(
            verify_at(&rotated, PATH, Some("100"), Some(&by_old), 0),
            Ok(())
        );
        let by_rotated = SignedPath {
            path: PATH,
            expires: 100,
        }
        .sign(&rotated);
        assert_eq!(
            verify_at(&old, PATH, Some("100"), Some(&by_rotated), 0),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn missing_parameters_are_missing() {
        let keys = keys(&["download-secret-0123456789abcdef0"]);
        assert_eq!(
            verify_at(&keys, PATH, None, Some("x"), 0),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_at(&keys, PATH, Some("1"), None, 0),
            Err(SignatureError::Missing)
        );
    }
}
