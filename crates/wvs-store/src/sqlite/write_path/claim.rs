//! A claim, in the writer's transaction: the rules of `claim` (hook by hook, within every
//! limit), with its statements run one hook at a time on the writer's thread, and the
//! claims held in memory (`leases`), not written: what is in flight is counted there, and
//! a claim writes only the hooks' `next_due_at` and the rate windows.

use std::collections::{HashMap, HashSet};

use rusqlite::{Transaction, params};

use super::super::claim::{
    Candidate, ClaimSpec, ClaimedRow, InFlight, Promised, full_tenants, promise, shares_bind,
};
use super::super::leases::Leases;
use super::super::queue::earliest_per_hook;
use super::super::rate::{Admission, DueRow, split, window_keys};
use super::super::tenants::Tenants;
use super::{due_by, json_ids, reschedule};
use crate::Result;
use crate::model::{DeliveryId, HookId, Millis};

/// Rounds of one claim at most (see `claim::ROUNDS`).
const ROUNDS: usize = 3;

/// Claims due deliveries for `spec.owner`, due order first (see `claim::claim_due`); the
/// caller holds them in `leases` once the transaction committed. The hooks' namespaces come
/// from `tenants`, as of the read cache's `generation`.
pub fn claim_due(
    tx: &Transaction<'_>,
    spec: &ClaimSpec<'_>,
    leases: &Leases,
    tenants: &Tenants,
    generation: u64,
) -> Result<Vec<ClaimedRow>> {
    // Leases that ran out (a delivery whose attempt was never recorded): due again as they
    // were.
    let (expired, mut per_hook, mut taken) = {
        let mut held = leases.lock();
        let expired = held.expire(spec.now);
        (expired, held.per_hook().clone(), held.ids())
    };
    due_by(tx, &earliest_per_hook(expired.into_iter()))?;
    // Namespaces count only when a namespace's share is.
    let tenant_of = match spec.rate.in_flight > 0 {
        true => Some(tenants.current(tx, generation)?),
        false => None,
    };
    let tenant_of = tenant_of.as_deref();
    let mut claimed = Vec::new();
    for _ in 0..ROUNDS {
        let budget = usize::try_from(spec.limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(claimed.len());
        if budget == 0 {
            break;
        }
        // A later round counts what the rounds before took too.
        let busy = in_flight(&per_hook, tenant_of);
        let (round, more_hooks) = claim_round(tx, spec, budget, busy, &taken, tenant_of)?;
        for row in &round {
            taken.insert(row.id);
            *per_hook.entry(row.hook_id).or_default() += 1;
        }
        claimed.extend(round);
        if !more_hooks {
            break;
        }
    }
    claimed.sort_by_key(|row: &ClaimedRow| (row.next_attempt_at, row.id));
    Ok(claimed)
}

/// What is in flight per hook (`per_hook`), and per tenant when they count (`tenant_of`).
fn in_flight(
    per_hook: &HashMap<HookId, i64>,
    tenant_of: Option<&HashMap<HookId, String>>,
) -> InFlight {
    let mut per_tenant: HashMap<String, i64> = HashMap::new();
    for (hook, count) in per_hook {
        // A hook deleted since its deliveries were claimed counts for no one.
        if let Some(tenant) = tenant_of.and_then(|of| of.get(hook)) {
            *per_tenant.entry(tenant.clone()).or_default() += count;
        }
    }
    InFlight {
        per_hook: per_hook.clone(),
        per_tenant,
        oldest_lease: None,
    }
}

/// One round of a claim; `busy` is what is in flight as it starts, `taken` the deliveries
/// held (or taken by an earlier round). The claimed rows, and whether the candidate list
/// was full (more due hooks may wait behind it).
fn claim_round(
    tx: &Transaction<'_>,
    spec: &ClaimSpec<'_>,
    budget: usize,
    mut busy: InFlight,
    taken: &HashSet<DeliveryId>,
    tenant_of: Option<&HashMap<HookId, String>>,
) -> Result<(Vec<ClaimedRow>, bool)> {
    let share = i64::from(spec.rate.in_flight);
    // A hook with no free slot has at least one delivery in flight, so `budget` more than
    // the deliveries in flight always reaches every hook that can take one.
    let in_flight: i64 = busy.per_hook.values().sum();
    let wanted_hooks = i64::try_from(budget)
        .unwrap_or(i64::MAX)
        .saturating_add(in_flight);
    // The hooks of a tenant at its share are not looked at unless no other tenant's are due.
    let full = full_tenants(&busy, share);
    // One busy tenant alone (the rule under load from one namespace) is at its share and
    // has every hook: looking for the others' first would find none.
    let every_hook_full = tenant_of.is_some_and(|of| of.values().all(|t| full.contains(&t)));
    let mut candidates = match every_hook_full {
        true => Vec::new(),
        false => due_hooks(tx, spec.now, wanted_hooks, tenant_of, &full)?,
    };
    if candidates.is_empty() && !full.is_empty() {
        candidates = due_hooks(tx, spec.now, wanted_hooks, tenant_of, &[])?;
    }
    let list_full = i64::try_from(candidates.len()).unwrap_or(i64::MAX) == wanted_hooks;
    let shares_bind = shares_bind(share, &full, &candidates, list_full);

    let budget = i64::try_from(budget).unwrap_or(i64::MAX);
    let mut due = Vec::new();
    let mut rows = HashMap::new();
    let mut touched = Vec::new();
    let mut next = candidates.iter();
    loop {
        let need = budget - i64::try_from(due.len()).unwrap_or(i64::MAX);
        let promised = promise(&mut next, &mut busy, need, spec, shares_bind);
        if promised.is_empty() {
            break;
        }
        touched.extend(promised.hooks());
        for (row, claimed) in due_rows(tx, &promised, spec.now, &busy, taken)? {
            due.push(row);
            rows.insert(claimed.id, claimed);
        }
    }

    let Admission { admitted, limited } = admit(tx, due, spec)?;
    let claimed: Vec<ClaimedRow> = admitted
        .iter()
        .filter_map(|row| rows.remove(&row.id))
        .collect();
    let held = taken
        .iter()
        .copied()
        .chain(claimed.iter().map(|row| row.id));
    reschedule(tx, &touched, held)?;
    hold(tx, &limited, spec.now, taken)?;
    Ok((claimed, list_full))
}

/// The due hooks, oldest due first, up to `limit`, leaving out the hooks of the tenants in
/// `full`; each with its tenant when they count (`tenant_of`).
fn due_hooks(
    tx: &Transaction<'_>,
    now: Millis,
    limit: i64,
    tenant_of: Option<&HashMap<HookId, String>>,
    full: &[&String],
) -> Result<Vec<Candidate>> {
    let left_out = tenant_of
        .into_iter()
        .flatten()
        .filter_map(|(hook, tenant)| full.contains(&tenant).then_some(*hook));
    let mut select = tx.prepare_cached(
        "SELECT id, max_in_flight, ordered FROM hooks \
         WHERE next_due_at <= ?1 AND NOT permanently_disabled \
         AND (disabled_until IS NULL OR disabled_until <= ?1) \
         AND id NOT IN (SELECT value FROM json_each(?3)) \
         ORDER BY next_due_at, id LIMIT ?2",
    )?;
    let rows = select.query_map(params![now, limit, json_ids(left_out)], |row| {
        let id = row.get(0)?;
        Ok(Candidate {
            id,
            max_in_flight: row.get(1)?,
            ordered: row.get(2)?,
            tenant: tenant_of.and_then(|of| of.get(&id).cloned()),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The columns of a due delivery: its [`ClaimedRow`], then its rate key.
const DUE_COLUMNS: &str = "id, hook_id, event_id, event_header, trigger, idempotency_key, \
     attempts, next_attempt_at, rate_limited, rate_key";

fn read_due(row: &rusqlite::Row<'_>) -> rusqlite::Result<(DueRow, ClaimedRow)> {
    let claimed = ClaimedRow {
        id: row.get(0)?,
        hook_id: row.get(1)?,
        event_id: row.get(2)?,
        event_header: row.get(3)?,
        trigger: row.get(4)?,
        idempotency_key: row.get(5)?,
        attempts: row.get(6)?,
        next_attempt_at: row.get(7)?,
        rate_limited: row.get(8)?,
    };
    let due = DueRow {
        id: claimed.id,
        hook_id: claimed.hook_id,
        next_attempt_at: claimed.next_attempt_at,
        rate_key: row.get(9)?,
    };
    Ok((due, claimed))
}

/// The promised hooks' due rows that are not `taken`: an unordered hook's oldest due ones,
/// an ordered hook's oldest pending one if it is due (it may be waiting for its retry; with
/// nothing of it in flight, its head is not held). A held delivery is still pending in the
/// file: a hook's rows are read past the ones it has in flight.
fn due_rows(
    tx: &Transaction<'_>,
    promised: &Promised,
    now: Millis,
    busy: &InFlight,
    taken: &HashSet<DeliveryId>,
) -> Result<Vec<(DueRow, ClaimedRow)>> {
    let mut unordered = tx.prepare_cached(&format!(
        "SELECT {DUE_COLUMNS} FROM deliveries \
         WHERE hook_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2 \
         ORDER BY next_attempt_at, id LIMIT ?3"
    ))?;
    let mut head = tx.prepare_cached(&format!(
        "SELECT {DUE_COLUMNS} FROM deliveries \
         WHERE hook_id = ?1 AND state = 'pending' ORDER BY id LIMIT ?2"
    ))?;
    let mut due = Vec::new();
    for want in &promised.unordered {
        let held = busy.per_hook.get(&want.hook_id).copied().unwrap_or(0);
        let rows = unordered
            .query_map(params![want.hook_id, now, want.take + held], read_due)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let free = rows.into_iter().filter(|(row, _)| !taken.contains(&row.id));
        due.extend(free.take(usize::try_from(want.take).unwrap_or(0)));
    }
    for want in &promised.ordered {
        let rows = head
            .query_map(params![want.hook_id, want.take], read_due)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        due.extend(
            rows.into_iter()
                .filter(|(row, _)| row.next_attempt_at <= now && !taken.contains(&row.id)),
        );
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

/// Marks the limited hooks' due deliveries (those not in flight) as delayed and puts the
/// hooks aside until the next window opens.
fn hold(
    tx: &Transaction<'_>,
    limited: &[(HookId, Millis)],
    now: Millis,
    taken: &HashSet<DeliveryId>,
) -> Result<()> {
    if limited.is_empty() {
        return Ok(());
    }
    let limited: HashMap<HookId, Millis> = limited.iter().copied().collect();
    let mut delay = tx.prepare_cached(
        "UPDATE deliveries SET rate_limited = TRUE WHERE hook_id = ?1 AND state = 'pending' \
         AND next_attempt_at <= ?2 AND NOT rate_limited \
         AND id NOT IN (SELECT value FROM json_each(?3))",
    )?;
    let mut aside = tx.prepare_cached(
        "UPDATE hooks SET next_due_at = ?2 WHERE id = ?1 \
         AND (next_due_at IS NULL OR next_due_at < ?2)",
    )?;
    let taken = json_ids(taken.iter().copied());
    for (hook_id, until) in limited {
        delay.execute(params![hook_id, now, taken])?;
        aside.execute(params![hook_id, until])?;
    }
    Ok(())
}

/// Gives back every claim `owner` holds (graceful shutdown): its deliveries become due at
/// `now`. Which deliveries, for the caller to let go of once this commits.
pub fn release(
    tx: &Transaction<'_>,
    owner: &str,
    now: Millis,
    leases: &Leases,
) -> Result<Vec<DeliveryId>> {
    let theirs = leases.lock().held_by_owner(owner);
    let mut update = tx.prepare_cached(
        "UPDATE deliveries SET next_attempt_at = ?2, updated_at = ?2 \
         WHERE id = ?1 AND state = 'pending' RETURNING hook_id",
    )?;
    let mut hooks = Vec::new();
    for delivery in &theirs {
        if let Some(hook) = rusqlite::OptionalExtension::optional(
            update.query_row(params![delivery, now], |row| row.get::<_, HookId>(0)),
        )? {
            hooks.push((hook, now));
        }
    }
    due_by(tx, &earliest_per_hook(hooks.into_iter()))?;
    Ok(theirs)
}

/// At start, nothing is held: claims an earlier process held (in memory, or written as
/// leases by a version that wrote them) are given up, and every hook is due when its
/// pending deliveries say. (A claim makes its hook's due time leave out what it holds: a
/// hook whose every delivery was held when the process died would wait for nothing.)
pub fn forget_claims(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL \
         WHERE state = 'in_flight'",
        [],
    )?;
    let hooks = tx
        .prepare("SELECT id FROM hooks")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<HookId>>>()?;
    reschedule(tx, &hooks, [])
}
