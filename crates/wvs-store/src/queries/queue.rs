//! Events and the delivery queue.
//!
//! A delivery is `pending` until claimed; a claim makes it `in_flight` with a lease
//! (`lease_owner`, `lease_expires_at`); the attempt's outcome makes it `succeeded`, `failed`,
//! or `pending` again with a later `next_attempt_at`. A lease that expires (its node died)
//! makes the delivery claimable again by anyone. The payload lives once in `events`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sqlx::FromRow;

use super::{Conn, Db};
use crate::dialect::Dialect;

use super::hooks;
use super::payload;
use super::sql::{conflict, count, in_lists, kept_values, placeholders, runs};
use crate::group_commit::Pending;
use crate::model::{
    Attempt, DeliveryCounts, DeliveryId, EventId, GroupId, HookId, Idempotency, Inserted, Millis,
    NewDelivery, Outcome, ProjectId, RateKey, StoredEvent,
};
use crate::{Result, StoreError};

/// Stores a group commit's events with their deliveries in the caller's transaction, a
/// few statements for the whole batch. An event whose idempotency key was seen before
/// (stored earlier, or earlier in this batch) writes nothing and gets the first event's
/// outcome, or [`StoreError::IdempotencyKeyReused`] when its body was another. Answers come
/// in the batch's order. PostgreSQL's: its store announces the work once committed.
pub async fn insert_events(conn: &mut Conn, batch: &[Pending]) -> Result<Vec<Result<Inserted>>> {
    let stored = stored_by_key(conn, batch).await?;
    // A hook deleted after routing but before this transaction gets nothing: the event is
    // accepted for the others rather than refused for a hook that is gone. The hooks are
    // kept from being deleted, not locked: the ingest marks them due (`hooks::mark_due`)
    // rather than write their rows, so it waits for no claim and no other ingest.
    let live = hooks::hold_existing(conn, routed_hooks(batch)).await?;
    let plan = Plan::new(batch, &stored, &live);

    let ids = insert_event_rows(conn, &plan.new).await?;
    for (row, id) in plan.new.iter().zip(&ids) {
        payload::store_rest(conn, *id, &row.pending.event.payload).await?;
    }
    insert_delivery_rows(conn, &plan.new, &ids).await?;
    hooks::mark_due(conn, &plan.due()).await?;
    Ok(plan.answers(&ids))
}

/// Every hook the batch's events were routed to.
pub fn routed_hooks(batch: &[Pending]) -> impl Iterator<Item = HookId> + '_ {
    batch
        .iter()
        .flat_map(|pending| pending.deliveries.iter().map(|d| d.hook_id))
}

/// What an ingest batch writes and how each of its events is answered, decided from the
/// keys stored before and the hooks that still exist (`live`, with their `next_due_at`):
/// shared by both write paths (the query modules' and SQLite's writer thread).
pub struct Plan<'a> {
    answers: Vec<Answer>,
    /// The events to store, in order.
    pub new: Vec<NewRow<'a>>,
}

impl<'a> Plan<'a> {
    pub fn new(
        batch: &'a [Pending],
        stored: &HashMap<String, FirstUse>,
        live: &HashMap<HookId, Option<Millis>>,
    ) -> Plan<'a> {
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        let mut new: Vec<NewRow> = Vec::new();
        let mut first_in_batch: HashMap<&str, usize> = HashMap::new();
        for pending in batch {
            let Some(idempotency) = &pending.event.idempotency else {
                answers.push(Answer::New(new.len()));
                new.push(NewRow::of(pending, live));
                continue;
            };
            let answer = if let Some(first) = stored.get(&idempotency.key) {
                match first.same_body(idempotency) {
                    true => Answer::Stored(first.inserted.clone()),
                    false => Answer::Reused,
                }
            } else if let Some(&row) = first_in_batch.get(idempotency.key.as_str()) {
                match new[row].pending.event.idempotency.as_ref() == Some(idempotency) {
                    true => Answer::Duplicate(row),
                    false => Answer::Reused,
                }
            } else {
                first_in_batch.insert(&idempotency.key, new.len());
                new.push(NewRow::of(pending, live));
                Answer::New(new.len() - 1)
            };
            answers.push(answer);
        }
        Plan { answers, new }
    }

    /// When each hook given deliveries has its first one due.
    pub fn due(&self) -> Vec<(HookId, Millis)> {
        earliest_per_hook(
            self.new
                .iter()
                .flat_map(|row| row.deliveries.iter().map(|d| (d.hook_id, row.pending.now))),
        )
    }

    /// Each event's outcome, in the batch's order; `ids[n]` is the id `new[n]` got.
    pub fn answers(self, ids: &[EventId]) -> Vec<Result<Inserted>> {
        let outcome = |row: usize, duplicate: bool| Inserted {
            event_id: ids[row],
            event_uuid: self.new[row].pending.event.chain_uuid.clone(),
            deliveries: self.new[row].deliveries.len() as u64,
            duplicate,
        };
        self.answers
            .iter()
            .map(|answer| match answer {
                Answer::Stored(inserted) => Ok(inserted.clone()),
                Answer::Duplicate(row) => Ok(outcome(*row, true)),
                Answer::New(row) => Ok(outcome(*row, false)),
                Answer::Reused => Err(StoreError::IdempotencyKeyReused),
            })
            .collect()
    }
}

