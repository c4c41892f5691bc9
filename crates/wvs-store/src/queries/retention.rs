//! Retention: deletes delivery-log rows, and events with their payload and deliveries, once
//! they are older than the retention's cutoff; one small batch per transaction, so that the
//! queue's writes never wait long behind it.
//!
//! Nodes sharing a PostgreSQL database prune side by side: each batch locks the rows it
//! works on and skips those another node's batch holds (`Db::SKIP_LOCKED`), so no two
//! nodes delete the same rows or wait on each other.
//!
//! The newest row of `attempts` and of `events` (and the event of the newest delivery) is
//! never deleted: SQLite gives a new row the largest id plus one, so emptying a table would
//! hand out ids that were already shown (a log entry, an event).

use super::Conn;
use super::Db;
use super::sql::{in_lists, placeholders};
use crate::Result;
use crate::dialect::Dialect;
use crate::model::{AttemptId, EventId, Millis, PruneCursor, PrunedEvents};

/// Deletes up to `limit` delivery-log rows created before `cutoff`, oldest first; returns
/// how many. Remembers the largest id deleted (see [`was_pruned`]).
pub async fn prune_log(conn: &mut Conn, cutoff: Millis, limit: u32) -> Result<u64> {
    let deleted: Vec<AttemptId> = sqlx::query_scalar(&format!(
        "DELETE FROM attempts WHERE id IN (\
             SELECT id FROM attempts WHERE created_at < $1 \
             AND id < (SELECT max(id) FROM attempts) \
             ORDER BY created_at, id LIMIT $2{}) \
         RETURNING id",
        Db::SKIP_LOCKED
    ))
    .bind(cutoff)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    if let Some(&through) = deleted.iter().max() {
        sqlx::query("UPDATE log_retention SET pruned_through = $1 WHERE pruned_through < $1")
            .bind(through)
            .execute(&mut *conn)
            .await?;
    }
    Ok(deleted.len() as u64)
}

/// Whether the delivery-log row `attempt_id`, not found, was deleted by retention (rather
/// than never written).
pub async fn was_pruned(conn: &mut Conn, attempt_id: AttemptId) -> Result<bool> {
    let through: AttemptId = sqlx::query_scalar("SELECT pruned_through FROM log_retention")
        .fetch_one(conn)
        .await?;
    Ok(attempt_id > AttemptId(0) && attempt_id <= through)
}

/// Looks at up to `limit` events created before `cutoff`, oldest first after `after`, and
/// deletes those whose deliveries are all settled (succeeded or failed) since before
/// `cutoff`: their payload and deliveries go with them, and their idempotency key is free
/// again. An event with a delivery pending (retrying, held by a disabled hook) or in flight
/// stays however old; so does one with a delivery settled after `cutoff`, whose log rows
/// still show its payload. Returns how many were deleted and where the next batch starts
/// (`None`: no event before `cutoff` is left to look at).
pub async fn prune_events(
    conn: &mut Conn,
    cutoff: Millis,
    after: Option<PruneCursor>,
    limit: u32,
) -> Result<PrunedEvents> {
    let after = after.unwrap_or(PruneCursor {
        created_at: Millis::MIN,
        id: EventId(i64::MIN),
    });
    let scanned: Vec<(EventId, Millis)> = sqlx::query_as(&format!(
        "SELECT id, created_at FROM events WHERE created_at < $1 \
         AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
         ORDER BY created_at, id LIMIT $4{}",
        Db::SKIP_LOCKED
    ))
    .bind(cutoff)
    .bind(after.created_at)
    .bind(after.id)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    let Some(&(last_id, last_created)) = scanned.last() else {
        return Ok(PrunedEvents {
            deleted: 0,
            next: None,
        });
    };
    let next = Some(PruneCursor {
        created_at: last_created,
        id: last_id,
    });
    let ids: Vec<EventId> = scanned.iter().map(|&(id, _)| id).collect();
    let mut kept = newest_kept(conn).await?;
    for list in in_lists(&ids) {
        // Locked first, so that a delivery requeued by another transaction meanwhile is
        // seen as pending (and its event kept), not deleted with it.
        let listed = placeholders(1, list.len());
        let sql = format!(
            "SELECT id FROM deliveries WHERE event_id IN ({listed}){}",
            Db::LOCK
        );
        let mut lock = sqlx::query(&sql);
        for &id in &list {
            lock = lock.bind(id);
        }
        lock.execute(&mut *conn).await?;
        let sql = format!(
            "SELECT DISTINCT event_id FROM deliveries WHERE event_id IN ({listed}) \
             AND (state NOT IN ('succeeded', 'failed') OR updated_at >= ${})",
            list.len() + 1
        );
        let mut busy = sqlx::query_scalar::<_, EventId>(&sql);
        for &id in &list {
            busy = busy.bind(id);
        }
        kept.extend(busy.bind(cutoff).fetch_all(&mut *conn).await?);
    }
    let gone: Vec<EventId> = ids.into_iter().filter(|id| !kept.contains(id)).collect();
    let mut deleted = 0;
    for list in in_lists(&gone) {
        let sql = format!(
            "DELETE FROM events WHERE id IN ({})",
            placeholders(1, list.len())
        );
        let mut delete = sqlx::query(&sql);
        for &id in &list {
            delete = delete.bind(id);
        }
        deleted += delete.execute(&mut *conn).await?.rows_affected();
    }
    Ok(PrunedEvents { deleted, next })
}

/// The events never deleted, so that SQLite never hands out their ids again: the newest
/// event and the event of the newest delivery.
async fn newest_kept(conn: &mut Conn) -> Result<Vec<EventId>> {
    let newest: (Option<EventId>, Option<EventId>) = sqlx::query_as(
        "SELECT (SELECT max(id) FROM events), \
         (SELECT event_id FROM deliveries WHERE id = (SELECT max(id) FROM deliveries))",
    )
    .fetch_one(conn)
    .await?;
    Ok([newest.0, newest.1].into_iter().flatten().collect())
}
