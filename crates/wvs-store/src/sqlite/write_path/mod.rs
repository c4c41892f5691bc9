//! The queue's three hot write transactions (an ingest batch, a claim, a record), written
//! for SQLite's writer thread (`rusqlite`, see `writer`): the same statements and rules as
//! their query-module versions (PostgreSQL's), but run on the connection's own thread, one
//! row per statement, each statement prepared once. The decisions that need no database
//! (an ingest's answers, a claim's promises, the rate limit's split, health folding) are the
//! query modules' own, shared.
//!
//! Lists of ids travel as one JSON array (`IN (SELECT value FROM json_each(?))`): one
//! statement shape for any length.

pub mod claim;
pub mod ingest;
pub mod record;

use rusqlite::{Transaction, params};

use crate::Result;
use crate::model::{DeliveryId, HookId, Millis};

/// A JSON array of `ids`, for `json_each`.
fn json_ids<T: std::fmt::Display>(ids: impl IntoIterator<Item = T>) -> String {
    let list: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    format!("[{}]", list.join(","))
}

/// Brings each hook's `next_due_at` forward to `at` (or the end of a temporary disable, if
/// later); never later than it is, never for a permanently disabled hook.
fn due_by(tx: &Transaction<'_>, due: &[(HookId, Millis)]) -> Result<()> {
    let mut update = tx.prepare_cached(
        "UPDATE hooks SET next_due_at = CASE WHEN disabled_until > ?2 THEN disabled_until \
         ELSE ?2 END WHERE id = ?1 AND NOT permanently_disabled \
         AND (next_due_at IS NULL OR next_due_at > \
              CASE WHEN disabled_until > ?2 THEN disabled_until ELSE ?2 END)",
    )?;
    for (id, at) in due {
        update.execute(params![id, at])?;
    }
    Ok(())
}

/// Sets each hook's `next_due_at` to when its next delivery is due (an ordered hook: its
/// oldest pending one), not before a temporary disable ends; NULL without pending work or
/// when permanently disabled. The deliveries `held` (in flight, still pending in the file)
/// do not count. A hook whose time does not change is not written (a claim that changes
/// nothing then commits nothing to sync).
fn reschedule(
    tx: &Transaction<'_>,
    ids: &[HookId],
    held: impl IntoIterator<Item = DeliveryId>,
) -> Result<()> {
    let mut update = tx.prepare_cached(
        "WITH held(id) AS (SELECT value FROM json_each(?2)) \
         UPDATE hooks SET next_due_at = p.next FROM \
         (SELECT CASE WHEN permanently_disabled THEN NULL \
                 WHEN disabled_until > due THEN disabled_until ELSE due END AS next \
          FROM (SELECT h.permanently_disabled, h.disabled_until, CASE WHEN h.ordered THEN \
                  (SELECT next_attempt_at FROM deliveries d \
                   WHERE d.hook_id = h.id AND d.state = 'pending' AND d.id NOT IN held \
                   ORDER BY d.id LIMIT 1) \
                ELSE (SELECT min(next_attempt_at) FROM deliveries d \
                   WHERE d.hook_id = h.id AND d.state = 'pending' AND d.id NOT IN held) \
                END AS due \
                FROM hooks h WHERE h.id = ?1)) AS p \
         WHERE hooks.id = ?1 AND hooks.next_due_at IS NOT p.next",
    )?;
    let held = json_ids(held);
    for id in ids {
        update.execute(params![id, held])?;
    }
    Ok(())
}
