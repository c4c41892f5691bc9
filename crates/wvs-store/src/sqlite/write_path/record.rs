//! Recording attempts, in the writer's transaction: the log rows (their request headers as
//! header sets, see `crate::header_sets`), the deliveries' outcomes, then (once the caller
//! folded the attempts into their hooks' health, see `SqliteStore::record`) the health that
//! changed.

use std::collections::{BTreeSet, HashMap, HashSet};

use rusqlite::{OptionalExtension, Transaction, params};

use super::super::health::{HEALTH_COLUMNS, HealthRow, Healths};
use super::super::leases::Leases;
use super::super::queue::{Settled, earliest_per_hook};
use super::super::sql::to_json;
use super::{due_by, json_ids, reschedule};
use crate::header_sets::{KnownSets, Split};
use crate::model::{Attempt, HookHealth, Id};
use crate::{Result, StoreError};

/// The health of the attempts' hooks (a hook deleted meanwhile is absent: its attempts are
/// dropped), the attempts of the others logged and their deliveries settled, if `owner`
/// still holds their claims (the caller lets go of those claims once this commits). Also the
/// header sets it added or found that `known` lacked, for the caller to remember once this
/// commits.
pub fn log_and_settle(
    tx: &Transaction<'_>,
    owner: &str,
    attempts: &[Attempt],
    leases: &Leases,
    known: &KnownSets,
) -> Result<(Healths, NewSets)> {
    let ids: BTreeSet<Id> = attempts.iter().map(|a| a.hook_id).collect();
    let healths = load(tx, ids)?;
    let kept: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| healths.contains(a.hook_id))
        .collect();
    let new_sets = insert(tx, &kept, known)?;
    settle(tx, owner, &kept, leases)?;
    Ok((healths, new_sets))
}

/// Header sets by digest, not yet in [`KnownSets`].
pub type NewSets = HashMap<Vec<u8>, Id>;

/// Writes the hooks' new health (each makes its hook due as its deliveries say, leaving out
/// the deliveries still `held` once this commits).
pub fn apply(tx: &Transaction<'_>, changes: &[(Id, HookHealth)], held: HashSet<Id>) -> Result<()> {
    let mut update = tx.prepare_cached(
        "UPDATE hooks SET recent_failures = ?2, backoff_count = ?3, disabled_until = ?4, \
         permanently_disabled = ?5 WHERE id = ?1",
    )?;
    for (id, health) in changes {
        update.execute(params![
            id,
            health.recent_failures,
            health.backoff_count,
            health.disabled_until,
            health.permanently_disabled,
        ])?;
    }
    let ids: Vec<Id> = changes.iter().map(|(id, _)| *id).collect();
    reschedule(tx, &ids, held)
}

fn load(tx: &Transaction<'_>, ids: BTreeSet<Id>) -> Result<Healths> {
    let mut select = tx.prepare_cached(&format!(
        "SELECT {HEALTH_COLUMNS} FROM hooks WHERE id IN (SELECT value FROM json_each(?1))"
    ))?;
    let rows = select
        .query_map([json_ids(ids)], |row| {
            Ok(HealthRow {
                id: row.get(0)?,
                scope: row.get(1)?,
                project_id: row.get(2)?,
                group_id: row.get(3)?,
                recent_failures: row.get(4)?,
                backoff_count: row.get(5)?,
                disabled_until: row.get(6)?,
                permanently_disabled: row.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Healths::of(rows)
}

/// Writes the attempts' log rows; the header sets not in `known` that they use.
fn insert(tx: &Transaction<'_>, attempts: &[&Attempt], known: &KnownSets) -> Result<NewSets> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO attempts (hook_id, delivery_id, event_id, trigger, url, header_set_id, \
         request_headers, request_body, response_status, response_headers, response_body, \
         execution_duration, internal_error, created_at, rate_limited) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let mut new_sets = NewSets::new();
    for a in attempts {
        let split = Split::of(&a.request_headers)?;
        let header_set = match known.get(&split.digest) {
            Some(id) => id,
            None => match new_sets.get(&split.digest) {
                Some(id) => *id,
                None => {
                    let id = intern(tx, &split)?;
                    new_sets.insert(split.digest, id);
                    id
                }
            },
        };
        let response_headers = to_json(&a.response_headers, "attempts.response_headers")?;
        insert
            .execute(params![
                a.hook_id,
                a.delivery_id,
                a.event_id,
                a.trigger,
                a.url,
                header_set,
                split.values,
                a.request_body,
                a.response_status,
                response_headers,
                a.response_body,
                a.execution_duration,
                a.internal_error,
                a.created_at,
                a.rate_limited,
            ])
            .map_err(
                |error| match error.sqlite_error().map(|e| e.extended_code) {
                    Some(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                        StoreError::NotFound("hook")
                    }
                    _ => StoreError::Sqlite(error),
                },
            )?;
    }
    Ok(new_sets)
}

/// The id of `split`'s set, added if the file has none yet (this thread is its only writer).
fn intern(tx: &Transaction<'_>, split: &Split) -> Result<Id> {
    let found = tx
        .prepare_cached("SELECT id FROM header_sets WHERE digest = ?1")?
        .query_row([&split.digest], |row| row.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    Ok(tx
        .prepare_cached("INSERT INTO header_sets (digest, headers) VALUES (?1, ?2) RETURNING id")?
        .query_row(params![split.digest, split.set], |row| row.get(0))?)
}

/// Applies each attempt's outcome to its delivery, if `owner` still holds the claim; a
/// retry makes its hook due again then.
fn settle(tx: &Transaction<'_>, owner: &str, attempts: &[&Attempt], leases: &Leases) -> Result<()> {
    let Settled { outcomes, retried } = Settled::of(attempts);
    let mut update = tx.prepare_cached(
        "UPDATE deliveries SET state = ?2, next_attempt_at = COALESCE(?3, next_attempt_at), \
         attempts = attempts + 1, updated_at = ?4 WHERE id = ?1 AND state = 'pending'",
    )?;
    let held = leases.lock();
    let theirs = outcomes
        .into_iter()
        .filter(|(delivery, ..)| held.held_by(*delivery, owner));
    for (delivery_id, state, next_attempt_at, at) in theirs {
        update.execute(params![delivery_id, state, next_attempt_at, at])?;
    }
    drop(held);
    due_by(tx, &earliest_per_hook(retried.into_iter()))
}
