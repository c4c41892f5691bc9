//! Each hook's top-level namespace, for the claim's shares of the workers.
//!
//! A claim counts what each namespace has in flight and leaves out the hooks of namespaces
//! at their share. Looked up in SQL for every hook in every claim (a path read through the
//! hook's project or group, then cut at its first `/`), that was most of a claim's cost when
//! an event goes to 100 hooks. The namespaces of every hook are read at once instead and
//! kept until the registry or the hooks change: the read cache's generation moves on with
//! every such change (`ReadCache::generation`), and a claim made in a later one reads them
//! again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::Transaction;

use super::claim::tenant_of_hook;
use crate::Result;
use crate::model::HookId;

/// The namespace of each hook.
pub type TenantOf = Arc<HashMap<HookId, String>>;

/// Shared by the store and its claims on the writer thread.
#[derive(Clone, Default)]
pub struct Tenants(Arc<Mutex<Known>>);

#[derive(Default)]
struct Known {
    /// The read cache's generation they were read in.
    generation: Option<u64>,
    of: TenantOf,
}

impl Tenants {
    /// Every hook's namespace as of the cache's `generation`, read again if they were read in
    /// another.
    pub fn current(&self, tx: &Transaction<'_>, generation: u64) -> Result<TenantOf> {
        // A plain map replaced whole: still valid if a holder panicked.
        let mut known = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        if known.generation != Some(generation) {
            let mut select =
                tx.prepare_cached(&format!("SELECT id, {} FROM hooks h", tenant_of_hook()))?;
            let of = select
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<HashMap<HookId, String>>>()?;
            *known = Known {
                generation: Some(generation),
                of: Arc::new(of),
            };
        }
        Ok(known.of.clone())
    }
}
