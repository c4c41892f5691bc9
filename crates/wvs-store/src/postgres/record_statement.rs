//! Recording attempts on PostgreSQL as one statement: one round trip, prepared once per
//! connection (the batch travels as arrays, so its size does not change the text), in place
//! of a transaction of five statements or more.
//!
//! It does what recording through the query modules does, in CTEs: reads the attempts'
//! hooks and their health `FOR KEY SHARE` (a hook deleted meanwhile takes its attempts with
//! it: they are dropped, not failed), writes the log, settles the deliveries this node still
//! holds and makes retried deliveries' hooks due again. It runs on the relaxed connections
//! (a record a database crash loses sends its deliveries again), and once it committed the
//! node announces the work to every node (`work_notice`).
//!
//! The attempts' header sets (see `crate::header_sets`) are looked up in the node's memory;
//! one it does not know yet is found or added before the statement, committed on its own,
//! so that the ids remembered are of sets that exist whatever becomes of the statement.
//!
//! Hook health is folded in Rust (the rule is the dispatcher's) from what the statement read.
//! A batch with a failure in it runs the statement in a transaction and folds there, as
//! before: failures count exactly, on every node. A batch of successes (the rule under load)
//! runs alone; in the rare case that it changes a hook's health (a hook healthy again), the
//! change is folded into the health read locked in a transaction of its own right after:
//! a crash between the two forgets a recovery, which the next success makes again.

use sqlx::PgConnection;

use super::health::{self, HEALTH_COLUMNS, HealthRow, Healths};
use super::queue::{Settled, earliest_per_hook};
use super::sql::to_json;
use super::{PgStore, header_sets};
use crate::Result;
use crate::header_sets::Split;
use crate::model::{
    Attempt, DeliveryId, EventId, HeaderSetId, HealthRule, HookId, Millis, record_is_durable,
};

/// Records `attempts` made by `owner` (see the module).
pub async fn record(
    store: &PgStore,
    owner: &str,
    attempts: &[Attempt],
    rule: &dyn HealthRule,
) -> Result<()> {
    let splits = attempts
        .iter()
        .map(|a| Split::of(&a.request_headers))
        .collect::<Result<Vec<_>>>()?;
    let header_sets = header_set_ids(store, &splits).await?;
    let batch = Batch::of(owner, attempts, &splits, header_sets)?;
    let sql = statement();
    if record_is_durable(attempts) {
        super::store::retrying(|| {
            store.write(async |c| {
                let read = batch.run(c, sql).await?;
                health::apply(c, &live(attempts, &read), rule, read).await
            })
        })
        .await?;
        store.work.announce();
        return Ok(());
    }
    let read = super::store::retrying(async || {
        let mut conn = store.relaxed.acquire().await?;
        batch.run(&mut conn, sql).await
    })
    .await
    .inspect_err(|error| store.writes.failed(error))?;
    store.work.announce();
    let attempts = live(attempts, &read);
    let changing: Vec<HookId> = read
        .changes(&attempts, rule)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if changing.is_empty() {
        return Ok(());
    }
    super::store::retrying(|| {
        store.write(async |c| {
            health::apply_locked(c, &attempts, rule, changing.iter().copied()).await
        })
    })
    .await
}

