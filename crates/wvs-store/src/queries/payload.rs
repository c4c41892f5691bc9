//! Large payloads in parts: the first [`PART`] bytes in `events.payload`, the rest in
//! `event_payload_parts`, one part a row. Each statement then carries at most one part, so
//! storing or reading a 25 MiB event never holds several copies of all of it at once (the
//! driver copies what it binds, SQLite copies it again, and builds a record of it). A
//! payload of up to one part, the common case, is a single column as before.

use super::Conn;

use crate::Result;
use crate::model::EventId;

/// Bytes per part.
pub const PART: usize = 1024 * 1024;

/// What `events.payload` holds of `payload`: its first part.
pub fn first(payload: &[u8]) -> &[u8] {
    &payload[..payload.len().min(PART)]
}

/// Stores the parts of `payload` after the first, for the event `event_id`.
pub async fn store_rest(conn: &mut Conn, event_id: EventId, payload: &[u8]) -> Result<()> {
    for (seq, part) in payload.chunks(PART).enumerate().skip(1) {
        sqlx::query("INSERT INTO event_payload_parts (event_id, seq, part) VALUES ($1, $2, $3)")
            .bind(event_id)
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .bind(part)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Appends to `payload` (the event's first part, as `events.payload` holds it) the parts
/// after it, one statement each; nothing to read when the first part is not full.
pub async fn read_rest(conn: &mut Conn, event_id: EventId, payload: &mut Vec<u8>) -> Result<()> {
    if payload.len() < PART {
        return Ok(());
    }
    // Room for the whole payload at once: growing by doubling would hold the old and the
    // new buffer together, up to three times the payload.
    let rest: i64 = sqlx::query_scalar(
        "SELECT CAST(coalesce(sum(length(part)), 0) AS BIGINT) FROM event_payload_parts \
         WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&mut *conn)
    .await?;
    payload.reserve_exact(usize::try_from(rest).unwrap_or(0));
    for seq in 1_i64.. {
        let part: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT part FROM event_payload_parts WHERE event_id = $1 AND seq = $2",
        )
        .bind(event_id)
        .bind(seq)
        .fetch_optional(&mut *conn)
        .await?;
        match part {
            Some(part) => payload.extend_from_slice(&part),
            None => break,
        }
    }
    Ok(())
}
