//! Hook health (auto-disable): each recorded attempt is folded through the dispatcher's
//! [`HealthRule`] inside the transaction that records it, in the order the attempts were
//! made, so concurrent attempts of one hook (and attempts on several nodes) all count.

use std::collections::HashMap;

use sqlx::FromRow;

use super::{Conn, Db};
use crate::dialect::Dialect;

use super::hooks;
use super::sql::{in_lists, placeholders};
use crate::model::{
    Attempt, GroupId, HealthEffect, HealthRule, HookHealth, HookId, HookOwner, Millis, ProjectId,
};
use crate::{Result, StoreError};

/// The columns of a hook its health is read from (`HEALTH_COLUMNS`).
#[derive(FromRow)]
pub struct HealthRow {
    pub id: HookId,
    pub scope: String,
    pub project_id: Option<ProjectId>,
    pub group_id: Option<GroupId>,
    pub recent_failures: i64,
    pub backoff_count: i64,
    pub disabled_until: Option<Millis>,
    pub permanently_disabled: bool,
}

/// What [`HealthRow`] reads, in its order.
pub const HEALTH_COLUMNS: &str = "id, scope, project_id, group_id, recent_failures, \
     backoff_count, disabled_until, permanently_disabled";

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
pub struct Healths(HashMap<HookId, (HookOwner, HookHealth)>);

impl Healths {
    /// The health of the hooks read.
    pub fn of(rows: impl IntoIterator<Item = HealthRow>) -> Result<Healths> {
        let mut healths = HashMap::new();
        for row in rows {
            healths.insert(row.id, (row.owner()?, row.health()));
        }
        Ok(Healths(healths))
    }

    /// The hooks whose health the attempts change, with their health after them.
    pub fn changes(
        &self,
        attempts: &[&Attempt],
        rule: &dyn HealthRule,
    ) -> Vec<(HookId, HookHealth)> {
        let mut after = self.folded(attempts, rule);
        self.changed_by(&after)
            .into_iter()
            .filter_map(|id| Some((id, after.remove(&id)?)))
            .collect()
    }

    /// One line for the operator per change about to be written.
    pub fn log(&self, changes: &[(HookId, HookHealth)], attempts: &[&Attempt]) {
        for (id, after) in changes {
            if let Some((_, before)) = self.0.get(id) {
                let cause = attempts.iter().rev().find(|a| a.hook_id == *id).copied();
                log_change(*id, before, after, cause);
            }
        }
    }

    /// Whether the hook still exists.
    pub fn contains(&self, hook_id: HookId) -> bool {
        self.0.contains_key(&hook_id)
    }

    /// Each hook's health with the attempts' effects folded in, in the attempts' order.
    fn folded(&self, attempts: &[&Attempt], rule: &dyn HealthRule) -> HashMap<HookId, HookHealth> {
        let mut after: HashMap<HookId, HookHealth> = self
            .0
            .iter()
            .map(|(id, (_, health))| (*id, health.clone()))
            .collect();
        for attempt in attempts
            .iter()
            .filter(|a| a.health != HealthEffect::Unchanged)
        {
            // A hook deleted meanwhile has no health left to change.
            if let (Some((owner, _)), Some(health)) = (
                self.0.get(&attempt.hook_id),
                after.get_mut(&attempt.hook_id),
            ) {
                *health = rule.after(*owner, health, attempt.health, attempt.created_at);
            }
        }
        after
    }

    /// The hooks whose health `after` changes.
    fn changed_by(&self, after: &HashMap<HookId, HookHealth>) -> Vec<HookId> {
        after
            .iter()
            .filter(|(id, health)| self.0.get(id).is_some_and(|(_, before)| before != *health))
            .map(|(id, _)| *id)
            .collect()
    }
}

