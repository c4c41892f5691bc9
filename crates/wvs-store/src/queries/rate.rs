//! The per-namespace rate limit (GitLab's `web_hook_calls`), counted in the store so that
//! every node shares one count: `rate_windows` holds, per top-level namespace, the start of
//! its current window and the calls made in it. Deliveries over the limit are not dropped:
//! they stay pending, are marked `rate_limited` (the log says they were delayed), and their
//! hook is not looked at again before the next window.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use sqlx::FromRow;

use super::sql::{in_lists, placeholders, runs, tuples};
use super::{Conn, Db};
use crate::Result;
use crate::dialect::Dialect;
use crate::model::{DeliveryId, HookId, Millis, RateLimit};

/// A due delivery, before it is taken: what the claim reads and the rate limits admit (here,
/// so that the claim depends on the limits and not the other way round).
#[derive(FromRow)]
pub struct DueRow {
    pub id: DeliveryId,
    pub hook_id: HookId,
    pub next_attempt_at: Millis,
    pub rate_key: Option<String>,
}

/// The due deliveries split by the limit.
pub struct Admission {
    pub admitted: Vec<DueRow>,
    /// Hooks that had a delivery refused, with when the next window opens.
    pub limited: Vec<(HookId, Millis)>,
}

/// Admits `rows` in order while their namespace has calls left in the current window, and
/// counts the admitted ones.
pub async fn admit(
    conn: &mut Conn,
    rows: Vec<DueRow>,
    rate: RateLimit,
    now: Millis,
) -> Result<Admission> {
    if rate.calls == 0 || rows.iter().all(|row| row.rate_key.is_none()) {
        return Ok(Admission {
            admitted: rows,
            limited: Vec::new(),
        });
    }
    let (start, keys) = window_keys(&rows, rate, now);
    let mut used = calls_in_window(conn, &keys, start).await?;
    let admission = split(rows, &mut used, rate, start);
    save(conn, &used, start).await?;
    Ok(admission)
}

/// The start of the current window, and the rows' keys, sorted: claims running side by
/// side lock the windows in one order.
pub fn window_keys(rows: &[DueRow], rate: RateLimit, now: Millis) -> (Millis, Vec<String>) {
    let keys = rows
        .iter()
        .filter_map(|row| row.rate_key.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    (now.period_start(rate.window), keys)
}

/// Admits `rows` in order while their key has calls left in the window that starts at
/// `start` (`used` holds the calls made, and counts the admitted ones).
pub fn split(
    rows: Vec<DueRow>,
    used: &mut HashMap<String, i64>,
    rate: RateLimit,
    start: Millis,
) -> Admission {
    let next_window = start + rate.window.max(Duration::from_millis(1));
    let mut admission = Admission {
        admitted: Vec::with_capacity(rows.len()),
        limited: Vec::new(),
    };
    for row in rows {
        if let Some(key) = &row.rate_key {
            let calls = used.entry(key.clone()).or_insert(0);
            if *calls >= i64::from(rate.calls) {
                admission.limited.push((row.hook_id, next_window));
                continue;
            }
            *calls += 1;
        }
        admission.admitted.push(row);
    }
    admission
}

/// Calls made per key in the window that starts at `start` (an older window counts none).
/// Each key's row is made if missing and read locked, so that claims running side by side
/// (PostgreSQL) count one after the other instead of both starting from the same count.
async fn calls_in_window(
    conn: &mut Conn,
    keys: &[String],
    start: Millis,
) -> Result<HashMap<String, i64>> {
    let mut used = HashMap::with_capacity(keys.len());
    // A key listed twice (the padding) is made and read once all the same.
    for list in in_lists(&keys.iter().collect::<Vec<_>>()) {
        let sql = format!(
            "INSERT INTO rate_windows (key, window_start, calls) VALUES {} \
             ON CONFLICT (key) DO NOTHING",
            tuples(list.len(), 1, 2, ", $1, 0")
        );
        let mut query = sqlx::query(&sql).bind(start);
        for key in &list {
            query = query.bind(*key);
        }
        query.execute(&mut *conn).await?;
        let sql = format!(
            "SELECT key, CASE WHEN window_start = $1 THEN calls ELSE 0 END FROM rate_windows \
             WHERE key IN ({}) ORDER BY key{}",
            placeholders(2, list.len()),
            Db::LOCK
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(start);
        for key in list {
            query = query.bind(key);
        }
        used.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(used)
}

async fn save(conn: &mut Conn, used: &HashMap<String, i64>, start: Millis) -> Result<()> {
    let used: Vec<(&String, &i64)> = used.iter().collect();
    for run in runs(&used) {
        // Its WHERE also tells SQLite that `ON CONFLICT` belongs to the INSERT, not to a join.
        let sql = format!(
            "INSERT INTO rate_windows (key, calls, window_start) \
             SELECT column1, column2, $1 FROM (VALUES {}) AS v WHERE v.column3 \
             ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, \
             calls = excluded.calls",
            tuples(run.rows(), 3, 2, "")
        );
        let mut query = sqlx::query(&sql).bind(start);
        for ((key, calls), kept) in run.bound() {
            query = query.bind(*key).bind(**calls).bind(kept);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Marks the limited hooks' due deliveries as delayed and puts the hooks aside until the
/// next window opens.
pub async fn hold(conn: &mut Conn, limited: &[(HookId, Millis)], now: Millis) -> Result<()> {
    let limited: HashMap<HookId, Millis> = limited.iter().copied().collect();
    for (hook_id, until) in limited {
        sqlx::query(
            "UPDATE deliveries SET rate_limited = TRUE WHERE hook_id = $1 AND state = 'pending' \
             AND next_attempt_at <= $2 AND NOT rate_limited",
        )
        .bind(hook_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE hooks SET next_due_at = $2 WHERE id = $1 \
             AND (next_due_at IS NULL OR next_due_at < $2)",
        )
        .bind(hook_id)
        .bind(until)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
