//! A claim, in the writer's transaction: the rules of `claim` (hook by hook, within every
//! limit), with its statements run one hook at a time on the writer's thread.

use std::collections::HashMap;

use rusqlite::{Transaction, params};

use super::super::claim::{
    Candidate, ClaimSpec, ClaimedRow, DueRow, InFlight, Promised, promise, tenant_of_hook,
};
use super::super::rate::{Admission, split, window_keys};
use super::{due_by, reschedule};
use crate::Result;
use crate::model::{Id, Millis};

/// Rounds of one claim at most (see `claim::ROUNDS`).
const ROUNDS: usize = 3;

/// Claims due deliveries for `spec.owner`, due order first (see `claim::claim_due`).
pub fn claim_due(tx: &Transaction<'_>, spec: &ClaimSpec<'_>) -> Result<Vec<ClaimedRow>> {
    let shared = spec.rate.in_flight > 0;
    let mut busy = count_in_flight(tx, shared)?;
    if busy.oldest_lease.is_some_and(|lease| lease < spec.now) {
        expire_leases(tx, spec.now)?;
        busy = count_in_flight(tx, shared)?;
    }
    let mut first_count = Some(busy);
    let mut claimed = Vec::new();
    for _ in 0..ROUNDS {
        let budget = usize::try_from(spec.limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(claimed.len());
        if budget == 0 {
            break;
        }
        let busy = match first_count.take() {
            Some(busy) => busy,
            None => count_in_flight(tx, shared)?,
        };
        let (round, more_hooks) = claim_round(tx, spec, budget, busy)?;
        claimed.extend(round);
        if !more_hooks {
            break;
        }
    }
    claimed.sort_by_key(|row: &ClaimedRow| (row.next_attempt_at, row.id));
    Ok(claimed)
}

/// In-flight deliveries whose lease ran out become pending again, due as they were.
fn expire_leases(tx: &Transaction<'_>, now: Millis) -> Result<()> {
    let mut update = tx.prepare_cached(
        "UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL \
         WHERE state = 'in_flight' AND lease_expires_at < ?1 RETURNING hook_id, next_attempt_at",
    )?;
    let expired = update
        .query_map([now], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(Id, Millis)>>>()?;
    let earliest = super::super::queue::earliest_per_hook(expired.into_iter());
    due_by(tx, &earliest)
}

/// Counts what is in flight per hook, and per tenant when `per_tenant`.
fn count_in_flight(tx: &Transaction<'_>, per_tenant: bool) -> Result<InFlight> {
    let sql = if per_tenant {
        format!(
            "SELECT h.id, count(*), min(d.lease_expires_at), {} FROM deliveries d \
             JOIN hooks h ON h.id = d.hook_id WHERE d.state = 'in_flight' GROUP BY h.id",
            tenant_of_hook()
        )
    } else {
        "SELECT hook_id, count(*), min(lease_expires_at), NULL FROM deliveries \
         WHERE state = 'in_flight' GROUP BY hook_id"
            .to_owned()
    };
    let mut select = tx.prepare_cached(&sql)?;
    let mut busy = InFlight {
        per_hook: HashMap::new(),
        per_tenant: HashMap::new(),
        oldest_lease: None,
    };
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let (hook, count): (Id, i64) = (row.get(0)?, row.get(1)?);
        let lease: Option<Millis> = row.get(2)?;
        if let Some(tenant) = row.get::<_, Option<String>>(3)? {
            *busy.per_tenant.entry(tenant).or_default() += count;
        }
        busy.per_hook.insert(hook, count);
        busy.oldest_lease = match (busy.oldest_lease, lease) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(busy)
}

/// One round of a claim; `busy` is what is in flight as it starts. The claimed rows, and
/// whether the candidate list was full (more due hooks may wait behind it).
fn claim_round(
    tx: &Transaction<'_>,
    spec: &ClaimSpec<'_>,
    budget: usize,
    mut busy: InFlight,
) -> Result<(Vec<ClaimedRow>, bool)> {
    let share = i64::from(spec.rate.in_flight);
    let in_flight: i64 = busy.per_hook.values().sum();
    let wanted_hooks = i64::try_from(budget)
        .unwrap_or(i64::MAX)
        .saturating_add(in_flight);
    let candidates = candidates(tx, spec.now, wanted_hooks, share, &busy)?;
    let list_full = i64::try_from(candidates.len()).unwrap_or(i64::MAX) == wanted_hooks;

    let budget = i64::try_from(budget).unwrap_or(i64::MAX);
    let mut due = Vec::new();
    let mut touched = Vec::new();
    let mut next = candidates.iter();
    loop {
        let need = budget - i64::try_from(due.len()).unwrap_or(i64::MAX);
        let promised = promise(&mut next, &mut busy, need, spec);
        if promised.is_empty() {
            break;
        }
        touched.extend(promised.hooks());
        due.extend(due_rows(tx, &promised, spec.now)?);
    }

    let Admission { admitted, limited } = admit(tx, due, spec)?;
    let claimed = take(tx, spec, &admitted)?;
    reschedule(tx, &touched)?;
    hold(tx, &limited, spec.now)?;
    Ok((claimed, list_full))
}

/// The due hooks, oldest due first, up to `limit`, leaving out the tenants at their share.
fn candidates(
    tx: &Transaction<'_>,
    now: Millis,
    limit: i64,
    share: i64,
    busy: &InFlight,
) -> Result<Vec<Candidate>> {
    let (tenant, not_full) = if share > 0 {
        let tenant = tenant_of_hook();
        let not_full = format!(" AND {tenant} NOT IN (SELECT value FROM json_each(?3))");
        (tenant, not_full)
    } else {
        ("NULL".to_owned(), " AND ?3 IS NOT NULL".to_owned())
    };
    let full: Vec<&String> = busy
        .per_tenant
        .iter()
        .filter(|(_, count)| **count >= share)
        .map(|(tenant, _)| tenant)
        .collect();
    let full = serde_json::to_string(&full).unwrap_or_else(|_| "[]".to_owned());
    let mut select = tx.prepare_cached(&format!(
        "SELECT id, max_in_flight, ordered, {tenant} FROM hooks h \
         WHERE next_due_at <= ?1 AND NOT permanently_disabled \
         AND (disabled_until IS NULL OR disabled_until <= ?1){not_full} \
         ORDER BY next_due_at, id LIMIT ?2"
    ))?;
    let rows = select.query_map(params![now, limit, full], |row| {
        Ok(Candidate {
            id: row.get(0)?,
            max_in_flight: row.get(1)?,
            ordered: row.get(2)?,
            tenant: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The promised hooks' due rows: an unordered hook's oldest due ones, an ordered hook's
/// oldest pending one if it is due (it may be waiting for its retry).
fn due_rows(tx: &Transaction<'_>, promised: &Promised, now: Millis) -> Result<Vec<DueRow>> {
    let mut unordered = tx.prepare_cached(
        "SELECT id, hook_id, next_attempt_at, rate_key FROM deliveries \
         WHERE hook_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2 \
         ORDER BY next_attempt_at, id LIMIT ?3",
    )?;
    let mut head = tx.prepare_cached(
        "SELECT id, hook_id, next_attempt_at, rate_key FROM deliveries \
         WHERE hook_id = ?1 AND state = 'pending' ORDER BY id LIMIT ?2",
    )?;
    let read = |row: &rusqlite::Row<'_>| {
        Ok(DueRow {
            id: row.get(0)?,
            hook_id: row.get(1)?,
            next_attempt_at: row.get(2)?,
            rate_key: row.get(3)?,
        })
    };
    let mut due = Vec::new();
    for want in &promised.unordered {
        let rows = unordered.query_map(params![want.hook_id, now, want.take], read)?;
        due.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    for want in &promised.ordered {
        let rows = head.query_map(params![want.hook_id, want.take], read)?;
        let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        due.extend(rows.into_iter().filter(|row| row.next_attempt_at <= now));
    }
    Ok(due)
}

/// The per-namespace rate limit (see `rate::admit`): the rows admitted in order while
/// their namespace has calls left in the window, the admitted ones counted.
fn admit(tx: &Transaction<'_>, rows: Vec<DueRow>, spec: &ClaimSpec<'_>) -> Result<Admission> {
    let rate = spec.rate;
    if rate.calls == 0 || rows.iter().all(|row| row.rate_key.is_none()) {
        return Ok(Admission {
            admitted: rows,
            limited: Vec::new(),
        });
    }
    let (start, keys) = window_keys(&rows, rate, spec.now);
    let mut select = tx.prepare_cached(
        "SELECT CASE WHEN window_start = ?2 THEN calls ELSE 0 END FROM rate_windows \
         WHERE key = ?1",
    )?;
    let mut used = HashMap::with_capacity(keys.len());
    for key in keys {
        let calls: Option<i64> = rusqlite::OptionalExtension::optional(
            select.query_row(params![key, start], |row| row.get(0)),
        )?;
        used.insert(key, calls.unwrap_or(0));
    }
    let admission = split(rows, &mut used, rate, start);
    let mut save = tx.prepare_cached(
        "INSERT INTO rate_windows (key, calls, window_start) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, \
         calls = excluded.calls",
    )?;
    for (key, calls) in &used {
        save.execute(params![key, calls, start])?;
    }
    Ok(admission)
}

/// Marks the limited hooks' due deliveries as delayed and puts the hooks aside until the
/// next window opens.
fn hold(tx: &Transaction<'_>, limited: &[(Id, Millis)], now: Millis) -> Result<()> {
    let limited: HashMap<Id, Millis> = limited.iter().copied().collect();
    let mut delay = tx.prepare_cached(
        "UPDATE deliveries SET rate_limited = TRUE WHERE hook_id = ?1 AND state = 'pending' \
         AND next_attempt_at <= ?2 AND NOT rate_limited",
    )?;
    let mut aside = tx.prepare_cached(
        "UPDATE hooks SET next_due_at = ?2 WHERE id = ?1 \
         AND (next_due_at IS NULL OR next_due_at < ?2)",
    )?;
    for (hook_id, until) in limited {
        delay.execute(params![hook_id, now])?;
        aside.execute(params![hook_id, until])?;
    }
    Ok(())
}

/// Marks the rows in flight for `spec.owner` until `spec.lease_until`.
fn take(tx: &Transaction<'_>, spec: &ClaimSpec<'_>, rows: &[DueRow]) -> Result<Vec<ClaimedRow>> {
    let mut update = tx.prepare_cached(
        "UPDATE deliveries SET state = 'in_flight', lease_owner = ?1, lease_expires_at = ?2, \
         updated_at = ?3 WHERE state = 'pending' AND id = ?4 \
         RETURNING id, hook_id, event_id, event_header, trigger, idempotency_key, attempts, \
         next_attempt_at, rate_limited",
    )?;
    let mut claimed = Vec::with_capacity(rows.len());
    for due in rows {
        let row = update.query_row(
            params![spec.owner, spec.lease_until, spec.now, due.id],
            |row| {
                Ok(ClaimedRow {
                    id: row.get(0)?,
                    hook_id: row.get(1)?,
                    event_id: row.get(2)?,
                    event_header: row.get(3)?,
                    trigger: row.get(4)?,
                    idempotency_key: row.get(5)?,
                    attempts: row.get(6)?,
                    next_attempt_at: row.get(7)?,
                    rate_limited: row.get(8)?,
                })
            },
        );
        match row {
            Ok(row) => claimed.push(row),
            // Taken by an earlier round of this claim (a hook listed twice): not again.
            Err(rusqlite::Error::QueryReturnedNoRows) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(claimed)
}