/// Reads the hooks' health; a hook deleted meanwhile is absent. `lock` is the dialect's
/// `KEY_SHARE` (the hooks cannot be deleted under the transaction, and claims of other
/// nodes go on) or its `LOCK` (to change them).
pub async fn load(
    conn: &mut Conn,
    ids: impl Iterator<Item = HookId>,
    lock: &str,
) -> Result<Healths> {
    let mut ids: Vec<HookId> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let mut rows = Vec::with_capacity(ids.len());
    for batch in in_lists(&ids) {
        let sql = format!(
            "SELECT {HEALTH_COLUMNS} FROM hooks WHERE id IN ({}) ORDER BY id{lock}",
            placeholders(1, batch.len()),
        );
        let mut query = sqlx::query_as::<_, HealthRow>(&sql);
        for id in batch {
            query = query.bind(id);
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Healths::of(rows)
}

/// Applies the attempts' effects to their hooks' health; writes only what changed.
///
/// `read` was loaded without keeping other nodes' claims off the hooks: most attempts (the
/// successes of a healthy hook) change nothing. Where writes run side by side (PostgreSQL),
/// those that do are folded again into the health read locked, which another node may have
/// changed meanwhile: two nodes folding attempts of one hook take turns instead of losing
/// one another's counts. (A success that found its hook healthy counts as having come
/// before a failure another node records at the same moment.) With one writer at a time
/// (SQLite), `read` is still current.
pub async fn apply(
    conn: &mut Conn,
    attempts: &[&Attempt],
    rule: &dyn HealthRule,
    read: Healths,
) -> Result<()> {
    let changing = read.changes(attempts, rule);
    if changing.is_empty() {
        return Ok(());
    }
    if Db::WRITES_SIDE_BY_SIDE {
        let ids = changing.into_iter().map(|(id, _)| id);
        return apply_locked(conn, attempts, rule, ids).await;
    }
    write(conn, &read, changing, attempts).await
}

/// Folds the attempts into the health of the hooks `ids` read locked (another node may
/// have changed it since it was read), and writes what changed.
pub async fn apply_locked(
    conn: &mut Conn,
    attempts: &[&Attempt],
    rule: &dyn HealthRule,
    ids: impl Iterator<Item = HookId>,
) -> Result<()> {
    let locked = load(conn, ids, Db::LOCK).await?;
    let changes = locked.changes(attempts, rule);
    write(conn, &locked, changes, attempts).await
}

/// Writes the changes to health `current` that `attempts` make, logging each.
async fn write(
    conn: &mut Conn,
    current: &Healths,
    changes: Vec<(HookId, HookHealth)>,
    attempts: &[&Attempt],
) -> Result<()> {
    current.log(&changes, attempts);
    for (id, health) in changes {
        hooks::set_health(conn, id, &health).await?;
    }
    Ok(())
}

/// One line for the operator when attempts change whether a hook is sent to. Logged here,
/// the one place that has the health before and after and the attempt that changed it
/// (the dispatcher sees attempts but not the health the rule makes of them).
fn log_change(hook: HookId, before: &HookHealth, after: &HookHealth, cause: Option<&Attempt>) {
    let last = cause.map_or_else(String::new, |attempt| {
        match (attempt.response_status, &attempt.internal_error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        }
    });
    let failures = after.recent_failures;
    if after.permanently_disabled && !before.permanently_disabled {
        tracing::warn!(hook = hook.0, %last, failures, "hook disabled for good: too many failures in a row");
    } else if let Some(until) = after
        .disabled_until
        .filter(|_| after.disabled_until != before.disabled_until)
    {
        // From the last attempt, rounded up: the pause began at the one that crossed the
        // threshold, at most as late.
        let seconds = cause.map_or(0, |attempt| {
            let pause = until.saturating_duration_since(attempt.created_at);
            pause.as_millis().div_ceil(1000)
        });
        tracing::warn!(hook = hook.0, %last, failures, until_unix_ms = until.0, "hook temporarily disabled for {seconds}s");
    } else if after.disabled_until.is_none()
        && !after.permanently_disabled
        && (before.disabled_until.is_some() || before.permanently_disabled)
    {
        tracing::info!(hook = hook.0, "hook enabled again by a successful attempt");
    }
}