/// How one event of a batch is answered.
enum Answer {
    /// Its key was stored by an earlier transaction.
    Stored(Inserted),
    /// Its key is that of this new row, earlier in the batch.
    Duplicate(usize),
    New(usize),
    /// Its key was stored or is earlier in the batch with another body.
    Reused,
}

/// An event of the batch to write, with the deliveries to hooks that still exist.
pub struct NewRow<'a> {
    pub pending: &'a Pending,
    pub deliveries: Vec<&'a NewDelivery>,
}

impl<'a> NewRow<'a> {
    fn of<T>(pending: &'a Pending, live: &HashMap<HookId, T>) -> NewRow<'a> {
        NewRow {
            pending,
            deliveries: pending
                .deliveries
                .iter()
                .filter(|d| live.contains_key(&d.hook_id))
                .collect(),
        }
    }
}

/// The first event stored under an idempotency key.
pub struct FirstUse {
    pub inserted: Inserted,
    /// `None` for a key stored before bodies were digested (schema version 8): any body
    /// is taken as the same.
    pub body_sha256: Option<String>,
}

impl FirstUse {
    fn same_body(&self, idempotency: &Idempotency) -> bool {
        self.body_sha256
            .as_ref()
            .is_none_or(|digest| *digest == idempotency.body_sha256)
    }
}

/// The first use of each idempotency key of the batch that an earlier transaction stored.
async fn stored_by_key(conn: &mut Conn, batch: &[Pending]) -> Result<HashMap<String, FirstUse>> {
    let keys: Vec<&str> = batch
        .iter()
        .filter_map(|pending| pending.event.idempotency.as_ref())
        .map(|idempotency| idempotency.key.as_str())
        .collect();
    let mut stored = HashMap::new();
    for run in in_lists(&keys) {
        let sql = format!(
            "SELECT idempotency_key, id, chain_uuid, delivery_count, idempotency_sha256 \
             FROM events WHERE idempotency_key IN ({})",
            placeholders(1, run.len())
        );
        let mut query = sqlx::query_as::<_, (String, EventId, String, i64, Option<String>)>(&sql);
        for key in run {
            query = query.bind(key);
        }
        for (key, event_id, event_uuid, delivery_count, body_sha256) in
            query.fetch_all(&mut *conn).await?
        {
            let inserted = Inserted {
                event_id,
                event_uuid,
                deliveries: count(delivery_count),
                duplicate: true,
            };
            stored.insert(
                key,
                FirstUse {
                    inserted,
                    body_sha256,
                },
            );
        }
    }
    Ok(stored)
}

/// Inserts the events, many per statement; their ids, in `rows`' order.
async fn insert_event_rows(conn: &mut Conn, rows: &[NewRow<'_>]) -> Result<Vec<EventId>> {
    let mut ids = Vec::with_capacity(rows.len());
    for run in runs(rows) {
        let sql = format!(
            "INSERT INTO events (uuid, kind, project_id, group_id, payload, idempotency_key, \
             idempotency_sha256, delivery_count, created_at, chain_uuid) {} RETURNING id, uuid",
            kept_values(run.rows(), 10, "")
        );
        let mut query = sqlx::query_as::<_, (EventId, String)>(&sql);
        for (row, kept) in run.bound() {
            let event = &row.pending.event;
            query = query
                .bind(&event.uuid)
                .bind(&event.kind)
                .bind(event.project_id)
                .bind(event.group_id)
                .bind(payload::first(&event.payload))
                .bind(event.idempotency.as_ref().map(|i| &i.key))
                .bind(event.idempotency.as_ref().map(|i| &i.body_sha256))
                .bind(i64::try_from(row.deliveries.len()).unwrap_or(i64::MAX))
                .bind(row.pending.now)
                .bind(&event.chain_uuid)
                .bind(kept);
        }
        // RETURNING does not promise the rows' order: matched back by uuid.
        let returned: HashMap<String, EventId> = query
            .fetch_all(&mut *conn)
            .await
            .map_err(conflict("event"))?
            .into_iter()
            .map(|(id, uuid)| (uuid, id))
            .collect();
        for row in run.items() {
            let id = returned
                .get(&row.pending.event.uuid)
                .ok_or(StoreError::Corrupt("events.uuid"))?;
            ids.push(*id);
        }
    }
    Ok(ids)
}

/// Inserts every row's deliveries, many per statement; `ids[n]` is `rows[n]`'s event.
async fn insert_delivery_rows(conn: &mut Conn, rows: &[NewRow<'_>], ids: &[EventId]) -> Result<()> {
    let deliveries: Vec<(EventId, Millis, &NewDelivery)> = rows
        .iter()
        .zip(ids)
        .flat_map(|(row, id)| row.deliveries.iter().map(|d| (*id, row.pending.now, *d)))
        .collect();
    for run in runs(&deliveries) {
        let sql = format!(
            "INSERT INTO deliveries (hook_id, event_header, trigger, idempotency_key, rate_key, \
             event_id, next_attempt_at, updated_at, state, attempts) {}",
            kept_values(run.rows(), 8, ", 'pending', 0")
        );
        let mut query = sqlx::query(&sql);
        for ((event_id, now, delivery), kept) in run.bound() {
            query = query
                .bind(delivery.hook_id)
                .bind(&delivery.event_header)
                .bind(&delivery.trigger)
                .bind(&delivery.idempotency_key)
                .bind(delivery.rate_key.as_ref().map(RateKey::to_string))
                .bind(event_id)
                .bind(now)
                .bind(now)
                .bind(kept);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct EventRow {
    id: EventId,
    uuid: String,
    kind: String,
    project_id: Option<ProjectId>,
    group_id: Option<GroupId>,
    payload: Vec<u8>,
    created_at: Millis,
}

/// The newest event of `kind` for the project (or, without one, with no project).
pub async fn latest_event(
    conn: &mut Conn,
    project_id: Option<ProjectId>,
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
    let Some(mut row) = query.fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    payload::read_rest(conn, row.id, &mut row.payload).await?;
    Ok(Some(StoredEvent {
        id: row.id,
        uuid: row.uuid,
        kind: row.kind,
        project_id: row.project_id,
        group_id: row.group_id,
        payload: row.payload,
        created_at: row.created_at,
    }))
}

/// What recording attempts does to their deliveries (shared by both write paths).
pub struct Settled {
    /// (delivery, state, next attempt, time); one per delivery, the first reported.
    pub outcomes: Vec<(DeliveryId, &'static str, Option<Millis>, Millis)>,
    /// (hook, when) for each retry: the hook is due again then.
    pub retried: Vec<(HookId, Millis)>,
}

impl Settled {
    pub fn of(attempts: &[&Attempt]) -> Settled {
        let mut seen = HashSet::new();
        let mut retried = Vec::new();
        let outcomes = attempts
            .iter()
            .filter_map(|attempt| {
                let delivery_id = attempt.delivery_id.filter(|id| seen.insert(*id))?;
                let (state, next_attempt_at) = match attempt.outcome {
                    Outcome::Succeeded => ("succeeded", None),
                    Outcome::RetryAt(at) => {
                        retried.push((attempt.hook_id, at));
                        ("pending", Some(at))
                    }
                    Outcome::Failed => ("failed", None),
                };
                Some((delivery_id, state, next_attempt_at, attempt.created_at))
            })
            .collect();
        Settled { outcomes, retried }
    }
}

/// Bytes the readiness probe writes: several pages, so that a file that cannot grow (a full
/// disk, SQLite's `max_page_count`) fails it as it fails an event.
const PROBE_BYTES: usize = 64 * 1024;

/// Writes a row of [`PROBE_BYTES`] and deletes it again (in the caller's transaction).
pub async fn probe_write(conn: &mut Conn) -> Result<()> {
    sqlx::query("INSERT INTO write_probe (filler) VALUES ($1)")
        .bind(vec![0_u8; PROBE_BYTES])
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM write_probe")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The failed deliveries of `hook_id` settled at or after `since` become pending and due at
/// `now` (bulk recovery: each goes out once more with its own Idempotency-Key); how many.
pub async fn requeue_failed(
    conn: &mut Conn,
    hook_id: HookId,
    since: Millis,
    now: Millis,
) -> Result<u64> {
    hooks::lock_existing(conn, std::iter::once(hook_id)).await?;
    let requeued = sqlx::query(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = $3, updated_at = $3 \
         WHERE hook_id = $1 AND state = 'failed' AND updated_at >= $2",
    )
    .bind(hook_id)
    .bind(since)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if requeued > 0 {
        hooks::due_by(conn, &[(hook_id, now)]).await?;
        Db::work_added(conn).await?;
    }
    Ok(requeued)
}

/// Every claim of `owner` becomes pending and due at `now`.
pub async fn release_claims(conn: &mut Conn, owner: &str, now: Millis) -> Result<u64> {
    let claimed_hooks: Vec<HookId> = sqlx::query_scalar(
        "SELECT DISTINCT hook_id FROM deliveries WHERE state = 'in_flight' AND lease_owner = $1",
    )
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    hooks::lock_existing(conn, claimed_hooks.into_iter()).await?;
    let released: Vec<HookId> = sqlx::query_scalar(
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
        Db::work_added(conn).await?;
    }
    Ok(count)
}

/// The earliest time after `after` at which `claim_due` may find something new: the first
/// hook that falls due, or just after the first lease expires (`claim_due` takes leases that
/// expired strictly before its `now`). Hooks already due but not claimed are waiting for a
/// free slot, which a recorded attempt brings, not the clock.
pub async fn next_due_at(conn: &mut Conn, after: Millis) -> Result<Option<Millis>> {
    let (due, marked, lease): (Option<Millis>, Option<Millis>, Option<Millis>) =
        sqlx::query_as(&format!(
            "SELECT \
             (SELECT next_due_at FROM hooks WHERE next_due_at > $1 \
              ORDER BY next_due_at LIMIT 1), {}, \
             (SELECT lease_expires_at FROM deliveries WHERE state = 'in_flight' \
              ORDER BY lease_expires_at LIMIT 1)",
            marked_due()
        ))
        .bind(after)
        .fetch_one(conn)
        .await?;
    let lease = lease.map(|at| at + Duration::from_millis(1));
    Ok([due, marked, lease].into_iter().flatten().min())
}

/// The first time after $1 that a due mark (PostgreSQL's: `hooks::mark_due`) makes its hook
/// claimable: its own, or the end of the hook's temporary disable.
fn marked_due() -> &'static str {
    if Db::WRITES_SIDE_BY_SIDE {
        "(SELECT min(t.at) FROM (SELECT CASE WHEN h.disabled_until > m.due_at \
         THEN h.disabled_until ELSE m.due_at END AS at FROM hook_due_marks m \
         JOIN hooks h ON h.id = m.hook_id WHERE NOT h.permanently_disabled) t WHERE t.at > $1)"
    } else {
        "NULL"
    }
}

/// The hooks that events of this chain were routed to so far.
pub async fn chain_hooks(conn: &mut Conn, chain_uuid: &str) -> Result<Vec<HookId>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT d.hook_id FROM events e JOIN deliveries d ON d.event_id = e.id \
         WHERE e.chain_uuid = $1 ORDER BY d.hook_id",
    )
    .bind(chain_uuid)
    .fetch_all(conn)
    .await?)
}

/// The earliest time per hook, for [`hooks::due_by`] (one row per hook).
pub fn earliest_per_hook(due: impl Iterator<Item = (HookId, Millis)>) -> Vec<(HookId, Millis)> {
    let mut earliest: HashMap<HookId, Millis> = HashMap::new();
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
