//! Hook health (auto-disable): each recorded attempt is folded through the dispatcher's
//! [`HealthRule`] inside the transaction that records it, in the order the attempts were
//! made, so concurrent attempts of one hook (and attempts on several nodes) all count.

use std::collections::HashMap;

use sqlx::FromRow;

use super::{Conn, dialect};

use super::hooks;
use super::sql::{batches, placeholders};
use crate::model::{Attempt, HealthEffect, HealthRule, HookHealth, HookOwner, Id};
use crate::{Result, StoreError};

#[derive(FromRow)]
struct HealthRow {
    id: Id,
    scope: String,
    project_id: Option<Id>,
    group_id: Option<Id>,
    recent_failures: i64,
    backoff_count: i64,
    disabled_until: Option<i64>,
    permanently_disabled: bool,
}

impl HealthRow {
    fn owner(&self) -> Result<HookOwner> {
        match (self.scope.as_str(), self.project_id, self.group_id) {
            ("project", Some(id), _) => Ok(HookOwner::Project(id)),
            ("group", _, Some(id)) => Ok(HookOwner::Group(id)),
            ("system", _, _) => Ok(HookOwner::System),
            _ => Err(StoreError::Corrupt("hooks.scope")),
        }
    }

    fn health(&self) -> HookHealth {
        HookHealth {
            recent_failures: self.recent_failures,
            backoff_count: self.backoff_count,
            disabled_until: self.disabled_until,
            permanently_disabled: self.permanently_disabled,
        }
    }
}

/// The health of some hooks, read before attempts are folded into it.
pub struct Healths(HashMap<Id, (HookOwner, HookHealth)>);

impl Healths {
    /// Whether the hook still exists.
    pub fn contains(&self, hook_id: Id) -> bool {
        self.0.contains_key(&hook_id)
    }
}

/// Reads the hooks' health; a hook deleted meanwhile is absent. Locked where recorders run
/// side by side (PostgreSQL): two nodes folding attempts of one hook take turns instead of
/// losing one another's counts, and the hook cannot be deleted under the transaction.
pub async fn load(conn: &mut Conn, ids: impl Iterator<Item = Id>) -> Result<Healths> {
    let mut ids: Vec<Id> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let mut healths = HashMap::with_capacity(ids.len());
    for batch in batches(&ids) {
        let sql = format!(
            "SELECT id, scope, project_id, group_id, recent_failures, backoff_count, \
             disabled_until, permanently_disabled FROM hooks WHERE id IN ({}) ORDER BY id{}",
            placeholders(1, batch.len()),
            dialect::LOCK
        );
        let mut query = sqlx::query_as::<_, HealthRow>(&sql);
        for id in batch {
            query = query.bind(id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            healths.insert(row.id, (row.owner()?, row.health()));
        }
    }
    Ok(Healths(healths))
}

/// Applies the attempts' effects to their hooks' health as `load` read it; writes only what
/// changed.
pub async fn apply(
    conn: &mut Conn,
    attempts: &[&Attempt],
    rule: &dyn HealthRule,
    healths: Healths,
) -> Result<()> {
    let mut hooks_health: HashMap<Id, (HookOwner, HookHealth, HookHealth)> = healths
        .0
        .into_iter()
        .map(|(id, (owner, health))| (id, (owner, health.clone(), health)))
        .collect();
    for attempt in attempts.iter().filter(|a| a.health != HealthEffect::Unchanged) {
        // A hook deleted meanwhile has no health left to change.
        if let Some((owner, _, health)) = hooks_health.get_mut(&attempt.hook_id) {
            *health = rule.after(*owner, health, attempt.health, attempt.created_at);
        }
    }
    for (id, (_, before, after)) in hooks_health {
        if before != after {
            hooks::set_health(conn, id, &after).await?;
        }
    }
    Ok(())
}
