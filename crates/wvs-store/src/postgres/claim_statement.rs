//! The claim on PostgreSQL as one statement: one round trip, prepared once per connection
//! (sqlx caches it by its text), in place of a transaction of seven or more. It commits
//! durably: on the relaxed connections (see `PgStore::relaxed`) claims came back sooner, so
//! more of them ran, each taking fewer deliveries, and the rate fell (BENCHMARKS.md).
//!
//! It does what `claim::claim_due` does, in CTEs: counts what is in flight, locks the due
//! hooks with `FOR NO KEY UPDATE SKIP LOCKED` (another node's claim takes other hooks
//! meanwhile), gives each hook as many of its due deliveries as it has free slots (its cap
//! less what is in flight; the head, one at a time, for an ordered hook), within each
//! namespace's share while the shares bind and within the claim's budget, takes them, and
//! reschedules the hooks it looked at (writing a hook's row only when it took from the hook,
//! took its marks or its due time changes).
//!
//! The hooks of namespaces at their share are listed last, so a full list whose last hook
//! is of such a namespace has every other due hook in it: the shares bind only when two
//! namespaces are among those listed and at their share, or when the list may have left
//! another namespace's hook out (it is full and ends with a namespace below its share).
//!
//! A hook is due when its `next_due_at` has come or when it has a due mark that has
//! (`hook_due_marks`, schema version 12): an ingest marks the hooks it gives deliveries
//! rather than write their rows, so that ingests wait neither for each other nor for a claim
//! that holds the hook. The statement takes the marks of the hooks it plans for and writes
//! their rows.
//!
//! One statement reads one snapshot, taken before it locks the hooks: a hook that another
//! transaction changed after that snapshot may have deliveries the snapshot does not show
//! (in flight or pending). Two kinds of writes change what a hook has:
//! - those that take a hook's deliveries or make some pending again (claims, recorded
//!   retries, leases taken back, resends: `hooks::due_by`, the rescheduling here) write the
//!   hook's row, so a hook whose locked row is newer than the snapshot's (`xmin`) is left as
//!   it is, still due, for the next claim; what the snapshot says of every other hook is
//!   still true under the lock;
//! - an ingest adds a mark in the transaction that adds the deliveries: a mark this
//!   statement can see comes with deliveries it can see, and only marks it can see are
//!   taken. A mark added after the snapshot stays, and keeps its hook due for the next claim
//!   whatever this one made of `next_due_at`.
//!
//! Deliveries whose lease ran out are taken back by the transaction of `claim::claim_due`'s
//! `expire_leases` (rare: a node died), before this statement runs again. A claim under a
//! per-namespace rate limit (`web_hook_calls`) counts calls in `rate_windows` between its
//! reads and its writes: it runs `claim::claim_due` in one transaction instead.

use sqlx::FromRow;

use super::PgStore;
use super::claim::{self, ClaimSpec, ClaimedRow};
use crate::Result;
use crate::model::{DeliveryId, EventId, HookId, Millis};

/// Statements of one claim at most, as `claim::claim_due`'s rounds: a statement whose
/// list of due hooks was full may have left claimable hooks behind them.
const ROUNDS: usize = 3;

/// One row of the statement: what it saw (on every row), and a delivery it took, if any
/// (none: one row of NULLs).
#[derive(FromRow)]
struct Row {
    oldest_lease: Option<Millis>,
    list_full: bool,
    id: Option<DeliveryId>,
    hook_id: Option<HookId>,
    event_id: Option<EventId>,
    event_header: Option<String>,
    trigger: Option<String>,
    idempotency_key: Option<String>,
    attempts: Option<i64>,
    next_attempt_at: Option<Millis>,
    rate_limited: Option<bool>,
}

