//! Media id → stored name, in memory. A record's name never changes, so after its first
//! download by id, later ones skip the database. Deletes on this instance forget the id; on
//! another instance, a stale entry only names a removed blob, which answers `404` all the same.

use uuid::Uuid;

use crate::media::StoredName;

/// About 120 bytes an entry, so at most about 12 MB.
const ENTRIES: usize = 100_000;

pub struct NameCache(quick_cache::sync::Cache<Uuid, StoredName>);

impl Default for NameCache {
    fn default() -> Self {
        Self(quick_cache::sync::Cache::new(ENTRIES))
    }
}

impl NameCache {
    pub fn get(&self, id: &Uuid) -> Option<StoredName> {
        self.0.get(id)
    }

    pub fn insert(&self, id: Uuid, name: StoredName) {
        self.0.insert(id, name);
    }

    pub fn forget(&self, id: &Uuid) {
        self.0.remove(id);
    }
}
