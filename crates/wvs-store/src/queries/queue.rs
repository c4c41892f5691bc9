//! Events and the delivery queue.
//!
//! A delivery is `pending` until claimed; a claim makes it `in_flight` with a lease
//! (`lease_owner`, `lease_expires_at`); the attempt's outcome makes it `succeeded`, `failed`,
//! or `pending` again with a later `next_attempt_at`. A lease that expires (its node died)
//! makes the delivery claimable again by anyone. The payload lives once in `events`.

use std::collections::{HashMap, HashSet};

use sqlx::FromRow;

use super::{Conn, dialect};

use super::hooks;
use super::sql::{batches, conflict, count, tuples};
use crate::model::{
    Attempt, DeliveryCounts, Id, Inserted, Millis, NewDelivery, NewEvent, Outcome, StoredEvent,
};
use crate::group_commit::Pending;
use crate::{Result, StoreError};

/// Stores the event and its deliveries, unless its idempotency key was seen before: then
/// nothing is written and the first event's outcome is returned.
pub async fn insert_event(
    conn: &mut Conn,
    event: &NewEvent,
    deliveries: &[NewDelivery],
    now: Millis,
) -> Result<Inserted> {
    if let Some(key) = &event.idempotency_key {
        let first: Option<(Id, String, i64)> = sqlx::query_as(
            "SELECT id, chain_uuid, delivery_count FROM events WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((event_id, event_uuid, delivery_count)) = first {
            return Ok(Inserted {
                event_id,
                event_uuid,
                deliveries: count(delivery_count),
                duplicate: true,
            });
        }
    }
    // A hook deleted after routing but before this transaction gets nothing: the event is
    // accepted for the others rather than refused for a hook that is gone.
    let live = hooks::lock_existing(conn, deliveries.iter().map(|d| d.hook_id)).await?;
    let deliveries: Vec<&NewDelivery> = deliveries
        .iter()
        .filter(|d| live.contains(&d.hook_id))
        .collect();
    let delivery_count = i64::try_from(deliveries.len()).unwrap_or(i64::MAX);
    let event_id: Id = sqlx::query_scalar(
        "INSERT INTO events (uuid, kind, project_id, group_id, payload, idempotency_key, delivery_count, \
         created_at, chain_uuid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&event.uuid)
    .bind(&event.kind)
    .bind(event.project_id)
    .bind(event.group_id)
    .bind(&event.payload)
    .bind(&event.idempotency_key)
    .bind(delivery_count)
    .bind(now)
    .bind(&event.chain_uuid)
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict("event"))?;
    for batch in batches(&deliveries) {
        // $1 and $2 (event id, now) are shared; five placeholders per row follow.
        let sql = format!(
            "INSERT INTO deliveries (hook_id, event_header, trigger, idempotency_key, rate_key, \
             event_id, next_attempt_at, updated_at, state, attempts) VALUES {}",
            tuples(batch.len(), 5, 3, ", $1, $2, $2, 'pending', 0")
        );
        let mut query = sqlx::query(&sql).bind(event_id).bind(now);
        for delivery in batch {
            query = query
                .bind(delivery.hook_id)
                .bind(&delivery.event_header)
                .bind(&delivery.trigger)
                .bind(&delivery.idempotency_key)
                .bind(&delivery.rate_key);
        }
        query.execute(&mut *conn).await?;
    }
    let due = deliveries.iter().map(|d| (d.hook_id, now));
    hooks::due_by(conn, &earliest_per_hook(due)).await?;
    if !deliveries.is_empty() {
        dialect::work_added(conn).await?;
    }
    Ok(Inserted {
        event_id,
        event_uuid: event.chain_uuid.clone(),
        deliveries: count(delivery_count),
        duplicate: false,
    })
}

/// Stores several events in the caller's transaction (a group commit), in order.
pub async fn insert_events(conn: &mut Conn, batch: &[Pending]) -> Result<Vec<Inserted>> {
    let mut inserted = Vec::with_capacity(batch.len());
    for pending in batch {
        inserted.push(insert_event(conn, &pending.event, &pending.deliveries, pending.now).await?);
    }
    Ok(inserted)
}

#[derive(FromRow)]
struct EventRow {
    id: Id,
    uuid: String,
    kind: String,
    project_id: Option<Id>,
    group_id: Option<Id>,
    payload: Vec<u8>,
    created_at: Millis,
}

