//! Upload tokens (`access::UploadToken`): verifying arbitrary text, and tokens this server
//! minted, intact or with one byte changed.
//!
//! Input: a mode byte. Even: the rest is a token's text, which must never verify (nothing but
//! the keys can sign). Odd: the rest, read by `arbitrary`, gives claims, a clock, the signing
//! key and an optional one-byte edit; the minted token verifies under both keys (rotation) to
//! the same claims until it expires, unless it is over the length limit, names a key that is
//! not there once its key is dropped, and any edit that changes its text makes it fail.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use mediastore::access::{SigningKey, SigningKeys, TokenError, UploadClaims, UploadToken};

const FIRST: &str = "fuzz-first-secret-0123456789abcdef";
const SECOND: &str = "fuzz-second-secret-0123456789abcd";

#[derive(Debug, Arbitrary)]
struct Minted {
    id: u128,
    expires_at: i64,
    owner_hint: Option<String>,
    max_files: Option<u32>,
    max_file_bytes: Option<u64>,
    now: i64,
    second_signs: bool,
    edit: Option<(u16, u8)>,
}

fn keys(order: [&str; 2]) -> SigningKeys {
    keys_of(&order)
}

fn keys_of(secrets: &[&str]) -> SigningKeys {
    SigningKeys::new(secrets.iter().map(SigningKey::new).collect()).expect("a key")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let verifier = keys([FIRST, SECOND]);
    if mode & 1 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let verified = UploadToken::verify_at(&verifier, text, i64::MIN);
        assert!(
            verified.is_err(),
            "a forged token verified: {text:?} -> {verified:?}"
        );
        return;
    }
    let Ok(input) = Minted::arbitrary_take_rest(Unstructured::new(rest)) else {
        return;
    };
    let claims = UploadClaims {
        id: uuid::Uuid::from_u128(input.id),
        expires_at: input.expires_at,
        owner_hint: input.owner_hint,
        max_files: input.max_files,
        max_file_bytes: input.max_file_bytes,
    };
    let signer = if input.second_signs {
        keys([SECOND, FIRST])
    } else {
        keys([FIRST, SECOND])
    };
    let token = UploadToken::mint(&signer, &claims);
    let verified = UploadToken::verify_at(&verifier, &token, input.now);
    if token.len() > 2048 {
        assert_eq!(verified, Err(TokenError::Malformed));
    } else if claims.expires_at <= input.now {
        assert_eq!(
            verified,
            Err(TokenError::Expired {
                expired_at: claims.expires_at
            })
        );
    } else {
        assert_eq!(verified.map(|t| t.claims), Ok(claims.clone()));
    }

    // Once the key that signed is dropped from the list, its tokens name a key not there.
    let other = keys_of(&[if input.second_signs { FIRST } else { SECOND }]);
    let without = UploadToken::verify_at(&other, &token, input.now);
    if token.len() > 2048 {
        assert_eq!(without, Err(TokenError::Malformed));
    } else {
        assert_eq!(
            without,
            Err(TokenError::UnknownKey),
            "verified without its key"
        );
    }
    let parts: Vec<&str> = token.split('.').collect();
    assert!(
        parts.len() == 4 && parts[0] == "v1" && parts[1] == signer.signer().id(),
        "a token not of the form v1.<key id>.<claims>.<tag>: {token:?}"
    );

    if let Some((at, byte)) = input.edit {
        let mut edited = token.clone().into_bytes();
        let at = usize::from(at) % edited.len();
        edited[at] = byte & 0x7f;
        let edited = String::from_utf8(edited).expect("ASCII");
        if edited != token {
            let verified = UploadToken::verify_at(&verifier, &edited, i64::MIN);
            assert!(
                verified.is_err(),
                "byte {at} of {token:?} changed to {:?} and it still verified: {verified:?}",
                char::from(byte & 0x7f)
            );
        }
    }
});
