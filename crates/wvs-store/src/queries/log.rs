//! The delivery log: one row per attempt, read back newest first per hook. An attempt that
//! sent the event's stored payload keeps no copy of it (`request_body` NULL); reading it back
//! joins the event. Its request headers are a header set shared with the hook's other rows
//! and the few values of its own (see `crate::header_sets`).

use sqlx::FromRow;

use super::Conn;
use super::header_sets;
use super::payload;

use super::sql::{count, from_json, missing, to_json};
use crate::header_sets::{Split, rebuild};
use crate::model::{
    Activity, Attempt, AttemptId, DeliveryId, EventId, HookId, HookTiming, LoggedAttempt, Millis,
    MinuteActivity, Page, Paged, StatusFilter,
};
use crate::{Result, StoreError};

/// Writes one attempt (a test or a resend); its hook must exist. Its request headers go in
/// as a header set and the values of its own (see `crate::header_sets`).
pub async fn insert_one(conn: &mut Conn, attempt: &Attempt) -> Result<AttemptId> {
    let split = Split::of(&attempt.request_headers)?;
    let header_set = header_sets::intern(conn, &split).await?;
    let response_headers = to_json(&attempt.response_headers, "attempts.response_headers")?;
    sqlx::query_scalar(
        "INSERT INTO attempts (hook_id, delivery_id, event_id, trigger, url, header_set_id, \
         request_headers, request_body, response_status, response_headers, response_body, \
         execution_duration, internal_error, created_at, rate_limited) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(attempt.hook_id)
    .bind(attempt.delivery_id)
    .bind(attempt.event_id)
    .bind(&attempt.trigger)
    .bind(&attempt.url)
    .bind(header_set)
    .bind(&split.values)
    .bind(&attempt.request_body)
    .bind(attempt.response_status.map(i64::from))
    .bind(&response_headers)
    .bind(&attempt.response_body)
    .bind(attempt.execution_duration)
    .bind(&attempt.internal_error)
    .bind(attempt.created_at)
    .bind(attempt.rate_limited)
    .fetch_one(&mut *conn)
    .await
    .map_err(missing("hook"))
}

/// Reads attempts with the body that was sent: the attempt's own, or else the event's
/// payload (joined only when needed), from the attempts `a` of `$from`.
macro_rules! select {
    ($from:expr) => {
        concat!(
            "SELECT a.id, a.hook_id, a.delivery_id, a.event_id, a.trigger, a.url, \
             a.request_headers, h.headers AS header_set, \
             COALESCE(a.request_body, e.payload) AS request_body, e.id AS payload_of, \
             a.response_status, a.response_headers, a.response_body, a.execution_duration, \
             a.internal_error, a.rate_limited, a.created_at FROM ",
            $from,
            " a LEFT JOIN events e ON e.id = a.event_id AND a.request_body IS NULL \
             LEFT JOIN header_sets h ON h.id = a.header_set_id "
        )
    };
}

/// GitLab's status filter as (lowest, highest, and whether attempts without a response
/// match): one statement serves every filter.
macro_rules! filtered {
    () => {
        "WHERE a.hook_id = $1 AND (a.response_status BETWEEN $2 AND $3 OR ($4 AND a.response_status IS NULL)) "
    };
}

fn status_range(filter: StatusFilter) -> (i64, i64, bool) {
    match filter {
        StatusFilter::All => (i64::MIN, i64::MAX, true),
        StatusFilter::Code(code) => (i64::from(code), i64::from(code), false),
        StatusFilter::Successful => (200, 299, false),
        StatusFilter::ClientFailure => (400, 499, false),
        StatusFilter::ServerFailure => (500, 599, true),
    }
}

#[derive(FromRow)]
struct AttemptRow {
    id: AttemptId,
    hook_id: HookId,
    delivery_id: Option<DeliveryId>,
    event_id: Option<EventId>,
    trigger: String,
    url: String,
    /// The values of the row's own when it has a header set, else (a row logged before
    /// header sets) every header as `[name, value]` pairs.
    request_headers: String,
    /// The row's header set, if it has one.
    header_set: Option<String>,
    request_body: Option<Vec<u8>>,
    /// The event whose payload `request_body` is the first part of, when it is one.
    payload_of: Option<EventId>,
    response_status: Option<i64>,
    response_headers: String,
    response_body: Vec<u8>,
    execution_duration: f64,
    internal_error: Option<String>,
    rate_limited: bool,
    created_at: Millis,
}

impl AttemptRow {
    /// Reads the rest of an event payload shown as the body sent.
    async fn read(mut self, conn: &mut Conn) -> Result<LoggedAttempt> {
        if let (Some(event_id), Some(body)) = (self.payload_of, self.request_body.as_mut()) {
            payload::read_rest(conn, event_id, body).await?;
        }
        self.into_logged()
    }

    fn into_logged(self) -> Result<LoggedAttempt> {
        let response_status = self
            .response_status
            .map(|status| {
                u16::try_from(status).map_err(|_| StoreError::Corrupt("attempts.response_status"))
            })
            .transpose()?;
        Ok(LoggedAttempt {
            id: self.id,
            hook_id: self.hook_id,
            delivery_id: self.delivery_id,
            event_id: self.event_id,
            trigger: self.trigger,
            url: self.url,
            request_headers: match &self.header_set {
                Some(set) => rebuild(set, &self.request_headers)?,
                None => from_json(&self.request_headers, "attempts.request_headers")?,
            },
            // No body of its own and no event left to take it from: nothing to show.
            request_body: self.request_body.unwrap_or_default(),
            response_status,
            response_headers: from_json(&self.response_headers, "attempts.response_headers")?,
            response_body: self.response_body,
            execution_duration: self.execution_duration,
            internal_error: self.internal_error,
            rate_limited: self.rate_limited,
            created_at: self.created_at,
        })
    }
}

/// One hook's attempts, newest first, with the total matching the filter.
pub async fn list(
    conn: &mut Conn,
    hook_id: HookId,
    filter: StatusFilter,
    page: Page,
) -> Result<Paged<LoggedAttempt>> {
    let (low, high, without_response) = status_range(filter);
    // The page is cut before anything is joined: joined first, every matching row of a busy
    // hook had its payload read (PostgreSQL planned so while its statistics lagged behind).
    let rows: Vec<AttemptRow> = sqlx::query_as(concat!(
        select!(concat!(
            "(SELECT * FROM attempts a ",
            filtered!(),
            "ORDER BY a.id DESC LIMIT $5 OFFSET $6)"
        )),
        "ORDER BY a.id DESC"
    ))
    .bind(hook_id)
    .bind(low)
    .bind(high)
    .bind(without_response)
    .bind(i64::from(page.per_page))
    .bind(page.offset())
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = sqlx::query_scalar(concat!("SELECT count(*) FROM attempts a ", filtered!()))
        .bind(hook_id)
        .bind(low)
        .bind(high)
        .bind(without_response)
        .fetch_one(&mut *conn)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(row.read(conn).await?);
    }
    Ok(Paged {
        items,
        total: count(total),
    })
}