/// The newest event of `kind` for the project (or, without one, with no project).
pub async fn latest_event(
    conn: &mut Conn,
    project_id: Option<Id>,
    kind: &str,
) -> Result<Option<StoredEvent>> {
    let query = match project_id {
        Some(project_id) => sqlx::query_as::<_, EventRow>(
            "SELECT id, uuid, kind, project_id, group_id, payload, created_at FROM events \
             WHERE project_id = $2 AND kind = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(kind)
        .bind(project_id),
        None => sqlx::query_as::<_, EventRow>(
            "SELECT id, uuid, kind, project_id, group_id, payload, created_at FROM events \
             WHERE project_id IS NULL AND kind = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(kind),
    };
    Ok(query.fetch_optional(conn).await?.map(|row| StoredEvent {
        id: row.id,
        uuid: row.uuid,
        kind: row.kind,
        project_id: row.project_id,
        group_id: row.group_id,
        payload: row.payload,
        created_at: row.created_at,
    }))
}

/// Applies each attempt's outcome to its delivery, if `owner` still holds the claim: a
/// claim that expired and was taken over belongs to the new owner now. One `UPDATE ... FROM
/// (VALUES ...)` per batch: a statement per delivery would cost a round trip to SQLite's
/// worker thread each. A delivery that goes back to pending makes its hook due again then.
pub async fn settle(conn: &mut Conn, owner: &str, attempts: &[&Attempt]) -> Result<()> {
    // (delivery, state, next attempt, time); one outcome per delivery, the first reported.
    let mut seen = HashSet::new();
    let outcomes: Vec<(Id, &str, Option<Millis>, Millis)> = attempts
        .iter()
        .filter_map(|attempt| {
            let delivery_id = attempt.delivery_id.filter(|id| seen.insert(*id))?;
            let (state, next_attempt_at) = match attempt.outcome {
                Outcome::Succeeded => ("succeeded", None),
                Outcome::RetryAt(at) => ("pending", Some(at)),
                Outcome::Failed => ("failed", None),
            };
            Some((delivery_id, state, next_attempt_at, attempt.created_at))
        })
        .collect();
    let mut retried = Vec::new();
    for batch in batches(&outcomes) {
        // VALUES columns are named column1, column2... in SQLite and PostgreSQL alike.
        let sql = format!(
            "UPDATE deliveries SET state = o.column2, \
             next_attempt_at = COALESCE(o.column3, deliveries.next_attempt_at), \
             attempts = deliveries.attempts + 1, lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = o.column4 \
             FROM (VALUES {}) AS o \
             WHERE deliveries.id = o.column1 AND deliveries.state = 'in_flight' \
             AND deliveries.lease_owner = $1 \
             RETURNING deliveries.hook_id, deliveries.next_attempt_at, deliveries.state",
            tuples(batch.len(), 4, 2, "")
        );
        let mut query = sqlx::query_as::<_, (Id, Millis, String)>(&sql).bind(owner);
        for (delivery_id, state, next_attempt_at, at) in batch {
            query = query
                .bind(delivery_id)
                .bind(*state)
                .bind(next_attempt_at)
                .bind(at);
        }
        let settled = query.fetch_all(&mut *conn).await?;
        retried.extend(
            settled
                .into_iter()
                .filter(|(_, _, state)| state == "pending")
                .map(|(hook_id, at, _)| (hook_id, at)),
        );
    }
    hooks::due_by(conn, &earliest_per_hook(retried.into_iter())).await?;
    // Settled deliveries freed slots and retries are due later: other nodes may claim now.
    dialect::work_added(conn).await
}

/// Every claim of `owner` becomes pending and due at `now`.
pub async fn release_claims(conn: &mut Conn, owner: &str, now: Millis) -> Result<u64> {
    let claimed_hooks: Vec<Id> = sqlx::query_scalar(
        "SELECT DISTINCT hook_id FROM deliveries WHERE state = 'in_flight' AND lease_owner = $1",
    )
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    hooks::lock_existing(conn, claimed_hooks.into_iter()).await?;
    let released: Vec<Id> = sqlx::query_scalar(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = $2, lease_owner = NULL, \
         lease_expires_at = NULL, updated_at = $2 WHERE state = 'in_flight' AND lease_owner = $1 \
         RETURNING hook_id",
    )
    .bind(owner)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let count = u64::try_from(released.len()).unwrap_or(u64::MAX);
    hooks::due_by(
        conn,
        &earliest_per_hook(released.into_iter().map(|id| (id, now))),
    )
    .await?;
    if count > 0 {
        dialect::work_added(conn).await?;
    }
    Ok(count)
}

/// The earliest time after `after` at which `claim_due` may find something new: the first
/// hook that falls due, or just after the first lease expires (`claim_due` takes leases that
/// expired strictly before its `now`). Hooks already due but not claimed are waiting for a
/// free slot, which a recorded attempt brings, not the clock.
pub async fn next_due_at(conn: &mut Conn, after: Millis) -> Result<Option<Millis>> {
    let (due, lease): (Option<Millis>, Option<Millis>) = sqlx::query_as(
        "SELECT \
             (SELECT next_due_at FROM hooks WHERE next_due_at > $1 \
              ORDER BY next_due_at LIMIT 1), \
             (SELECT lease_expires_at FROM deliveries WHERE state = 'in_flight' \
              ORDER BY lease_expires_at LIMIT 1)",
    )
    .bind(after)
    .fetch_one(conn)
    .await?;
    let lease = lease.map(|at| at.saturating_add(1));
    Ok(match (due, lease) {
        (Some(due), Some(lease)) => Some(due.min(lease)),
        (due, lease) => due.or(lease),
    })
}

/// The hooks that events of this chain were routed to so far.
pub async fn chain_hooks(conn: &mut Conn, chain_uuid: &str) -> Result<Vec<Id>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT d.hook_id FROM events e JOIN deliveries d ON d.event_id = e.id \
         WHERE e.chain_uuid = $1 ORDER BY d.hook_id",
    )
    .bind(chain_uuid)
    .fetch_all(conn)
    .await?)
}

/// The earliest time per hook, for [`hooks::due_by`] (one row per hook).
pub fn earliest_per_hook(due: impl Iterator<Item = (Id, Millis)>) -> Vec<(Id, Millis)> {
    let mut earliest: HashMap<Id, Millis> = HashMap::new();
    for (hook_id, at) in due {
        earliest
            .entry(hook_id)
            .and_modify(|e| *e = (*e).min(at))
            .or_insert(at);
    }
    earliest.into_iter().collect()
}

pub async fn counts(conn: &mut Conn) -> Result<DeliveryCounts> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM deliveries GROUP BY state")
            .fetch_all(conn)
            .await?;
    let mut counts = DeliveryCounts::default();
    for (state, n) in rows {
        let slot = match state.as_str() {
            "pending" => &mut counts.pending,
            "in_flight" => &mut counts.in_flight,
            "succeeded" => &mut counts.succeeded,
            "failed" => &mut counts.failed,
            _ => return Err(StoreError::Corrupt("deliveries.state")),
        };
        *slot = count(n);
    }
    Ok(counts)
}
