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

/// Applies the attempts' effects to their hooks' health; writes only what changed.
pub async fn apply(conn: &mut Conn, attempts: &[&Attempt], rule: &dyn HealthRule) -> Result<()> {
    let relevant: Vec<&Attempt> = attempts
        .iter()
        .copied()
        .filter(|a| a.health != HealthEffect::Unchanged)
        .collect();
    if relevant.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Id> = relevant.iter().map(|a| a.hook_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut hooks_health: HashMap<Id, (HookOwner, HookHealth, HookHealth)> = HashMap::new();
    for batch in batches(&ids) {
        // Locked where recorders run side by side (PostgreSQL): two nodes folding attempts
        // of one hook take turns instead of losing one another's counts.
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
            let health = row.health();
            hooks_health.insert(row.id, (row.owner()?, health.clone(), health));
        }
    }
    for attempt in relevant {
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
