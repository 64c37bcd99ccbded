//! The hot-file cache of downloads (DOWNLOAD_CACHE_BYTES): small stored files and made variants
//! kept in memory as shared, immutable buffers. A hit answers without a system call, a trip to
//! the blocking pool or a copy: the response body is the cached `Bytes` itself.
//!
//! An entry can never be stale, since a stored name is its content; it only has to go when
//! its blob is removed. Eviction (S3-FIFO, by `quick_cache`) keeps the bytes under the bound.

use std::sync::Arc;

use bytes::Bytes;

use super::blob::WHOLE_READ_MAX_BYTES;
use crate::media::{StoredName, VariantName};

pub const CACHE_LOOKUPS: &str = "mediastore_download_cache_lookups_total";

/// Weighs an entry by its bytes (plus its key), so the bound is in bytes.
#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<String, Bytes> for ByBytes {
    fn weight(&self, key: &String, bytes: &Bytes) -> u64 {
        (key.len() + bytes.len()) as u64
    }
}

type Entries = quick_cache::sync::Cache<String, Bytes, ByBytes>;

/// Off unless built with [`HotCache::new`] and a non-zero bound; cheap to clone.
#[derive(Clone, Default)]
pub struct HotCache(Option<Arc<Entries>>);

impl std::fmt::Debug for HotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(entries) => write!(f, "HotCache({} bytes)", entries.weight()),
            None => f.write_str("HotCache(off)"),
        }
    }
}

impl HotCache {
    /// A cache of up to `max_bytes`; none at all for 0.
    pub fn new(max_bytes: u64) -> Self {
        if max_bytes == 0 {
            return Self(None);
        }
        // Sized for files of about 32 KiB on average; the bound is in bytes either way.
        let items = (max_bytes / (32 * 1024)).clamp(16, 1 << 20) as usize;
        Self(Some(Arc::new(Entries::with_weighter(
            items, max_bytes, ByBytes,
        ))))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    pub fn original(&self, name: &StoredName) -> Option<Bytes> {
        self.lookup(name.as_ref())
    }

    pub fn variant(&self, name: &VariantName) -> Option<Bytes> {
        self.0.as_ref()?; // no key to build when the cache is off
        self.lookup(&variant_key(name))
    }

    fn lookup(&self, key: &str) -> Option<Bytes> {
        let found = self.0.as_ref()?.get(key);
        let outcome = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!(CACHE_LOOKUPS, "outcome" => outcome).increment(1);
        found
    }

    /// Keeps a small original (bigger ones are streamed and never cached).
    pub fn keep_original(&self, name: &StoredName, bytes: &Bytes) {
        self.keep(|| name.to_string(), bytes);
    }

    pub fn keep_variant(&self, name: &VariantName, bytes: &Bytes) {
        self.keep(|| variant_key(name), bytes);
    }

    fn keep(&self, key: impl FnOnce() -> String, bytes: &Bytes) {
        if let Some(entries) = &self.0
            && bytes.len() as u64 <= WHOLE_READ_MAX_BYTES
        {
            entries.insert(key(), bytes.clone());
        }
    }

    /// Forgets `name` and every variant of it (they are removed with it).
    pub fn forget(&self, name: &StoredName) {
        let Some(entries) = &self.0 else { return };
        entries.remove(name.as_ref());
        let prefix = format!("{name}/");
        entries.retain(|key, _| !key.starts_with(&prefix));
    }
}

/// `<source>/<file name>`: no original's name contains a `/`.
fn variant_key(name: &VariantName) -> String {
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::ImageFormat;

    fn name(n: u8) -> StoredName {
        StoredName::new(
            &format!("{n:02x}").repeat(20),
            1732262400123,
            ImageFormat::Png,
        )
        .unwrap()
    }

    #[test]
    fn what_is_kept_is_found_and_forgetting_a_source_drops_its_variants() {
        let cache = HotCache::new(1 << 20);
        let (a, b) = (name(1), name(2));
        let bytes = Bytes::from_static(b"\x89PNG...");
        cache.keep_original(&a, &bytes);
        cache.keep_original(&b, &bytes);
        let variant = VariantName::parse(&a, "cover-200x200.webp").unwrap();
        cache.keep_variant(&variant, &bytes);
        assert_eq!(cache.original(&a), Some(bytes.clone()));
        assert_eq!(cache.variant(&variant), Some(bytes.clone()));
        cache.forget(&a);
        assert_eq!(cache.original(&a), None);
        assert_eq!(cache.variant(&variant), None);
        assert_eq!(cache.original(&b), Some(bytes), "another file stays");
    }

    #[test]
    fn the_bound_is_in_bytes_and_big_files_are_not_kept() {
        let cache = HotCache::new(400 * 1024);
        let big = Bytes::from(vec![0; WHOLE_READ_MAX_BYTES as usize + 1]);
        cache.keep_original(&name(1), &big);
        assert_eq!(cache.original(&name(1)), None);
        let small = Bytes::from(vec![0; 100 * 1024]);
        for n in 0..10 {
            cache.keep_original(&name(n), &small);
        }
        let kept = (0..10)
            .filter(|n| cache.original(&name(*n)).is_some())
            .count();
        assert!(
            (1..=4).contains(&kept),
            "{kept} files of 100 KiB in 400 KiB"
        );
    }

    #[test]
    fn a_zero_bound_is_no_cache() {
        let cache = HotCache::new(0);
        cache.keep_original(&name(1), &Bytes::from_static(b"x"));
        assert!(!cache.is_on());
        assert_eq!(cache.original(&name(1)), None);
    }
}