impl Row {
    fn taken(self) -> Option<ClaimedRow> {
        Some(ClaimedRow {
            id: self.id?,
            hook_id: self.hook_id?,
            event_id: self.event_id?,
            event_header: self.event_header?,
            trigger: self.trigger?,
            idempotency_key: self.idempotency_key?,
            attempts: self.attempts?,
            next_attempt_at: self.next_attempt_at?,
            rate_limited: self.rate_limited?,
        })
    }
}

/// What one statement took and saw.
struct Round {
    taken: Vec<ClaimedRow>,
    /// The lease that runs out first among the deliveries in flight.
    oldest_lease: Option<Millis>,
    list_full: bool,
}

/// Claims due deliveries for `spec.owner` (see the module), due order first.
pub async fn claim_due(store: &PgStore, spec: &ClaimSpec<'_>) -> Result<Vec<ClaimedRow>> {
    if spec.rate.calls > 0 {
        return store.write(async |c| claim::claim_due(c, spec).await).await;
    }
    let (cap_hooks, caps): (Vec<HookId>, Vec<i64>) = spec
        .hook_caps
        .iter()
        .map(|(hook, cap)| (*hook, i64::from(*cap)))
        .unzip();
    let sql = statement(spec.rate.in_flight > 0);
    let mut claimed = Vec::new();
    let mut expired_taken_back = false;
    let mut rounds = 0;
    while rounds < ROUNDS {
        let budget = i64::from(spec.limit) - i64::try_from(claimed.len()).unwrap_or(i64::MAX);
        if budget <= 0 {
            break;
        }
        let round = run(store, sql, spec, budget, &cap_hooks, &caps).await?;
        claimed.extend(round.taken);
        if !expired_taken_back && round.oldest_lease.is_some_and(|lease| lease < spec.now) {
            // Deliveries of a node that died are pending again, then claimed like any other
            // (the round just run counted them in flight: it took less, never more).
            store
                .write(async |c| claim::expire_leases(c, spec.now).await)
                .await?;
            expired_taken_back = true;
            continue;
        }
        rounds += 1;
        if !round.list_full {
            break;
        }
    }
    claimed.sort_by_key(|row: &ClaimedRow| (row.next_attempt_at, row.id));
    Ok(claimed)
}

async fn run(
    store: &PgStore,
    sql: &str,
    spec: &ClaimSpec<'_>,
    budget: i64,
    cap_hooks: &[HookId],
    caps: &[i64],
) -> Result<Round> {
    let rows: Vec<Row> = super::store::retrying(async || {
        Ok(sqlx::query_as::<_, Row>(sql)
            .bind(spec.now)
            .bind(budget)
            .bind(spec.owner)
            .bind(spec.lease_until)
            .bind(i64::from(spec.rate.in_flight))
            .bind(cap_hooks)
            .bind(caps)
            .fetch_all(&store.pool)
            .await?)
    })
    .await
    .inspect_err(|error| store.writes.failed(error))?;
    let seen = rows.first();
    Ok(Round {
        oldest_lease: seen.and_then(|row| row.oldest_lease),
        list_full: seen.is_some_and(|row| row.list_full),
        taken: rows.into_iter().filter_map(Row::taken).collect(),
    })
}

/// The statement, with shares counted per top-level namespace or not.
fn statement(shares: bool) -> &'static str {
    static WITH_SHARES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static WITHOUT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if shares {
        WITH_SHARES.get_or_init(|| with_tenant(&claim::tenant_of_hook()))
    } else {
        WITHOUT.get_or_init(|| with_tenant("NULL::text"))
    }
}

fn with_tenant(tenant: &str) -> String {
    CLAIM
        .replace("{tenant}", tenant)
        .replace("{next_due}", NEXT_DUE)
}

/// A rescheduled hook `h`'s due time from `p.due`, its next pending delivery's (after those
/// taken, which are the first in the order the claim took them: skipped by `OFFSET`, which
/// walks the index where `NOT IN` made PostgreSQL sort every pending row): none while
/// it is disabled for good, not before a temporary disable ends.
const NEXT_DUE: &str = "CASE WHEN h.permanently_disabled THEN NULL \
    WHEN h.disabled_until > p.due THEN h.disabled_until ELSE p.due END";

