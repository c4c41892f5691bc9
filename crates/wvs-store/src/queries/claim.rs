//! Claiming due deliveries, hook by hook.
//!
//! A claim does not walk the deliveries in due order: a hook that hangs, is disabled or is
//! over its rate limit could have a million due deliveries in front of everyone else's. It
//! walks the hooks instead (`hooks.next_due_at`, a lower bound of when each next has a
//! claimable delivery), gives each as many deliveries as it has free slots (its
//! `max_in_flight`, or the dispatcher's current cap when lower, less what is in flight on every
//! node; one, in event order, for an ordered hook), and takes them through the per-hook index. A busy hook costs one hook row; a
//! disabled one is not even looked at (its `next_due_at` is after `disabled_until`, or NULL).
//!
//! All of it runs in the one write transaction of the claim, so counts and limits hold
//! across nodes that share the database.
//!
//! A top-level namespace's share of the workers binds only while another namespace has due
//! work: one busy tenant alone may use every worker, and the others are protected as soon as
//! they have something to deliver.

use bytes::Bytes;
use std::collections::{HashMap, HashSet};

use sqlx::FromRow;

use super::{Conn, Db};
use crate::dialect::Dialect;

use super::hooks;
use super::payload;
use super::queue::earliest_per_hook;
use super::rate::{self, Admission, DueRow};
use super::sql::{in_lists, placeholders, runs};
use crate::model::{Claimed, DeliveryId, EventId, HookId, Millis, RateLimit};
use crate::{Result, StoreError};

/// Rounds of one claim at most: a round that filled its list of candidate hooks may have
/// left claimable hooks behind them.
const ROUNDS: usize = 3;

/// Who claims, until when, and how much.
pub struct ClaimSpec<'a> {
    pub owner: &'a str,
    pub now: Millis,
    pub lease_until: Millis,
    pub limit: u32,
    pub rate: RateLimit,
    /// The dispatcher's current in-flight limit per hook: a listed hook has at most the
    /// smaller of it and its `max_in_flight` in flight; an unlisted one its `max_in_flight`.
    pub hook_caps: &'a HashMap<HookId, u32>,
}

