//! Claims on SQLite, held in memory.
//!
//! One process owns a SQLite file (the server's lock on it), so no other node can take a
//! delivery this one claimed: the claim need not be written. A claimed delivery stays
//! `pending` in the file and is held here, with its owner and lease, until its attempt is
//! recorded (which settles it in the file) or its lease runs out. After a crash nothing is
//! held: every delivery not recorded is due again, at once (at-least-once, as a lease that
//! expired on PostgreSQL). A claim then writes nothing to the deliveries, and on the way from
//! an event's acknowledgement to its send there is no commit to wait for.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::model::{DeliveryId, HookId, Millis};

struct Lease {
    hook_id: HookId,
    owner: Arc<str>,
    until: Millis,
    /// When the delivery was due: it is due then again if the lease runs out.
    due: Millis,
}

/// The deliveries held by claims, shared by the writer's jobs and the store's reads.
#[derive(Clone, Default)]
pub struct Leases(Arc<Mutex<Held>>);

#[derive(Default)]
pub struct Held {
    by_delivery: HashMap<DeliveryId, Lease>,
    per_hook: HashMap<HookId, i64>,
}

impl Leases {
    pub fn lock(&self) -> MutexGuard<'_, Held> {
        // Plain maps, updated whole under the lock: still valid if a holder panicked.
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Held {
    /// Deliveries held, per hook.
    pub fn per_hook(&self) -> &HashMap<HookId, i64> {
        &self.per_hook
    }

    /// Deliveries held.
    pub fn count(&self) -> u64 {
        self.by_delivery.len() as u64
    }

    /// The lease that runs out first.
    pub fn first_expiry(&self) -> Option<Millis> {
        self.by_delivery.values().map(|lease| lease.until).min()
    }

    /// The deliveries held.
    pub fn ids(&self) -> HashSet<DeliveryId> {
        self.by_delivery.keys().copied().collect()
    }

    /// The deliveries held once `owner` lets go of its claims among `deliveries`.
    pub fn ids_after(
        &self,
        deliveries: impl Iterator<Item = DeliveryId>,
        owner: &str,
    ) -> HashSet<DeliveryId> {
        let mut ids = self.ids();
        for delivery in deliveries.filter(|d| self.held_by(*d, owner)) {
            ids.remove(&delivery);
        }
        ids
    }

    /// Whether `owner` holds the claim of `delivery`.
    pub fn held_by(&self, delivery: DeliveryId, owner: &str) -> bool {
        self.by_delivery
            .get(&delivery)
            .is_some_and(|lease| &*lease.owner == owner)
    }

    pub fn hold(
        &mut self,
        delivery: DeliveryId,
        hook_id: HookId,
        owner: &Arc<str>,
        until: Millis,
        due: Millis,
    ) {
        let lease = Lease {
            hook_id,
            owner: Arc::clone(owner),
            until,
            due,
        };
        if self.by_delivery.insert(delivery, lease).is_none() {
            *self.per_hook.entry(hook_id).or_default() += 1;
        }
    }

    /// Lets go of `delivery`; its hook, if it was held.
    pub fn release(&mut self, delivery: DeliveryId) -> Option<HookId> {
        let lease = self.by_delivery.remove(&delivery)?;
        if let Some(count) = self.per_hook.get_mut(&lease.hook_id) {
            *count -= 1;
            if *count <= 0 {
                self.per_hook.remove(&lease.hook_id);
            }
        }
        Some(lease.hook_id)
    }

    /// Lets go of every lease that ran out before `now`: (hook, when it was due) each.
    pub fn expire(&mut self, now: Millis) -> Vec<(HookId, Millis)> {
        let expired: Vec<(DeliveryId, Millis)> = self
            .by_delivery
            .iter()
            .filter(|(_, lease)| lease.until < now)
            .map(|(id, lease)| (*id, lease.due))
            .collect();
        expired
            .into_iter()
            .filter_map(|(delivery, due)| Some((self.release(delivery)?, due)))
            .collect()
    }

    /// The deliveries `owner` holds.
    pub fn held_by_owner(&self, owner: &str) -> Vec<DeliveryId> {
        self.by_delivery
            .iter()
            .filter(|(_, lease)| &*lease.owner == owner)
            .map(|(id, _)| *id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_holds_releases_and_expiry() {
        let leases = Leases::default();
        let mut held = leases.lock();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let (d, h, t) = (DeliveryId, HookId, Millis);
        held.hold(d(1), h(10), &a, t(5_000), t(100));
        held.hold(d(2), h(10), &b, t(9_000), t(200));
        held.hold(d(3), h(11), &a, t(9_000), t(300));
        assert_eq!(held.per_hook()[&h(10)], 2);
        assert_eq!(held.first_expiry(), Some(t(5_000)));
        assert!(held.held_by(d(1), "a") && !held.held_by(d(1), "b"));
        assert_eq!(held.expire(t(5_001)), vec![(h(10), t(100))]);
        assert_eq!(held.per_hook()[&h(10)], 1);
        assert_eq!(held.held_by_owner("a"), vec![d(3)]);
        assert_eq!(held.release(d(2)), Some(h(10)));
        assert_eq!(held.release(d(3)), Some(h(11)));
        assert_eq!(held.release(d(3)), None);
        assert_eq!(held.count(), 0);
        assert!(held.per_hook().is_empty());
    }
}
