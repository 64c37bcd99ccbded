//! Media id → stored name, in memory, in front of either database. A record's name never
//! changes, so after the first lookup of an id, downloads by id skip the database. Every
//! delete on this instance (the API's and the sweeper's) goes through here and forgets the
//! id; on another instance a stale entry only names a removed blob, which answers `404` all
//! the same.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DbError, MapError, MediaRecord, MediaRepo};
use crate::media::{MapItem, StoredName};

/// About 120 bytes an entry, so at most about 12 MB.
const ENTRIES: usize = 100_000;

pub struct CachedNames {
    records: Box<dyn MediaRepo>,
    names: quick_cache::sync::Cache<Uuid, StoredName>,
}

impl CachedNames {
    pub fn new(records: Box<dyn MediaRepo>) -> Self {
        Self {
            records,
            names: quick_cache::sync::Cache::new(ENTRIES),
        }
    }
}

#[async_trait]
impl MediaRepo for CachedNames {
    async fn name_of(&self, id: Uuid) -> Result<Option<StoredName>, DbError> {
        if let Some(name) = self.names.get(&id) {
            return Ok(Some(name));
        }
        let name = self.records.name_of(id).await?;
        if let Some(name) = &name {
            self.names.insert(id, name.clone());
        }
        Ok(name)
    }

    async fn delete(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError> {
        let deleted = self.records.delete(id).await?;
        self.names.remove(&id);
        Ok(deleted)
    }

    async fn delete_unmapped_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<MediaRecord>, DbError> {
        let expired = self.records.delete_unmapped_before(cutoff, limit).await?;
        for record in &expired {
            self.names.remove(&record.id);
        }
        Ok(expired)
    }

    // The rest passes straight through.

    async fn migrate(&self) -> Result<(), DbError> {
        self.records.migrate().await
    }

    fn connections_in_use(&self) -> u32 {
        self.records.connections_in_use()
    }

    async fn ping(&self) -> Result<(), DbError> {
        self.records.ping().await
    }

    async fn insert_all(&self, records: &[MediaRecord]) -> Result<(), DbError> {
        self.records.insert_all(records).await
    }

    async fn find(&self, id: Uuid) -> Result<Option<MediaRecord>, DbError> {
        self.records.find(id).await
    }

    async fn map(
        &self,
        owner: &str,
        items: &[MapItem],
        now: DateTime<Utc>,
    ) -> Result<Vec<MediaRecord>, MapError> {
        self.records.map(owner, items, now).await
    }

    async fn existing_names(&self, names: &[String]) -> Result<Vec<String>, DbError> {
        self.records.existing_names(names).await
    }

    async fn names_after(&self, after: &str, limit: i64) -> Result<Vec<String>, DbError> {
        self.records.names_after(after, limit).await
    }
}