/// Claims due deliveries for `spec.owner`, due order first; their payloads are attached by
/// [`with_payloads`], which needs no write transaction (events never change).
pub async fn claim_due(conn: &mut Conn, spec: &ClaimSpec<'_>) -> Result<Vec<ClaimedRow>> {
    // Every statement of a write transaction holds the store's one writer (on SQLite a round
    // trip to its thread each): the count of what is in flight also tells whether a lease
    // ran out, so the common claim does not look for expired leases separately.
    let shared = spec.rate.in_flight > 0;
    let mut counted = count_in_flight(conn, shared).await?;
    if counted.oldest_lease.is_some_and(|lease| lease < spec.now) {
        expire_leases(conn, spec.now).await?;
        counted = count_in_flight(conn, shared).await?;
    }
    let mut first_count = Some(counted);
    let mut claimed = Vec::new();
    for _ in 0..ROUNDS {
        let budget = usize::try_from(spec.limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(claimed.len());
        if budget == 0 {
            break;
        }
        // A later round counts again: the rounds before put deliveries in flight.
        let busy = match first_count.take() {
            Some(busy) => busy,
            None => count_in_flight(conn, shared).await?,
        };
        let round = claim_round(conn, spec, budget, busy).await?;
        claimed.extend(round.claimed);
        if !round.more_hooks {
            break;
        }
    }
    claimed.sort_by_key(|row: &ClaimedRow| (row.next_attempt_at, row.id));
    Ok(claimed)
}

/// In-flight deliveries whose lease ran out (their node died or stalled) become pending
/// again, due as they were, so the round below takes them like any other.
pub async fn expire_leases(conn: &mut Conn, now: Millis) -> Result<()> {
    let hooks: Vec<HookId> = sqlx::query_scalar(
        "SELECT DISTINCT hook_id FROM deliveries WHERE state = 'in_flight' AND lease_expires_at < $1",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    if hooks.is_empty() {
        return Ok(());
    }
    hooks::lock_existing(conn, hooks.into_iter()).await?;
    let expired: Vec<(HookId, Millis)> = sqlx::query_as(
        "UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL \
         WHERE state = 'in_flight' AND lease_expires_at < $1 RETURNING hook_id, next_attempt_at",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    hooks::due_by(conn, &earliest_per_hook(expired.into_iter())).await
}

#[derive(FromRow)]
pub struct Candidate {
    pub id: HookId,
    pub max_in_flight: i64,
    pub ordered: bool,
    /// Its top-level namespace ('' for a system hook); read only when shares are counted.
    pub tenant: Option<String>,
}

/// The top-level namespace of the hook `h`: the first segment of its project's or group's
/// path, always current (a transfer moves it); '' for a system hook, whose hooks share one
/// allowance of their own.
pub fn tenant_of_hook() -> String {
    Db::top_segment(
        "coalesce((SELECT path_with_namespace FROM projects WHERE id = h.project_id), \
         (SELECT full_path FROM groups WHERE id = h.group_id), '')",
    )
}

/// Up to `wanted` hooks with due work, first due first, but none of the namespaces in
/// `excluded` (`tenant`: the SQL of a hook's namespace, or NULL when shares are not counted).
///
/// PostgreSQL's (SQLite claims on its writer thread: `sqlite::write_path::claim`), where
/// claims run side by side: each locks the hooks it plans for and skips those another claim
/// holds, so no two claims plan for one hook at once.
async fn due_hooks(
    conn: &mut Conn,
    now: Millis,
    wanted: i64,
    tenant: &str,
    excluded: &[&String],
) -> Result<Vec<Candidate>> {
    let not_in = if excluded.is_empty() {
        String::new()
    } else {
        format!(" AND {tenant} NOT IN ({})", placeholders(3, excluded.len()))
    };
    // A hook's due marks (PostgreSQL's ingest: `hooks::mark_due`) make it due as its
    // `next_due_at` does.
    let sql = format!(
        "SELECT h.id, h.max_in_flight, h.ordered, {tenant} AS tenant FROM hooks h \
         LEFT JOIN (SELECT hook_id, min(due_at) AS due FROM hook_due_marks GROUP BY hook_id) m \
         ON m.hook_id = h.id \
         WHERE least(h.next_due_at, m.due) <= $1 AND NOT h.permanently_disabled \
         AND (h.disabled_until IS NULL OR h.disabled_until <= $1){not_in} \
         ORDER BY least(h.next_due_at, m.due), h.id LIMIT $2 FOR NO KEY UPDATE OF h SKIP LOCKED"
    );
    let mut query = sqlx::query_as::<_, Candidate>(&sql).bind(now).bind(wanted);
    for namespace in excluded {
        query = query.bind(*namespace);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// A hook and how many of its due deliveries to take.
pub struct Want {
    pub hook_id: HookId,
    pub take: i64,
}

struct Round {
    claimed: Vec<ClaimedRow>,
    /// The candidate list was full: more due hooks may wait behind it.
    more_hooks: bool,
}

/// Hooks promised deliveries, split by how their due rows are read.
#[derive(Default)]
pub struct Promised {
    pub unordered: Vec<Want>,
    pub ordered: Vec<Want>,
}

impl Promised {
    pub fn is_empty(&self) -> bool {
        self.unordered.is_empty() && self.ordered.is_empty()
    }

    pub fn hooks(&self) -> impl Iterator<Item = HookId> + '_ {
        self.unordered
            .iter()
            .chain(&self.ordered)
            .map(|w| w.hook_id)
    }
}

/// Promises the next candidates up to `need` deliveries in all, each up to its free slots
/// (its cap, less what is in flight; one at a time for an ordered hook) and its tenant's
/// room while `shares_bind`, counting what is promised into `busy`'s tenants. Shared by
/// both write paths.
pub fn promise<'c>(
    next: &mut impl Iterator<Item = &'c Candidate>,
    busy: &mut InFlight,
    need: i64,
    spec: &ClaimSpec<'_>,
    shares_bind: bool,
) -> Promised {
    let share = i64::from(spec.rate.in_flight);
    let mut promised = Promised::default();
    let mut total = 0;
    while total < need {
        let Some(hook) = next.next() else { break };
        let in_flight = busy.per_hook.get(&hook.id).copied().unwrap_or(0);
        let slots = match spec.hook_caps.get(&hook.id) {
            Some(cap) => hook.max_in_flight.min(i64::from(*cap)),
            None => hook.max_in_flight,
        };
        let free = if hook.ordered {
            i64::from(in_flight == 0 && slots > 0)
        } else {
            (slots - in_flight).max(0)
        };
        let tenant_room = match &hook.tenant {
            Some(tenant) if shares_bind => {
                (share - busy.per_tenant.get(tenant).copied().unwrap_or(0)).max(0)
            }
            _ => i64::MAX,
        };
        let take = free.min(need - total).min(tenant_room);
        if take == 0 {
            continue;
        }
        if let Some(tenant) = hook.tenant.as_ref().filter(|_| share > 0) {
            *busy.per_tenant.entry(tenant.clone()).or_default() += take;
        }
        total += take;
        let want = Want {
            hook_id: hook.id,
            take,
        };
        if hook.ordered {
            promised.ordered.push(want);
        } else {
            promised.unordered.push(want);
        }
    }
    promised
}

/// The tenants at their share of the workers.
pub fn full_tenants(busy: &InFlight, share: i64) -> Vec<&String> {
    busy.per_tenant
        .iter()
        .filter(|(_, count)| **count >= share)
        .map(|(tenant, _)| tenant)
        .collect()
}

/// Whether the shares bind: while two namespaces want workers, that is two among the due
/// hooks and the namespaces at their share (which may have due work of their own), or more
/// due hooks than the candidate list holds (`list_full`).
pub fn shares_bind(
    share: i64,
    full: &[&String],
    candidates: &[Candidate],
    list_full: bool,
) -> bool {
    let mut wanting: HashSet<&String> = full.iter().copied().collect();
    wanting.extend(candidates.iter().filter_map(|hook| hook.tenant.as_ref()));
    share > 0 && (list_full || wanting.len() > 1)
}

/// One round of a claim; `busy` is what is in flight as the round starts.
async fn claim_round(
    conn: &mut Conn,
    spec: &ClaimSpec<'_>,
    budget: usize,
    mut busy: InFlight,
) -> Result<Round> {
    // A hook with no free slot has at least one delivery in flight, so `budget` more than
    // the deliveries in flight always reaches every hook that can take one; the hooks of a
    // tenant at its share are not looked at unless no other tenant's are due.
    let share = i64::from(spec.rate.in_flight);
    let in_flight: i64 = busy.per_hook.values().sum();
    let wanted_hooks = i64::try_from(budget)
        .unwrap_or(i64::MAX)
        .saturating_add(in_flight);
    let full_tenants = full_tenants(&busy, share);
    let tenant = if share > 0 {
        tenant_of_hook()
    } else {
        "NULL".to_owned()
    };
    let mut candidates = due_hooks(conn, spec.now, wanted_hooks, &tenant, &full_tenants).await?;
    if candidates.is_empty() && !full_tenants.is_empty() {
        // No other namespace has due work: the full ones may go past their share.
        candidates = due_hooks(conn, spec.now, wanted_hooks, &tenant, &[]).await?;
    }
    let list_full = i64::try_from(candidates.len()).unwrap_or(i64::MAX) == wanted_hooks;
    let shares_bind = shares_bind(share, &full_tenants, &candidates, list_full);
    if Db::WRITES_SIDE_BY_SIDE {
        // Counted again once the hooks are held: another node's claim may have added to
        // them since, and now no other claim can. (A tenant's share is counted the same
        // way, but claims of different hooks of one tenant may run side by side: on several
        // nodes a share can be passed by what their simultaneous claims take.)
        busy = count_in_flight(conn, share > 0).await?;
    }

    // Hooks are promised up to their free slots out of what is still needed, in candidate
    // order, and their due rows read; a hook with fewer due rows than promised leaves some
    // need unmet, which the next hooks are promised in turn.
    let budget = i64::try_from(budget).unwrap_or(i64::MAX);
    let mut due = Vec::new();
    let mut touched = Vec::new();
    let mut next = candidates.iter();
    loop {
        let need = budget - i64::try_from(due.len()).unwrap_or(i64::MAX);
        let promised = promise(&mut next, &mut busy, need, spec, shares_bind);
        if promised.is_empty() {
            break;
        }
        touched.extend(promised.hooks());
        due.extend(due_rows(conn, &promised.unordered, DUE_UNORDERED, Some(spec.now)).await?);
        // An ordered hook's head may be waiting for its retry: then nothing of it is due.
        due.extend(
            due_rows(conn, &promised.ordered, HEAD_ORDERED, None)
                .await?
                .into_iter()
                .filter(|row| row.next_attempt_at <= spec.now),
        );
    }

    let Admission { admitted, limited } = rate::admit(conn, due, spec.rate, spec.now).await?;
    let claimed = take(conn, spec, &admitted).await?;
    hooks::take_marks(conn, &touched).await?;
    hooks::reschedule(conn, &touched).await?;
    rate::hold(conn, &limited, spec.now).await?;
    Ok(Round {
        more_hooks: list_full,
        claimed,
    })
}

/// What is in flight (on every node: the limits are the hook's and the tenant's, not the
/// node's).
pub struct InFlight {
    pub per_hook: HashMap<HookId, i64>,
    /// Per top-level namespace, when shares are counted (empty otherwise).
    pub per_tenant: HashMap<String, i64>,
    /// The lease that runs out first.
    pub oldest_lease: Option<Millis>,
}

/// Counts what is in flight per hook, and per tenant when `per_tenant`.
async fn count_in_flight(conn: &mut Conn, per_tenant: bool) -> Result<InFlight> {
    let rows: Vec<(HookId, i64, Option<Millis>, Option<String>)> = if per_tenant {
        sqlx::query_as(&format!(
            "SELECT h.id, count(*), min(d.lease_expires_at), {} FROM deliveries d \
             JOIN hooks h ON h.id = d.hook_id WHERE d.state = 'in_flight' GROUP BY h.id",
            tenant_of_hook()
        ))
        .fetch_all(conn)
        .await?
    } else {
        sqlx::query_as(
            "SELECT hook_id, count(*), min(lease_expires_at), NULL FROM deliveries \
             WHERE state = 'in_flight' GROUP BY hook_id",
        )
        .fetch_all(conn)
        .await?
    };
    let oldest_lease = rows.iter().filter_map(|(_, _, lease, _)| *lease).min();
    let mut tenants = HashMap::new();
    for (_, count, _, tenant) in &rows {
        if let Some(tenant) = tenant {
            *tenants.entry(tenant.clone()).or_default() += count;
        }
    }
    Ok(InFlight {
        per_hook: rows
            .into_iter()
            .map(|(hook, count, _, _)| (hook, count))
            .collect(),
        per_tenant: tenants,
        oldest_lease,
    })
}

/// One hook's due deliveries, oldest due first ($1 = now, then hook and count).
const DUE_UNORDERED: &str = "SELECT * FROM (SELECT id, hook_id, next_attempt_at, rate_key \
     FROM deliveries WHERE hook_id = ${hook} AND state = 'pending' AND next_attempt_at <= $1 \
     ORDER BY next_attempt_at, id LIMIT ${take}) AS due";
/// An ordered hook's oldest pending delivery, due or not (hook and count).
const HEAD_ORDERED: &str = "SELECT * FROM (SELECT id, hook_id, next_attempt_at, rate_key \
     FROM deliveries WHERE hook_id = ${hook} AND state = 'pending' ORDER BY id LIMIT ${take}) \
     AS head";

/// Runs `arm` for each wanted hook, many hooks per statement (`UNION ALL`, a padded [`Run`](super::sql::Run)
/// whose padding takes nothing: `LIMIT 0`); `now` is bound first when the arm uses it.
async fn due_rows(
    conn: &mut Conn,
    wants: &[Want],
    arm: &str,
    now: Option<Millis>,
) -> Result<Vec<DueRow>> {
    let first = if now.is_some() { 2 } else { 1 };
    let mut rows = Vec::new();
    for run in runs(wants) {
        let sql = (0..run.rows())
            .map(|n| {
                arm.replace("{hook}", &(first + 2 * n).to_string())
                    .replace("{take}", &(first + 1 + 2 * n).to_string())
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let mut query = sqlx::query_as::<_, DueRow>(&sql);
        if let Some(now) = now {
            query = query.bind(now);
        }
        for (want, kept) in run.bound() {
            query = query
                .bind(want.hook_id)
                .bind(if kept { want.take } else { 0 });
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// A claimed delivery, before its event's payload is attached.
#[derive(FromRow)]
pub struct ClaimedRow {
    pub id: DeliveryId,
    pub hook_id: HookId,
    pub event_id: EventId,
    pub event_header: String,
    pub trigger: String,
    pub idempotency_key: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub rate_limited: bool,
}

/// Marks the rows in flight for `spec.owner` until `spec.lease_until`.
async fn take(conn: &mut Conn, spec: &ClaimSpec<'_>, rows: &[DueRow]) -> Result<Vec<ClaimedRow>> {
    let ids: Vec<DeliveryId> = rows.iter().map(|row| row.id).collect();
    let mut claimed = Vec::with_capacity(ids.len());
    for batch in in_lists(&ids) {
        let sql = format!(
            "UPDATE deliveries SET state = 'in_flight', lease_owner = $1, lease_expires_at = $2, \
             updated_at = $3 WHERE state = 'pending' AND id IN ({}) \
             RETURNING id, hook_id, event_id, event_header, trigger, idempotency_key, attempts, \
             next_attempt_at, rate_limited",
            placeholders(4, batch.len())
        );
        let mut query = sqlx::query_as::<_, ClaimedRow>(&sql)
            .bind(spec.owner)
            .bind(spec.lease_until)
            .bind(spec.now);
        for id in batch {
            query = query.bind(id);
        }
        claimed.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(claimed)
}

/// Attaches each event's chain uuid and payload, read once per event and shared by its
/// deliveries.
pub async fn with_payloads(conn: &mut Conn, rows: Vec<ClaimedRow>) -> Result<Vec<Claimed>> {
    let mut ids: Vec<EventId> = rows.iter().map(|row| row.event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut events: HashMap<EventId, (String, Bytes)> = HashMap::with_capacity(ids.len());
    for batch in in_lists(&ids) {
        let sql = format!(
            "SELECT id, chain_uuid, payload FROM events WHERE id IN ({})",
            placeholders(1, batch.len())
        );
        let mut query = sqlx::query_as::<_, (EventId, String, Vec<u8>)>(&sql);
        for id in batch {
            query = query.bind(id);
        }
        for (id, uuid, mut payload) in query.fetch_all(&mut *conn).await? {
            payload::read_rest(conn, id, &mut payload).await?;
            // Taken over as it was read, not copied: a payload may be 25 MiB.
            events.insert(id, (uuid, Bytes::from(payload)));
        }
    }
    rows.into_iter()
        .map(|row| {
            let (event_uuid, payload) = events
                .get(&row.event_id)
                .ok_or(StoreError::Corrupt("deliveries.event_id"))?;
            Ok(Claimed {
                delivery_id: row.id,
                hook_id: row.hook_id,
                event_id: row.event_id,
                event_uuid: event_uuid.clone(),
                event_header: row.event_header,
                trigger: row.trigger,
                idempotency_key: row.idempotency_key,
                attempts: row.attempts,
                rate_limited: row.rate_limited,
                payload: payload.clone(),
            })
        })
        .collect()
}
