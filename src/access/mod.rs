//! Who may upload, who may download, and how fast: the rules, without HTTP.
//!
//! - [`token`]: upload tokens, minted by the platform's backend and carried by the browser;
//! - [`signature`]: signed download URLs;
//! - [`client`]: which address a request comes from, behind trusted proxies;
//! - [`rate_limit`]: per-address request budgets.
//!
//! Tokens and signatures are HMAC-SHA256 under [`SigningKeys`]: the first key signs, every key
//! verifies, so a key is rotated by putting the new one first and dropping the old one once
//! what it signed has expired. Each use has its own prefix in the signed message, so a
//! signature made for one can never pass as the other.

pub mod client;
pub mod rate_limit;
pub mod signature;
pub mod token;

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

pub use client::{ClientAddr, client_addr};
pub use rate_limit::{RateLimit, RateLimiter};
pub use signature::{SignatureError, SignedPath};
pub use token::{TokenError, UploadClaims, UploadToken};

type HmacSha256 = Hmac<Sha256>;

/// The shortest key accepted: 128 bits, as base64 or hex text of at least this many characters.
pub const MIN_KEY_CHARS: usize = 32;

/// One secret key. Never printed, not even in `Debug`.
#[derive(Clone)]
pub struct SigningKey {
    secret: Vec<u8>,
    /// A short, public name of the key (the start of its SHA-256), carried in tokens.
    id: String,
}

impl SigningKey {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        let secret = secret.as_ref().to_vec();
        let id = fingerprint(&secret);
        Self { secret, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
        }
        mac
    }

    fn sign(&self, parts: &[&[u8]]) -> Vec<u8> {
        self.mac(parts).finalize().into_bytes().to_vec()
    }

    /// Constant time: a forger learns nothing from how long the comparison took.
    fn verifies(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.mac(parts).verify_slice(tag).is_ok()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.id)
    }
}

/// `SIGNING_KEYS`: the first signs, all verify.
#[derive(Debug, Clone)]
pub struct SigningKeys(Vec<SigningKey>);

impl SigningKeys {
    /// `None` for an empty list: there is nothing to sign with.
    pub fn new(keys: Vec<SigningKey>) -> Option<Self> {
        (!keys.is_empty()).then_some(Self(keys))
    }

    pub fn signer(&self) -> &SigningKey {
        &self.0[0]
    }

    pub fn by_id(&self, id: &str) -> Option<&SigningKey> {
        self.0.iter().find(|key| key.id == id)
    }

    pub fn all(&self) -> &[SigningKey] {
        &self.0
    }
}

/// A secret's public name: the first 8 bytes of its SHA-256, in hex. Logged instead of the
/// secret (API keys in the audit log, signing keys in tokens).
pub fn fingerprint(secret: &[u8]) -> String {
    hex::encode(&Sha256::digest(secret)[..8])
}

/// Unix seconds of `now`, for expiries.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