/// One attempt of one hook (an attempt id of another hook is not found).
pub async fn get(
    conn: &mut Conn,
    hook_id: HookId,
    attempt_id: AttemptId,
) -> Result<Option<LoggedAttempt>> {
    let row: Option<AttemptRow> = sqlx::query_as(concat!(
        select!("attempts"),
        "WHERE a.id = $1 AND a.hook_id = $2"
    ))
    .bind(attempt_id)
    .bind(hook_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => row.read(conn).await.map(Some),
        None => Ok(None),
    }
}

/// Attempts per minute since `since`, and the slowest hooks over that time.
pub async fn activity(conn: &mut Conn, since: Millis, slowest: u32) -> Result<Activity> {
    let minutes: Vec<(Millis, i64, i64)> = sqlx::query_as(
        "SELECT created_at / 60000 * 60000 AS minute, \
             count(*) FILTER (WHERE response_status BETWEEN 200 AND 299), \
             count(*) FILTER (WHERE response_status IS NULL \
                              OR response_status NOT BETWEEN 200 AND 299) \
         FROM attempts WHERE created_at >= $1 GROUP BY minute ORDER BY minute",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    let hooks: Vec<(HookId, i64, f64)> = sqlx::query_as(
        "SELECT hook_id, count(*), avg(execution_duration) AS mean FROM attempts \
         WHERE created_at >= $1 GROUP BY hook_id ORDER BY mean DESC, hook_id LIMIT $2",
    )
    .bind(since)
    .bind(i64::from(slowest))
    .fetch_all(conn)
    .await?;
    Ok(Activity {
        per_minute: minutes
            .into_iter()
            .map(|(minute, succeeded, failed)| MinuteActivity {
                minute,
                succeeded: count(succeeded),
                failed: count(failed),
            })
            .collect(),
        slowest_hooks: hooks
            .into_iter()
            .map(|(hook_id, attempts, mean_seconds)| HookTiming {
                hook_id,
                attempts: count(attempts),
                mean_seconds,
            })
            .collect(),
    })
}
