//! Signed download URLs (`access::signature`): verifying arbitrary query values, and the
//! signatures this server makes, intact or with one byte of the path, the expiry or the
//! signature changed.
//!
//! Input: a mode byte. Even: the rest is `path\nexpires\nsignature`, which must never verify.
//! Odd: the rest, read by `arbitrary`, gives a path, an expiry, a clock, the signing key and an
//! optional edit; the signature verifies under both keys until it expires (a negative expiry
//! is malformed), never under the other key alone (a key dropped from `SIGNING_KEYS` no longer
//! verifies), and any edit that changes a value makes it fail.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use mediastore::access::signature::verify_at;
use mediastore::access::{SignatureError, SignedPath, SigningKey, SigningKeys};

const FIRST: &str = "fuzz-first-secret-0123456789abcdef";
const SECOND: &str = "fuzz-second-secret-0123456789abcd";

#[derive(Debug, Arbitrary)]
struct Signed {
    path: String,
    expires: i64,
    now: i64,
    second_signs: bool,
    edit: Option<(u8, u16, u8)>,
}

fn keys(order: [&str; 2]) -> SigningKeys {
    keys_of(&order)
}

fn keys_of(secrets: &[&str]) -> SigningKeys {
    SigningKeys::new(secrets.iter().map(SigningKey::new).collect()).expect("a key")
}

fn edit(text: &str, at: u16, byte: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    if bytes.is_empty() {
        bytes.push(byte & 0x7f);
    } else {
        let at = usize::from(at) % bytes.len();
        bytes[at] = byte & 0x7f;
    }
    String::from_utf8_lossy(&bytes).into_owned()
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
        let mut parts = text.splitn(3, '\n');
        let path = parts.next().unwrap_or("");
        let (expires, signature) = (parts.next(), parts.next());
        let verified = verify_at(&verifier, path, expires, signature, i64::MIN);
        assert!(verified.is_err(), "a forged signature verified: {text:?}");
        return;
    }
    let Ok(input) = Signed::arbitrary_take_rest(Unstructured::new(rest)) else {
        return;
    };
    let signer = if input.second_signs {
        keys([SECOND, FIRST])
    } else {
        keys([FIRST, SECOND])
    };
    let signed = SignedPath {
        path: &input.path,
        expires: input.expires,
    };
    let signature = signed.sign(&signer);
    let expires = input.expires.to_string();
    let verified = verify_at(
        &verifier,
        &input.path,
        Some(&expires),
        Some(&signature),
        input.now,
    );
    if input.expires < 0 {
        assert_eq!(verified, Err(SignatureError::Malformed));
    } else if input.expires <= input.now {
        assert_eq!(
            verified,
            Err(SignatureError::Expired {
                expired_at: input.expires
            })
        );
    } else {
        assert_eq!(verified, Ok(()));
    }
    // Once the key that signed is dropped from the list, nothing it signed verifies.
    let other = keys_of(&[if input.second_signs { FIRST } else { SECOND }]);
    let without = verify_at(
        &other,
        &input.path,
        Some(&expires),
        Some(&signature),
        input.now,
    );
    if input.expires < 0 {
        assert_eq!(without, Err(SignatureError::Malformed));
    } else {
        assert_eq!(
            without,
            Err(SignatureError::Invalid),
            "verified without its key"
        );
    }
    let url = signed.signed_url(&signer);
    assert_eq!(
        url,
        format!("{}?expires={expires}&signature={signature}", input.path)
    );

    if let Some((field, at, byte)) = input.edit {
        let (mut path, mut exp, mut sig) = (input.path.clone(), expires.clone(), signature.clone());
        match field % 3 {
            0 => path = edit(&path, at, byte),
            1 => exp = edit(&exp, at, byte),
            _ => sig = edit(&sig, at, byte),
        }
        if (&path, &exp, &sig) != (&input.path, &expires, &signature) {
            let verified = verify_at(&verifier, &path, Some(&exp), Some(&sig), i64::MIN);
            assert!(
                verified.is_err(),
                "{path:?} {exp:?} {sig:?} verified, edited from {:?} {expires:?} {signature:?}",
                input.path
            );
        }
    }
});