/// The id of each split's header set, from memory or else found or added (and remembered).
async fn header_set_ids(store: &PgStore, splits: &[Split]) -> Result<Vec<HeaderSetId>> {
    let mut ids = Vec::with_capacity(splits.len());
    for split in splits {
        let id = match store.header_sets.get(&split.digest) {
            Some(id) => id,
            None => {
                let id = super::store::retrying(async || {
                    let mut conn = store.pool.acquire().await?;
                    header_sets::intern(&mut conn, split).await
                })
                .await?;
                store.header_sets.remember([(split.digest.clone(), id)]);
                id
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

/// The attempts whose hooks still exist.
fn live<'a>(attempts: &'a [Attempt], read: &Healths) -> Vec<&'a Attempt> {
    attempts
        .iter()
        .filter(|a| read.contains(a.hook_id))
        .collect()
}

/// The batch as the statement binds it: one array per column.
struct Batch<'a> {
    owner: &'a str,
    hook_ids: Vec<HookId>,
    delivery_ids: Vec<Option<DeliveryId>>,
    event_ids: Vec<Option<EventId>>,
    triggers: Vec<&'a str>,
    urls: Vec<&'a str>,
    header_sets: Vec<HeaderSetId>,
    /// The values of each attempt's own (its header set holds the rest).
    request_headers: Vec<&'a str>,
    request_bodies: Vec<Option<&'a [u8]>>,
    statuses: Vec<Option<i64>>,
    response_headers: Vec<String>,
    response_bodies: Vec<&'a [u8]>,
    durations: Vec<f64>,
    errors: Vec<Option<&'a str>>,
    created: Vec<Millis>,
    rate_limited: Vec<bool>,
    settled_ids: Vec<DeliveryId>,
    settled_states: Vec<&'static str>,
    settled_next: Vec<Option<Millis>>,
    settled_at: Vec<Millis>,
    retried_hooks: Vec<HookId>,
    retried_at: Vec<Millis>,
}

impl<'a> Batch<'a> {
    fn of(
        owner: &'a str,
        attempts: &'a [Attempt],
        splits: &'a [Split],
        header_sets: Vec<HeaderSetId>,
    ) -> Result<Batch<'a>> {
        let all: Vec<&Attempt> = attempts.iter().collect();
        let Settled { outcomes, retried } = Settled::of(&all);
        let (retried_hooks, retried_at) =
            earliest_per_hook(retried.into_iter()).into_iter().unzip();
        Ok(Batch {
            owner,
            hook_ids: attempts.iter().map(|a| a.hook_id).collect(),
            delivery_ids: attempts.iter().map(|a| a.delivery_id).collect(),
            event_ids: attempts.iter().map(|a| a.event_id).collect(),
            triggers: attempts.iter().map(|a| a.trigger.as_str()).collect(),
            urls: attempts.iter().map(|a| a.url.as_str()).collect(),
            header_sets,
            request_headers: splits.iter().map(|s| s.values.as_str()).collect(),
            request_bodies: attempts.iter().map(|a| a.request_body.as_deref()).collect(),
            statuses: attempts
                .iter()
                .map(|a| a.response_status.map(i64::from))
                .collect(),
            response_headers: attempts
                .iter()
                .map(|a| to_json(&a.response_headers, "attempts.response_headers"))
                .collect::<Result<_>>()?,
            response_bodies: attempts
                .iter()
                .map(|a| a.response_body.as_slice())
                .collect(),
            durations: attempts.iter().map(|a| a.execution_duration).collect(),
            errors: attempts
                .iter()
                .map(|a| a.internal_error.as_deref())
                .collect(),
            created: attempts.iter().map(|a| a.created_at).collect(),
            rate_limited: attempts.iter().map(|a| a.rate_limited).collect(),
            settled_ids: outcomes.iter().map(|o| o.0).collect(),
            settled_states: outcomes.iter().map(|o| o.1).collect(),
            settled_next: outcomes.iter().map(|o| o.2).collect(),
            settled_at: outcomes.iter().map(|o| o.3).collect(),
            retried_hooks,
            retried_at,
        })
    }

    /// Runs the statement; the health of the hooks that still exist.
    async fn run(&self, conn: &mut PgConnection, sql: &str) -> Result<Healths> {
        let rows: Vec<HealthRow> = sqlx::query_as(sql)
            .bind(&self.hook_ids)
            .bind(&self.delivery_ids)
            .bind(&self.event_ids)
            .bind(&self.triggers)
            .bind(&self.urls)
            .bind(&self.header_sets)
            .bind(&self.request_headers)
            .bind(&self.request_bodies)
            .bind(&self.statuses)
            .bind(&self.response_headers)
            .bind(&self.response_bodies)
            .bind(&self.durations)
            .bind(&self.errors)
            .bind(&self.created)
            .bind(&self.rate_limited)
            .bind(&self.settled_ids)
            .bind(&self.settled_states)
            .bind(&self.settled_next)
            .bind(&self.settled_at)
            .bind(self.owner)
            .bind(&self.retried_hooks)
            .bind(&self.retried_at)
            .fetch_all(conn)
            .await?;
        Healths::of(rows)
    }
}

fn statement() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        RECORD
            .replace("{health}", HEALTH_COLUMNS)
            .replace("{due}", super::hooks::DUE_BY)
    })
}

/// $1..$15 the attempts' columns, $16..$19 the deliveries settled (id, state, next attempt,
/// time), $20 the owner, $21 and $22 the hooks retried and when.
const RECORD: &str = "\
WITH a AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], \
        $5::text[], $6::bigint[], $7::text[], $8::bytea[], $9::bigint[], $10::text[], $11::bytea[], \
        $12::float8[], $13::text[], $14::bigint[], $15::bool[]) \
    AS a (hook_id, delivery_id, event_id, trigger, url, header_set_id, request_headers, request_body, \
        response_status, response_headers, response_body, execution_duration, internal_error, \
        created_at, rate_limited)), \
live AS MATERIALIZED (SELECT {health} FROM hooks WHERE id IN (SELECT hook_id FROM a) \
    ORDER BY id FOR KEY SHARE), \
logged AS (INSERT INTO attempts (hook_id, delivery_id, event_id, trigger, url, header_set_id, \
        request_headers, request_body, response_status, response_headers, response_body, execution_duration, \
        internal_error, created_at, rate_limited) \
    SELECT a.* FROM a WHERE a.hook_id IN (SELECT id FROM live)), \
settled AS (UPDATE deliveries SET state = o.state, \
        next_attempt_at = coalesce(o.next_at, deliveries.next_attempt_at), \
        attempts = deliveries.attempts + 1, lease_owner = NULL, lease_expires_at = NULL, \
        updated_at = o.at \
    FROM unnest($16::bigint[], $17::text[], $18::bigint[], $19::bigint[]) AS o (id, state, next_at, at) \
    WHERE deliveries.id = o.id AND deliveries.state = 'in_flight' AND deliveries.lease_owner = $20), \
retried AS (UPDATE hooks SET next_due_at = {due} \
    FROM unnest($21::bigint[], $22::bigint[]) AS d (column1, column2) \
    WHERE hooks.id = d.column1 AND NOT hooks.permanently_disabled) \
SELECT l.* FROM live l";
