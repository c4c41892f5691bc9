//! Read-only queries of the Deliveries pages: deliveries in the state an operator reads
//! ([`DeliveryState`]), filtered and paged, with their attempts. Nothing here writes.

use sqlx::FromRow;

use super::Conn;
use super::sql::{count, in_lists, placeholders};
use crate::delivery_view::{
    AttemptSummary, DeliveryFilter, DeliveryRecord, DeliveryState, DeliveryStates,
};
use crate::model::{AttemptId, DeliveryId, EventId, HookId, Millis, Page, Paged};
use crate::{Result, StoreError};

/// A delivery's shown state at `$1` (now): a pending delivery among the claims held in
/// memory (`$2`, see [`claimed_list`]) is in flight; one of a hook that is disabled then is
/// held; one tried before is retrying.
macro_rules! shown_state {
    () => {
        "CASE WHEN d.state = 'pending' AND $2 LIKE '%,' || d.id || ',%' THEN 'in_flight' \
              WHEN d.state = 'pending' AND (h.permanently_disabled \
                  OR COALESCE(h.disabled_until, 0) > $1) THEN 'held' \
              WHEN d.state = 'pending' AND d.attempts > 0 THEN 'retrying' \
              ELSE d.state END"
    };
}

/// The deliveries matching the filter ($1 now, $2 the claims held, $3..$10 the filter),
/// with their shown state,
/// as a table `v` to select from.
macro_rules! matching {
    () => {
        concat!(
            "(SELECT d.id, d.hook_id, d.event_id, e.uuid AS event_uuid, e.created_at AS event_at, \
                     d.trigger, ",
            shown_state!(),
            " AS shown, d.next_attempt_at \
             FROM deliveries d JOIN hooks h ON h.id = d.hook_id JOIN events e ON e.id = d.event_id \
             WHERE ($3 IS NULL OR d.hook_id = $3) AND ($4 = '' OR d.trigger = $4) \
               AND ($5 = '' OR e.uuid = $5) AND e.created_at >= $6 AND e.created_at < $7) AS v \
             WHERE ($8 = '' OR v.shown = $8) AND (NOT $9 OR v.shown <> 'succeeded') \
               AND (NOT $10 OR v.shown <> 'failed') "
        )
    };
}

#[derive(FromRow)]
struct DeliveryRow {
    id: DeliveryId,
    hook_id: HookId,
    event_id: EventId,
    event_uuid: String,
    event_at: Millis,
    trigger: String,
    shown: String,
    next_attempt_at: Millis,
}

/// The claims held in memory (SQLite's; none on PostgreSQL, whose claims are written) as
/// one text both dialects can match a delivery's id in: `,12,15,`.
fn claimed_list(claimed: &[DeliveryId]) -> String {
    claimed
        .iter()
        .fold(",".to_owned(), |list, id| format!("{list}{id},"))
}

fn state(name: &str) -> Result<DeliveryState> {
    DeliveryState::parse(name).ok_or(StoreError::Corrupt("deliveries.state"))
}

/// Binds now, the claims held and the filter to a statement built on [`matching`].
macro_rules! bind_filter {
    ($query:expr, $filter:expr, $claimed:expr, $now:expr) => {{
        let filter: &DeliveryFilter = $filter;
        let (only, not_succeeded, not_failed) = match filter.states {
            DeliveryStates::Any => ("", false, false),
            DeliveryStates::Undelivered => ("", true, false),
            DeliveryStates::Waiting => ("", true, true),
            DeliveryStates::Only(state) => (state.name(), false, false),
        };
        $query
            .bind($now)
            .bind($claimed)
            .bind(filter.hook_id)
            .bind(filter.trigger.clone().unwrap_or_default())
            .bind(filter.event_uuid.clone().unwrap_or_default())
            .bind(filter.from.unwrap_or(Millis::MIN))
            .bind(filter.to.unwrap_or(Millis::MAX))
            .bind(only)
            .bind(not_succeeded)
            .bind(not_failed)
    }};
}

/// The deliveries matching `filter` at `now`, newest first, each with its attempts.
pub async fn list(
    conn: &mut Conn,
    filter: &DeliveryFilter,
    claimed: &[DeliveryId],
    now: Millis,
    page: Page,
) -> Result<Paged<DeliveryRecord>> {
    let claimed = claimed_list(claimed);
    let rows: Vec<DeliveryRow> = bind_filter!(
        sqlx::query_as(concat!(
            "SELECT * FROM ",
            matching!(),
            "ORDER BY v.id DESC LIMIT $11 OFFSET $12"
        )),
        filter,
        &claimed,
        now
    )
    .bind(i64::from(page.per_page))
    .bind(page.offset())
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = bind_filter!(
        sqlx::query_scalar(concat!("SELECT count(*) FROM ", matching!())),
        filter,
        &claimed,
        now
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(DeliveryRecord {
            attempts: attempts(conn, row.hook_id, row.event_id).await?,
            id: row.id,
            hook_id: row.hook_id,
            event_id: row.event_id,
            event_uuid: row.event_uuid,
            event_at: row.event_at,
            trigger: row.trigger,
            state: state(&row.shown)?,
            next_attempt_at: row.next_attempt_at,
        });
    }
    Ok(Paged {
        items,
        total: count(total),
    })
}

/// The attempts of one event to one hook, oldest first.
async fn attempts(
    conn: &mut Conn,
    hook_id: HookId,
    event_id: EventId,
) -> Result<Vec<AttemptSummary>> {
    let rows: Vec<(AttemptId, Option<i64>, Option<String>, Millis)> = sqlx::query_as(
        "SELECT id, response_status, internal_error, created_at FROM attempts \
         WHERE hook_id = $1 AND event_id = $2 ORDER BY id",
    )
    .bind(hook_id)
    .bind(event_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, status, internal_error, created_at)| {
            Ok(AttemptSummary {
                id,
                response_status: status
                    .map(u16::try_from)
                    .transpose()
                    .map_err(|_| StoreError::Corrupt("attempts.response_status"))?,
                internal_error,
                created_at,
            })
        })
        .collect()
}

/// The shown state at `now` of each delivery among `ids` that exists.
pub async fn states(
    conn: &mut Conn,
    ids: &[DeliveryId],
    claimed: &[DeliveryId],
    now: Millis,
) -> Result<Vec<(DeliveryId, DeliveryState)>> {
    let claimed = claimed_list(claimed);
    let mut states = Vec::with_capacity(ids.len());
    for list in in_lists(ids) {
        let sql = format!(
            "SELECT d.id, {} FROM deliveries d JOIN hooks h ON h.id = d.hook_id \
             WHERE d.id IN ({})",
            shown_state!(),
            placeholders(3, list.len())
        );
        let mut query = sqlx::query_as::<_, (DeliveryId, String)>(&sql)
            .bind(now)
            .bind(&claimed);
        for id in &list {
            query = query.bind(*id);
        }
        for (id, shown) in query.fetch_all(&mut *conn).await? {
            states.push((id, state(&shown)?));
        }
    }
    states.sort_unstable_by_key(|(id, _)| *id);
    states.dedup_by_key(|(id, _)| *id);
    Ok(states)
}
