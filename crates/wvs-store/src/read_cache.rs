//! Reads that every ingested event makes — its project, the groups above it, the hooks that
//! may receive it, the admin token's digest — remembered between requests.
//!
//! Every write that may change them (anything but the delivery queue's own writes) moves the
//! store's generation on once committed; a remembered read counts only for the generation
//! it was read in. A read is tagged with the generation seen *before* it ran, so a write
//! committing while it runs leaves it stale rather than wrongly fresh.
//!
//! On SQLite the store is its file's only writer and sees every write. On PostgreSQL other
//! nodes write too: each such write notifies every node once committed, and a node's cache
//! is on only while it is listening ([`ReadCache::hearing`]). A node may then route with
//! what it read for the few milliseconds a notification takes, as if the event had come a
//! moment earlier; it never keeps a read once it heard of a later write.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::Result;
use crate::model::{Group, GroupId, Hook, Project, ProjectId};

/// Entries one kind keeps at most; past that, the stale ones go (or all, if none is).
const MAX_ENTRIES: usize = 4096;

/// A project (none for group and system events) and the groups above it.
type Routing = (Option<ProjectId>, Vec<GroupId>);

pub struct ReadCache {
    /// Whether every other writer's changes reach this cache (see [`ReadCache::hearing`]).
    hears_others: AtomicBool,
    generation: AtomicU64,
    projects: Memo<ProjectId, Option<Project>>,
    ancestries: Memo<GroupId, Vec<Group>>,
    /// Shared, not copied, by every event that reads them.
    candidates: Memo<Routing, Arc<[Hook]>>,
    settings: Memo<String, Option<String>>,
}

impl ReadCache {
    /// A cache for a store that is its database's only writer.
    pub fn only_writer() -> ReadCache {
        ReadCache::new(true)
    }

    /// A cache for a store whose database other nodes write too: off until the store says
    /// it hears their writes.
    pub fn shared() -> ReadCache {
        ReadCache::new(false)
    }

    fn new(hears_others: bool) -> ReadCache {
        ReadCache {
            hears_others: AtomicBool::new(hears_others),
            generation: AtomicU64::new(0),
            projects: Memo::default(),
            ancestries: Memo::default(),
            candidates: Memo::default(),
            settings: Memo::default(),
        }
    }

    /// Moves on with every [`invalidate`](ReadCache::invalidate): what was read in another
    /// generation may have changed since.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forgets everything read so far; called after every committed write that may change it.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether the other writers' changes reach this cache (each by an [`invalidate`] call)
    /// from now on. Either way what was read before is forgotten: it may have missed some.
    ///
    /// [`invalidate`]: ReadCache::invalidate
    pub fn hearing(&self, hears: bool) {
        self.invalidate();
        self.hears_others.store(hears, Ordering::Release);
    }

    pub async fn project(
        &self,
        id: ProjectId,
        read: impl Future<Output = Result<Option<Project>>>,
    ) -> Result<Option<Project>> {
        self.through(&self.projects, id, read).await
    }

    pub async fn ancestry(
        &self,
        group_id: GroupId,
        read: impl Future<Output = Result<Vec<Group>>>,
    ) -> Result<Vec<Group>> {
        self.through(&self.ancestries, group_id, read).await
    }

    pub async fn candidates(
        &self,
        project_id: Option<ProjectId>,
        group_ids: &[GroupId],
        read: impl Future<Output = Result<Vec<Hook>>>,
    ) -> Result<Arc<[Hook]>> {
        let read = async { read.await.map(Arc::from) };
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
        if !self.hears_others.load(Ordering::Acquire) {
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
    async fn a_shared_cache_remembers_only_while_it_hears_the_others() {
        let cache = ReadCache::shared();
        cache.setting("k", value(1)).await.unwrap();
        assert_eq!(
            cache.setting("k", value(2)).await.unwrap().as_deref(),
            Some("2")
        );
        cache.hearing(true);
        cache.setting("k", value(3)).await.unwrap();
        assert_eq!(
            cache.setting("k", value(4)).await.unwrap().as_deref(),
            Some("3")
        );
        // Deaf again (its listener lost the database), then hearing: what it read before
        // may have missed a write.
        cache.hearing(false);
        cache.hearing(true);
        assert_eq!(
            cache.setting("k", value(5)).await.unwrap().as_deref(),
            Some("5")
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
