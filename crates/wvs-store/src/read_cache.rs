//! Reads that every ingested event makes — its project, the groups above it, the hooks that
//! may receive it, the admin token's digest — remembered between requests by a store that
//! is the only writer of its database (SQLite: one node per file).
//!
//! Every write that may change them (anything but the delivery queue's own writes) moves the
//! store's generation on once committed; a remembered read counts only for the generation
//! it was read in. A read is tagged with the generation seen *before* it ran, so a write
//! committing while it runs leaves it stale rather than wrongly fresh. On PostgreSQL other
//! nodes write too, so there the cache is off and every read goes to the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Result;
use crate::model::{Group, Hook, Id, Project};

/// Entries one kind keeps at most; past that, the stale ones go (or all, if none is).
const MAX_ENTRIES: usize = 4096;

pub struct ReadCache {
    enabled: bool,
    generation: AtomicU64,
    projects: Memo<Id, Option<Project>>,
    ancestries: Memo<Id, Vec<Group>>,
    candidates: Memo<(Option<Id>, Vec<Id>), Vec<Hook>>,
    settings: Memo<String, Option<String>>,
}

impl ReadCache {
    /// A cache for a store that is its database's only writer.
    pub fn only_writer() -> ReadCache {
        ReadCache::new(true)
    }

    /// No cache: other processes write to the database too.
    pub fn off() -> ReadCache {
        ReadCache::new(false)
    }

    fn new(enabled: bool) -> ReadCache {
        ReadCache {
            enabled,
            generation: AtomicU64::new(0),
            projects: Memo::default(),
            ancestries: Memo::default(),
            candidates: Memo::default(),
            settings: Memo::default(),
        }
    }

    /// Forgets everything read so far; called after every committed write that may change it.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub async fn project(
        &self,
        id: Id,
        read: impl Future<Output = Result<Option<Project>>>,
    ) -> Result<Option<Project>> {
        self.through(&self.projects, id, read).await
    }

    pub async fn ancestry(
        &self,
        group_id: Id,
        read: impl Future<Output = Result<Vec<Group>>>,
    ) -> Result<Vec<Group>> {
        self.through(&self.ancestries, group_id, read).await
    }

    pub async fn candidates(
        &self,
        project_id: Option<Id>,
        group_ids: &[Id],
        read: impl Future<Output = Result<Vec<Hook>>>,
    ) -> Result<Vec<Hook>> {
        self.through(&self.candidates, (project_id, group_ids.to_vec()), read)
            .await
    }

    pub async fn setting(
        &self,
        key: &str,
        read: impl Future<Output = Result<Option<String>>>,
    ) -> Result<Option<String>> {
        self.through(&self.settings, key.to_owned(), read).await
    }

    async fn through<K: Hash + Eq, V: Clone>(
        &self,
        memo: &Memo<K, V>,
        key: K,
        read: impl Future<Output = Result<V>>,
    ) -> Result<V> {
        if !self.enabled {
            return read.await;
        }
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(value) = memo.get(&key, generation) {
            return Ok(value);
        }
        let value = read.await?;
        memo.put(key, generation, value.clone());
        Ok(value)
    }
}

/// One kind of read: each value with the generation it was read in.
struct Memo<K, V> {
    entries: Mutex<HashMap<K, (u64, V)>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    fn get(&self, key: &K, generation: u64) -> Option<V> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        entries
            .get(key)
            .filter(|(read_in, _)| *read_in == generation)
            .map(|(_, value)| value.clone())
    }

    fn put(&self, key: K, generation: u64, value: V) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (read_in, _)| *read_in >= generation);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (generation, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn value(v: u32) -> Result<Option<String>> {
        Ok(Some(v.to_string()))
    }

    #[tokio::test]
    async fn a_read_is_remembered_until_a_write() {
        let cache = ReadCache::only_writer();
        assert_eq!(
            cache.setting("k", value(1)).await.unwrap().as_deref(),
            Some("1")
        );
        assert_eq!(
            cache.setting("k", value(2)).await.unwrap().as_deref(),
            Some("1")
        );
        cache.invalidate();
        assert_eq!(
            cache.setting("k", value(3)).await.unwrap().as_deref(),
            Some("3")
        );
    }

    #[tokio::test]
    async fn a_read_overtaken_by_a_write_is_not_remembered() {
        let cache = ReadCache::only_writer();
        let read = async {
            // A write commits while this read runs.
            cache.invalidate();
            value(1).await
        };
        assert_eq!(
            cache.setting("k", read).await.unwrap().as_deref(),
            Some("1")
        );
        assert_eq!(
            cache.setting("k", value(2)).await.unwrap().as_deref(),
            Some("2")
        );
    }

    #[tokio::test]
    async fn off_always_reads() {
        let cache = ReadCache::off();
        cache.setting("k", value(1)).await.unwrap();
        assert_eq!(
            cache.setting("k", value(2)).await.unwrap().as_deref(),
            Some("2")
        );
    }

    #[tokio::test]
    async fn errors_are_not_remembered() {
        let cache = ReadCache::only_writer();
        let failed = async { Err(crate::StoreError::NotFound("x")) };
        assert!(cache.setting("k", failed).await.is_err());
        assert_eq!(
            cache.setting("k", value(2)).await.unwrap().as_deref(),
            Some("2")
        );
    }
}
