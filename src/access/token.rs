//! Upload tokens: `v1.<key id>.<claims>.<tag>`, the claims compact JSON and both base64url.
//! Stateless: the server keeps nothing per token, it checks the tag and the expiry. The token
//! id counts the files a token stored, in the records.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{SigningKeys, unix_now};

const VERSION: &str = "v1";
/// Signed before the token's text, so no other signature of these keys can pass as a token.
const PURPOSE: &[u8] = b"mediastore upload token v1\n";
/// Far above a real token (about 200 characters); longer input is refused before any work.
const MAX_TOKEN_CHARS: usize = 2048;

/// What a token allows. Short field names keep the token short in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadClaims {
    /// The token's id: the files it stored are counted under it.
    #[serde(rename = "jti")]
    pub id: Uuid,
    /// Unix seconds after which the token is refused.
    #[serde(rename = "exp")]
    pub expires_at: i64,
    /// The only owner its files may be mapped to.
    #[serde(rename = "own", default, skip_serializing_if = "Option::is_none")]
    pub owner_hint: Option<String>,
    /// How many files it may store, over all its uploads.
    #[serde(rename = "mf", default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u32>,
    /// How large each file may be.
    #[serde(rename = "mb", default, skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the upload token is malformed")]
    Malformed,
    #[error("the upload token was signed with a key this server does not have")]
    UnknownKey,
    #[error("the upload token's signature is wrong")]
    BadSignature,
    #[error("the upload token expired at {expired_at} (unix seconds)")]
    Expired { expired_at: i64 },
}

/// A token whose signature and expiry were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadToken {
    pub claims: UploadClaims,
}

impl UploadToken {
    /// The token text for `claims`, signed with the first key.
    pub fn mint(keys: &SigningKeys, claims: &UploadClaims) -> String {
        let key = keys.signer();
        let payload = BASE64URL.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signed = format!("{VERSION}.{}.{payload}", key.id());
        let tag = BASE64URL.encode(key.sign(&[PURPOSE, signed.as_bytes()]));
        format!("{signed}.{tag}")
    }

    /// Checks `text` at the current time.
    pub fn verify(keys: &SigningKeys, text: &str) -> Result<Self, TokenError> {
        Self::verify_at(keys, text, unix_now())
    }

    /// The claims are decoded only once the tag is right: unauthenticated bytes are never
    /// parsed as JSON.
    pub fn verify_at(keys: &SigningKeys, text: &str, now: i64) -> Result<Self, TokenError> {
        if text.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Malformed);
        }
        let (signed, tag) = text.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = signed.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(payload)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let tag = BASE64URL.decode(tag).map_err(|_| TokenError::Malformed)?;
        let key = keys.by_id(key_id).ok_or(TokenError::UnknownKey)?;
        if !key.verifies(&[PURPOSE, signed.as_bytes()], &tag) {
            return Err(TokenError::BadSignature);
        }
        let claims: UploadClaims = BASE64URL
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.expires_at <= now {
            return Err(TokenError::Expired {
                expired_at: claims.expires_at,
            });
        }
        Ok(Self { claims })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::SigningKey;

    fn keys(secrets: &[&str]) -> SigningKeys {
        SigningKeys::new(secrets.iter().map(SigningKey::new).collect()).unwrap()
    }

    fn claims(expires_at: i64) -> UploadClaims {
        UploadClaims {
            id: Uuid::new_v4(),
            expires_at,
            owner_hint: Some("user-42".into()),
            max_files: Some(3),
            max_file_bytes: None,
        }
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims_until_it_expires() {
        let keys = keys(&["first-secret-0123456789abcdef0123"]);
        let claims = claims(1_000);
        let token = UploadToken::mint(&keys, &claims);
        assert_eq!(
            UploadToken::verify_at(&keys, &token, 999).unwrap().claims,
            claims
        );
        assert_eq!(
            UploadToken::verify_at(&keys, &token, 1_000),
            Err(TokenError::Expired { expired_at: 1_000 })
        );
    }

    #[test]
    fn rotation_keeps_tokens_of_every_listed_key_valid() {
        let old = keys(&["old-secret-0123456789abcdef012345"]);
        let token = UploadToken::mint(&old, &claims(1_000));
        let rotated = keys(&[
            "new-secret-0123456789abcdef012345",
            "old-secret-0123456789abcdef012345",
        ]);
        assert!(UploadToken::verify_at(&rotated, &token, 0).is_ok());
        let dropped = keys(&["new-secret-0123456789abcdef012345"]);
        assert_eq!(
            UploadToken::verify_at(&dropped, &token, 0),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn a_changed_byte_anywhere_is_refused() {
        let keys = keys(&["first-secret-0123456789abcdef0123"]);
        let token = UploadToken::mint(&keys, &claims(1_000));
        for i in 0..token.len() {
            let mut tampered = token.clone().into_bytes();
            tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(
                UploadToken::verify_at(&keys, &tampered, 0).is_err(),
                "byte {i} changed and the token still verified"
            );
        }
    }

    #[test]
    fn garbage_is_malformed() {
        let keys = keys(&["first-secret-0123456789abcdef0123"]);
        for text in ["", ".", "v1..", "v2.a.b.c", "v1.a.b", &"x".repeat(5000)] {
            assert!(UploadToken::verify_at(&keys, text, 0).is_err(), "{text:?}");
        }
    }
}
