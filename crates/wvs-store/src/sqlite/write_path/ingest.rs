//! An ingest batch: its events and their deliveries, in the writer's transaction.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};

use super::super::payload::{self, PART};
use super::super::queue::{FirstUse, Plan, routed_hooks};
use super::super::sql::count;
use super::{due_by, json_ids};
use crate::group_commit::Pending;
use crate::model::{EventId, HookId, Inserted, Millis, RateKey};
use crate::{Result, StoreError};

/// Stores a group commit's events with their deliveries (see `queue::insert_events`, whose
/// rules these are); each event's outcome, in the batch's order.
pub fn insert_events(tx: &Transaction<'_>, batch: &[Pending]) -> Result<Vec<Result<Inserted>>> {
    let stored = stored_by_key(tx, batch)?;
    // A hook deleted after routing but before this transaction gets nothing.
    let live = live_hooks(tx, routed_hooks(batch))?;
    let plan = Plan::new(batch, &stored, &live);

    let mut event = tx.prepare_cached(
        "INSERT INTO events (uuid, kind, project_id, group_id, payload, idempotency_key, \
         idempotency_sha256, delivery_count, created_at, chain_uuid) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut delivery = tx.prepare_cached(
        "INSERT INTO deliveries (hook_id, event_header, trigger, idempotency_key, rate_key, \
         event_id, next_attempt_at, updated_at, state, attempts) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 'pending', 0)",
    )?;
    let mut ids = Vec::with_capacity(plan.new.len());
    for row in &plan.new {
        let new = &row.pending.event;
        event
            .execute(params![
                new.uuid,
                new.kind,
                new.project_id,
                new.group_id,
                payload::first(&new.payload),
                new.idempotency.as_ref().map(|i| &i.key),
                new.idempotency.as_ref().map(|i| &i.body_sha256),
                i64::try_from(row.deliveries.len()).unwrap_or(i64::MAX),
                row.pending.now,
                new.chain_uuid,
            ])
            .map_err(conflict("event"))?;
        let id = EventId(tx.last_insert_rowid());
        store_rest(tx, id, &new.payload)?;
        for d in &row.deliveries {
            delivery.execute(params![
                d.hook_id,
                d.event_header,
                d.trigger,
                d.idempotency_key,
                d.rate_key.as_ref().map(RateKey::to_string),
                id,
                row.pending.now,
            ])?;
        }
        ids.push(id);
    }
    due_by(tx, &due_later(&plan, &live))?;
    Ok(plan.answers(&ids))
}

/// The hooks the new deliveries make due earlier than they are (earliest per hook): a hook
/// already due by then (the rule under load) is left as it is, one statement less.
fn due_later(plan: &Plan<'_>, live: &HashMap<HookId, Option<Millis>>) -> Vec<(HookId, Millis)> {
    plan.due()
        .into_iter()
        .filter(|(hook, at)| {
            live.get(hook)
                .copied()
                .flatten()
                .is_none_or(|next| next > *at)
        })
        .collect()
}

/// The first use of each idempotency key of the batch that an earlier transaction stored.
fn stored_by_key(tx: &Transaction<'_>, batch: &[Pending]) -> Result<HashMap<String, FirstUse>> {
    let mut stored = HashMap::new();
    let mut select = tx.prepare_cached(
        "SELECT id, chain_uuid, delivery_count, idempotency_sha256 FROM events \
         WHERE idempotency_key = ?1",
    )?;
    for pending in batch {
        let Some(idempotency) = &pending.event.idempotency else {
            continue;
        };
        let found = select
            .query_row([&idempotency.key], |row| {
                Ok((
                    row.get::<_, EventId>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()?;
        if let Some((event_id, event_uuid, delivery_count, body_sha256)) = found {
            let inserted = Inserted {
                event_id,
                event_uuid,
                deliveries: count(delivery_count),
                duplicate: true,
            };
            stored.insert(
                idempotency.key.clone(),
                FirstUse {
                    inserted,
                    body_sha256,
                },
            );
        }
    }
    Ok(stored)
}

/// The hooks among `ids` that exist, with their `next_due_at`.
fn live_hooks(
    tx: &Transaction<'_>,
    ids: impl Iterator<Item = HookId>,
) -> Result<HashMap<HookId, Option<Millis>>> {
    let mut select = tx.prepare_cached(
        "SELECT id, next_due_at FROM hooks WHERE id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = select.query_map([json_ids(ids)], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Stores the parts of `payload` after the first (see `payload`).
fn store_rest(tx: &Transaction<'_>, event_id: EventId, payload: &[u8]) -> Result<()> {
    if payload.len() <= PART {
        return Ok(());
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO event_payload_parts (event_id, seq, part) VALUES (?1, ?2, ?3)",
    )?;
    for (seq, part) in payload.chunks(PART).enumerate().skip(1) {
        insert.execute(params![
            event_id,
            i64::try_from(seq).unwrap_or(i64::MAX),
            part
        ])?;
    }
    Ok(())
}

/// Maps a uniqueness violation to [`StoreError::Conflict`]`(what)`; other errors pass.
fn conflict(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation)
            if matches!(
                error.sqlite_error().map(|e| e.extended_code),
                Some(
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                )
            ) =>
        {
            StoreError::Conflict(what)
        }
        _ => StoreError::Sqlite(error),
    }
}