/// $1 now, $2 the budget, $3 the owner, $4 the lease's end, $5 a namespace's share (0: not
/// counted), $6 and $7 the dispatcher's cap per hook. `{tenant}`: a hook `h`'s namespace.
///
/// `taken` finds each chosen delivery by its hook and id: with only the id, while the
/// statistics lagged behind a burst, PostgreSQL read the hook's whole pending index
/// (`state = 'pending'`) again for every delivery it took (288 entries, 53 times, in one
/// logged plan).
const CLAIM: &str = "\
WITH caps AS (SELECT * FROM unnest($6::bigint[], $7::bigint[]) AS c (hook_id, cap)), \
flying AS MATERIALIZED (SELECT hook_id, count(*) AS n, min(lease_expires_at) AS oldest \
    FROM deliveries WHERE state = 'in_flight' GROUP BY hook_id), \
tenant_flying AS MATERIALIZED (SELECT {tenant} AS tenant, sum(f.n)::bigint AS n \
    FROM flying f JOIN hooks h ON h.id = f.hook_id WHERE $5 > 0 GROUP BY 1), \
full_tenants AS MATERIALIZED (SELECT tenant FROM tenant_flying WHERE n >= $5), \
wanted AS MATERIALIZED (SELECT $2 + coalesce(sum(n), 0)::bigint AS hooks FROM flying), \
marked AS MATERIALIZED (SELECT hook_id, min(due_at) AS due FROM hook_due_marks GROUP BY hook_id), \
due_hooks AS MATERIALIZED (SELECT id FROM hooks WHERE next_due_at <= $1 \
    UNION SELECT hook_id FROM marked WHERE due <= $1), \
locked AS MATERIALIZED (SELECT h.id, h.max_in_flight, h.ordered, \
        least(h.next_due_at, m.due) AS next_due_at, m.hook_id IS NOT NULL AS marked, \
        h.xmin AS version, {tenant} AS tenant FROM hooks h LEFT JOIN marked m ON m.hook_id = h.id \
    WHERE h.id IN (SELECT id FROM due_hooks) AND NOT h.permanently_disabled \
    AND (h.disabled_until IS NULL OR h.disabled_until <= $1) \
    ORDER BY coalesce({tenant} IN (SELECT tenant FROM full_tenants), FALSE), \
        least(h.next_due_at, m.due), h.id \
    LIMIT (SELECT hooks FROM wanted) FOR NO KEY UPDATE OF h SKIP LOCKED), \
candidates AS MATERIALIZED (SELECT l.id, l.ordered, l.tenant, l.marked, \
        l.version = (SELECT s.xmin FROM hooks s WHERE s.id = l.id) AS fresh, \
        CASE WHEN l.ordered THEN \
            CASE WHEN coalesce(f.n, 0) = 0 AND least(l.max_in_flight, coalesce(c.cap, l.max_in_flight)) > 0 \
            THEN 1 ELSE 0 END \
        ELSE greatest(least(l.max_in_flight, coalesce(c.cap, l.max_in_flight)) - coalesce(f.n, 0), 0) \
        END AS free, \
        row_number() OVER (ORDER BY coalesce(l.tenant IN (SELECT tenant FROM full_tenants), FALSE), \
            l.next_due_at, l.id) AS rank \
    FROM locked l LEFT JOIN flying f ON f.hook_id = l.id LEFT JOIN caps c ON c.hook_id = l.id), \
due AS MATERIALIZED ( \
    SELECT c.id AS hook_id, c.rank, c.tenant, d.id, d.nth FROM candidates c CROSS JOIN LATERAL ( \
        SELECT x.id, row_number() OVER (ORDER BY x.next_attempt_at, x.id) AS nth FROM ( \
            SELECT id, next_attempt_at FROM deliveries WHERE hook_id = c.id AND state = 'pending' \
            AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT c.free) x) d \
    WHERE c.fresh AND NOT c.ordered AND c.free > 0 \
    UNION ALL \
    SELECT c.id, c.rank, c.tenant, d.id, 1 FROM candidates c CROSS JOIN LATERAL ( \
        SELECT id, next_attempt_at FROM deliveries WHERE hook_id = c.id AND state = 'pending' \
        ORDER BY id LIMIT 1) d \
    WHERE c.fresh AND c.ordered AND c.free > 0 AND d.next_attempt_at <= $1), \
seen AS MATERIALIZED (SELECT (SELECT min(oldest) FROM flying) AS oldest_lease, \
    (SELECT count(*) FROM locked) = (SELECT hooks FROM wanted) AS list_full), \
binds AS MATERIALIZED (SELECT $5 > 0 AND ((SELECT count(DISTINCT t) \
    FROM (SELECT tenant AS t FROM full_tenants UNION SELECT tenant FROM locked) w) > 1 \
    OR ((SELECT list_full FROM seen) AND NOT coalesce((SELECT c.tenant IN (SELECT tenant FROM full_tenants) \
        FROM candidates c ORDER BY c.rank DESC LIMIT 1), FALSE))) AS shares), \
available AS (SELECT hook_id, rank, tenant, count(*) AS n FROM due GROUP BY hook_id, rank, tenant), \
tenant_capped AS (SELECT a.hook_id, a.rank, CASE WHEN (SELECT shares FROM binds) THEN \
        least(a.n, greatest(0, $5 - coalesce((SELECT t.n FROM tenant_flying t WHERE t.tenant = a.tenant), 0) \
            - coalesce(sum(a.n) OVER (PARTITION BY a.tenant ORDER BY a.rank \
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) \
        ELSE a.n END AS n FROM available a), \
promised AS (SELECT hook_id, least(n, greatest(0, $2 - coalesce(sum(n) OVER (ORDER BY rank \
    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS take FROM tenant_capped), \
chosen AS MATERIALIZED (SELECT d.id, d.hook_id FROM due d JOIN promised p ON p.hook_id = d.hook_id \
    WHERE d.nth <= p.take), \
taken AS (UPDATE deliveries d SET state = 'in_flight', lease_owner = $3, lease_expires_at = $4, \
        updated_at = $1 FROM chosen c WHERE d.hook_id = c.hook_id AND d.id = c.id \
        AND d.state = 'pending' \
    RETURNING d.id, d.hook_id, d.event_id, d.event_header, d.trigger, d.idempotency_key, \
        d.attempts, d.next_attempt_at, d.rate_limited), \
marks_taken AS (DELETE FROM hook_due_marks m USING candidates c \
    WHERE m.hook_id = c.id AND c.fresh AND c.marked), \
next_pending AS MATERIALIZED (SELECT c.id, t.took, c.marked, CASE WHEN c.ordered THEN \
            (SELECT d.next_attempt_at FROM deliveries d WHERE d.hook_id = c.id \
             AND d.state = 'pending' ORDER BY d.id OFFSET t.took LIMIT 1) \
        ELSE (SELECT d.next_attempt_at FROM deliveries d WHERE d.hook_id = c.id \
             AND d.state = 'pending' ORDER BY d.next_attempt_at, d.id OFFSET t.took LIMIT 1) \
        END AS due \
    FROM candidates c CROSS JOIN LATERAL (SELECT count(*) AS took FROM chosen ch \
        WHERE ch.hook_id = c.id) t WHERE c.fresh), \
rescheduled AS (UPDATE hooks h SET next_due_at = {next_due} FROM next_pending p \
    WHERE h.id = p.id AND (p.took > 0 OR p.marked OR h.next_due_at IS DISTINCT FROM {next_due})) \
SELECT s.oldest_lease, s.list_full, t.* FROM seen s LEFT JOIN taken t ON TRUE";
