//! Hooks: the owner as (`scope`, `project_id`, `group_id`), the secrets sealed by
//! [`secrets`](super::secrets), the settings as JSON owned by the hooks layer, and the health
//! columns the dispatcher maintains.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use sqlx::FromRow;

use super::{Conn, Db};
use crate::dialect::Dialect;

use super::secrets;
use super::sql::{count, from_json, in_lists, missing, placeholders, rows_in_order, runs};
use crate::cipher::Cipher;
use crate::model::{
    DeliveryLimits, GroupId, Hook, HookAlertCounts, HookChange, HookHealth, HookId, HookOwner,
    Millis, NewHook, Page, Paged, ProjectId,
};
use crate::{Result, StoreError};

macro_rules! columns {
    () => {
        "id, uuid, scope, project_id, group_id, url, secrets, settings, max_in_flight, ordered, \
         recent_failures, backoff_count, disabled_until, permanently_disabled, created_at"
    };
}

#[derive(FromRow)]
struct HookRow {
    id: HookId,
    uuid: String,
    scope: String,
    project_id: Option<ProjectId>,
    group_id: Option<GroupId>,
    url: String,
    secrets: String,
    settings: String,
    max_in_flight: i64,
    ordered: bool,
    recent_failures: i64,
    backoff_count: i64,
    disabled_until: Option<Millis>,
    permanently_disabled: bool,
    created_at: Millis,
}

impl HookRow {
    fn into_hook(self, cipher: &Cipher) -> Result<Hook> {
        let owner = match (self.scope.as_str(), self.project_id, self.group_id) {
            ("project", Some(id), _) => HookOwner::Project(id),
            ("group", _, Some(id)) => HookOwner::Group(id),
            ("system", _, _) => HookOwner::System,
            _ => return Err(StoreError::Corrupt("hooks.scope")),
        };
        Ok(Hook {
            id: self.id,
            uuid: self.uuid,
            owner,
            url: secrets::open_url(cipher, &self.url)?,
            secrets: secrets::open(cipher, &self.secrets)?,
            settings: from_json::<Value>(&self.settings, "hooks.settings")?,
            limits: DeliveryLimits {
                max_in_flight: u32::try_from(self.max_in_flight)
                    .map_err(|_| StoreError::Corrupt("hooks.max_in_flight"))?,
                ordered: self.ordered,
            },
            health: HookHealth {
                recent_failures: self.recent_failures,
                backoff_count: self.backoff_count,
                disabled_until: self.disabled_until,
                permanently_disabled: self.permanently_disabled,
            },
            created_at: self.created_at,
        })
    }
}

/// The owner's (`project_id`, `group_id`) columns.
fn owner_ids(owner: HookOwner) -> (Option<ProjectId>, Option<GroupId>) {
    match owner {
        HookOwner::Project(id) => (Some(id), None),
        HookOwner::Group(id) => (None, Some(id)),
        HookOwner::System => (None, None),
    }
}

fn into_hooks(rows: Vec<HookRow>, cipher: &Cipher) -> Result<Vec<Hook>> {
    rows.into_iter().map(|row| row.into_hook(cipher)).collect()
}

pub async fn create(conn: &mut Conn, cipher: &Cipher, hook: NewHook, now: Millis) -> Result<Hook> {
    let (project_id, group_id) = owner_ids(hook.owner);
    let owner_kind = match hook.owner {
        HookOwner::Project(_) => "project",
        HookOwner::Group(_) => "group",
        HookOwner::System => "hook owner",
    };
    let row: HookRow = sqlx::query_as(concat!(
        "INSERT INTO hooks (uuid, scope, project_id, group_id, url, secrets, settings, \
         max_in_flight, ordered, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $10, $8, $8) RETURNING ",
        columns!()
    ))
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(hook.owner.scope())
    .bind(project_id)
    .bind(group_id)
    .bind(secrets::seal_url(cipher, &hook.url)?)
    .bind(secrets::seal(cipher, &hook.secrets)?)
    .bind(hook.settings.to_string())
    .bind(now)
    .bind(i64::from(hook.limits.max_in_flight))
    .bind(hook.limits.ordered)
    .fetch_one(conn)
    .await
    .map_err(missing(owner_kind))?;
    row.into_hook(cipher)
}

pub async fn get(conn: &mut Conn, cipher: &Cipher, id: HookId) -> Result<Option<Hook>> {
    let row: Option<HookRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM hooks WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    row.map(|row| row.into_hook(cipher)).transpose()
}

/// The hooks among `ids` that exist, by id.
pub async fn by_ids(conn: &mut Conn, cipher: &Cipher, ids: &[HookId]) -> Result<Vec<Hook>> {
    let mut hooks = Vec::with_capacity(ids.len());
    extend_where_in(conn, cipher, "id", ids, &mut hooks).await?;
    hooks.sort_by_key(|hook| hook.id);
    hooks.dedup_by_key(|hook| hook.id);
    Ok(hooks)
}

/// Adds to `hooks` those whose `column` is one of `values`, in batched `IN (...)` lists.
async fn extend_where_in(
    conn: &mut Conn,
    cipher: &Cipher,
    column: &'static str,
    values: &[HookId],
    hooks: &mut Vec<Hook>,
) -> Result<()> {
    for batch in in_lists(values) {
        let sql = format!(
            concat!("SELECT ", columns!(), " FROM hooks WHERE {} IN ({})"),
            column,
            placeholders(1, batch.len())
        );
        let mut query = sqlx::query_as::<_, HookRow>(&sql);
        for value in batch {
            query = query.bind(value);
        }
        hooks.extend(into_hooks(query.fetch_all(&mut *conn).await?, cipher)?);
    }
    Ok(())
}

/// The hooks among `ids` that exist, with when each is next due, locked for the rest of the
/// transaction where transactions run side by side (PostgreSQL). Every write that goes on to
/// change hook rows (recording attempts, taking over expired leases) takes its locks here
/// first, all in id order, so that two of them never wait for each other in a circle.
pub async fn lock_existing(
    conn: &mut Conn,
    ids: impl Iterator<Item = HookId>,
) -> Result<HashMap<HookId, Option<Millis>>> {
    existing(conn, ids, Db::LOCK).await
}

/// The hooks among `ids` that exist, kept from being deleted for the rest of the transaction
/// (PostgreSQL's `FOR KEY SHARE`) but not locked against writes: an ingest, which does not
/// write hook rows (see [`mark_due`]), waits neither for claims nor for other ingests.
pub async fn hold_existing(
    conn: &mut Conn,
    ids: impl Iterator<Item = HookId>,
) -> Result<HashMap<HookId, Option<Millis>>> {
    existing(conn, ids, Db::KEY_SHARE).await
}

async fn existing(
    conn: &mut Conn,
    ids: impl Iterator<Item = HookId>,
    lock: &str,
) -> Result<HashMap<HookId, Option<Millis>>> {
    let ids: Vec<HookId> = ids.collect::<BTreeSet<_>>().into_iter().collect();
    let mut found = HashMap::with_capacity(ids.len());
    for batch in in_lists(&ids) {
        let sql = format!(
            "SELECT id, next_due_at FROM hooks WHERE id IN ({}) ORDER BY id{lock}",
            placeholders(1, batch.len()),
        );
        let mut query = sqlx::query_as::<_, (HookId, Option<Millis>)>(&sql);
        for id in batch {
            query = query.bind(id);
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

/// Marks each hook due by the given time (PostgreSQL's ingest; schema version 12): a row of
/// its own in `hook_due_marks` rather than a write to the hook's row, which claims on every
/// node lock. A claim that locks the hook takes its marks (see `postgres::claim_statement`).
/// A permanently disabled hook gets none: its backlog is held until it is re-enabled, which
/// reschedules it from its pending deliveries. One row per hook (`queue::earliest_per_hook`).
pub async fn mark_due(conn: &mut Conn, due: &[(HookId, Millis)]) -> Result<()> {
    per_hook_times(conn, due, |values| {
        format!(
            "INSERT INTO hook_due_marks (hook_id, due_at) SELECT d.column1, d.column2 \
             FROM (VALUES {values}) AS d JOIN hooks h ON h.id = d.column1 \
             WHERE d.column3 AND NOT h.permanently_disabled"
        )
    })
    .await
}

/// Runs `statement(values)` for each run of `due`: a statement over `(VALUES {values}) AS d`
/// of rows (hook, time, whether the row is kept: see `sql::Run`).
async fn per_hook_times(
    conn: &mut Conn,
    due: &[(HookId, Millis)],
    statement: impl Fn(&str) -> String,
) -> Result<()> {
    for run in runs(due) {
        let sql = statement(&rows_in_order(run.rows(), 3, ""));
        let mut query = sqlx::query(&sql);
        for ((id, at), kept) in run.bound() {
            query = query.bind(id).bind(at).bind(kept);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes the marks of `ids` (see [`mark_due`]) in a claim's transaction that holds the hooks
/// and goes on to [`reschedule`] them: a later statement, which sees every delivery of the
/// marks taken.
pub async fn take_marks(conn: &mut Conn, ids: &[HookId]) -> Result<()> {
    per_hook_list(conn, ids, |list| {
        format!("DELETE FROM hook_due_marks WHERE hook_id IN ({list})")
    })
    .await
}

/// Runs `statement(list)` for each of `ids`' `IN` lists (see `sql::in_lists`).
async fn per_hook_list(
    conn: &mut Conn,
    ids: &[HookId],
    statement: impl Fn(&str) -> String,
) -> Result<()> {
    for batch in in_lists(ids) {
        let sql = statement(&placeholders(1, batch.len()));
        let mut query = sqlx::query(&sql);
        for id in batch {
            query = query.bind(id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn update(
    conn: &mut Conn,
    cipher: &Cipher,
    id: HookId,
    change: HookChange,
    now: Millis,
) -> Result<Hook> {
    let row: Option<HookRow> = sqlx::query_as(concat!(
        "UPDATE hooks SET url = $2, secrets = $3, settings = $4, updated_at = $5, \
         max_in_flight = $6, ordered = $7 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(secrets::seal_url(cipher, &change.url)?)
    .bind(secrets::seal(cipher, &change.secrets)?)
    .bind(change.settings.to_string())
    .bind(now)
    .bind(i64::from(change.limits.max_in_flight))
    .bind(change.limits.ordered)
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound("hook"))?.into_hook(cipher)
}

/// Stores a hook's health and reschedules it: a hook that is executable again sends its held
/// deliveries, a permanently disabled one holds them.
pub async fn set_health(conn: &mut Conn, id: HookId, health: &HookHealth) -> Result<()> {
    let done = sqlx::query(
        "UPDATE hooks SET recent_failures = $2, backoff_count = $3, disabled_until = $4, \
         permanently_disabled = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(health.recent_failures)
    .bind(health.backoff_count)
    .bind(health.disabled_until)
    .bind(health.permanently_disabled)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("hook"));
    }
    reschedule(conn, &[id]).await?;
    Db::work_added(conn).await
}

/// Sets each hook's `next_due_at` from its pending deliveries: when its next one falls due
/// (for an ordered hook, the oldest one: nothing behind it may pass), but not before a
/// temporary disable ends; NULL when nothing is pending or the hook is permanently disabled
/// (its backlog is held until it is re-enabled).
pub async fn reschedule(conn: &mut Conn, ids: &[HookId]) -> Result<()> {
    // No pending delivery (a NULL due) means no due time, whatever disabled_until says.
    per_hook_list(conn, ids, |list| {
        format!(
            "UPDATE hooks SET next_due_at = CASE WHEN permanently_disabled THEN NULL \
             WHEN hooks.disabled_until > p.due THEN hooks.disabled_until ELSE p.due END \
             FROM (SELECT h.id AS hook_id, CASE WHEN h.ordered THEN \
                 (SELECT next_attempt_at FROM deliveries d \
                  WHERE d.hook_id = h.id AND d.state = 'pending' ORDER BY d.id LIMIT 1) \
               ELSE (SELECT min(next_attempt_at) FROM deliveries d \
                  WHERE d.hook_id = h.id AND d.state = 'pending') END AS due \
               FROM hooks h WHERE h.id IN ({list})) AS p \
             WHERE hooks.id = p.hook_id"
        )
    })
    .await
}

/// What [`due_by`] sets `next_due_at` to, from the hook's row and `d.column2`, the time a
/// delivery of it became pending: that time (or the end of a temporary disable, if later)
/// when it was later or unset.
pub const DUE_BY: &str = "CASE WHEN hooks.next_due_at IS NOT NULL AND hooks.next_due_at <= \
     (CASE WHEN hooks.disabled_until > d.column2 THEN hooks.disabled_until ELSE d.column2 END) \
     THEN hooks.next_due_at \
     WHEN hooks.disabled_until > d.column2 THEN hooks.disabled_until ELSE d.column2 END";

/// Brings each hook's `next_due_at` forward to the given time (but not before a temporary
/// disable ends) if it was later or unset: a delivery of it became pending. A permanently
/// disabled hook stays held. One row per hook (see `queue::earliest_per_hook`).
///
/// The row is written even when it was due already: PostgreSQL's one-statement claim
/// (`postgres::claim_statement`) tells by a hook row newer than its snapshot that
/// deliveries it cannot see became pending.
pub async fn due_by(conn: &mut Conn, due: &[(HookId, Millis)]) -> Result<()> {
    per_hook_times(conn, due, |values| {
        format!(
            "UPDATE hooks SET next_due_at = {DUE_BY} FROM (VALUES {values}) AS d \
             WHERE hooks.id = d.column1 AND d.column3 AND NOT hooks.permanently_disabled"
        )
    })
    .await
}

pub async fn delete(conn: &mut Conn, id: HookId) -> Result<()> {
    let done = sqlx::query("DELETE FROM hooks WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("hook"));
    }
    Ok(())
}

pub async fn list(
    conn: &mut Conn,
    cipher: &Cipher,
    owner: HookOwner,
    page: Page,
) -> Result<Paged<Hook>> {
    // One statement per owner kind, so that each uses its own index; the owner's id, when
    // there is one, is bound last.
    let (rows_sql, count_sql) = match owner {
        HookOwner::Project(_) => (
            concat!(
                "SELECT ",
                columns!(),
                " FROM hooks WHERE project_id = $3 ORDER BY id LIMIT $1 OFFSET $2"
            ),
            "SELECT count(*) FROM hooks WHERE project_id = $1",
        ),
        HookOwner::Group(_) => (
            concat!(
                "SELECT ",
                columns!(),
                " FROM hooks WHERE group_id = $3 ORDER BY id LIMIT $1 OFFSET $2"
            ),
            "SELECT count(*) FROM hooks WHERE group_id = $1",
        ),
        HookOwner::System => (
            concat!(
                "SELECT ",
                columns!(),
                " FROM hooks WHERE scope = 'system' ORDER BY id LIMIT $1 OFFSET $2"
            ),
            "SELECT count(*) FROM hooks WHERE scope = 'system'",
        ),
    };
    let mut rows = sqlx::query_as::<_, HookRow>(rows_sql)
        .bind(i64::from(page.per_page))
        .bind(page.offset());
    let mut total = sqlx::query_scalar::<_, i64>(count_sql);
    let (project_id, group_id) = owner_ids(owner);
    // The one owner column the statement filters on, whichever it is.
    if let Some(owner_id) = project_id.map(|id| id.0).or(group_id.map(|id| id.0)) {
        rows = rows.bind(owner_id);
        total = total.bind(owner_id);
    }
    let rows = rows.fetch_all(&mut *conn).await?;
    let total = total.fetch_one(conn).await?;
    Ok(Paged {
        items: into_hooks(rows, cipher)?,
        total: count(total),
    })
}

/// The project's hooks, the listed groups' hooks and every system hook, by id.
pub async fn candidates(
    conn: &mut Conn,
    cipher: &Cipher,
    project_id: Option<ProjectId>,
    group_ids: &[GroupId],
) -> Result<Vec<Hook>> {
    // One statement: a group's ancestry is a handful of ids (GitLab nests 20 deep at most).
    let groups = match group_ids.len() {
        0 => String::new(),
        n => format!(" OR group_id IN ({})", placeholders(2, n)),
    };
    let sql = format!(
        concat!(
            "SELECT ",
            columns!(),
            " FROM hooks WHERE scope = 'system' OR project_id = $1{} ORDER BY id"
        ),
        groups
    );
    let mut query = sqlx::query_as::<_, HookRow>(&sql).bind(project_id);
    for id in group_ids {
        query = query.bind(id);
    }
    into_hooks(query.fetch_all(conn).await?, cipher)
}

/// Hooks per alert status at `now`.
/// The ids of the hooks disabled at `now`, for good or for a while, by id.
pub async fn disabled_ids(conn: &mut Conn, now: Millis, permanently: bool) -> Result<Vec<HookId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM hooks WHERE CASE WHEN $2 THEN permanently_disabled \
             ELSE NOT permanently_disabled AND disabled_until > $1 END ORDER BY id",
    )
    .bind(now)
    .bind(permanently)
    .fetch_all(conn)
    .await?)
}

pub async fn alert_counts(conn: &mut Conn, now: Millis) -> Result<HookAlertCounts> {
    let (disabled, temporarily_disabled, all): (i64, i64, i64) = sqlx::query_as(
        "SELECT \
             count(*) FILTER (WHERE permanently_disabled), \
             count(*) FILTER (WHERE NOT permanently_disabled AND disabled_until > $1), \
             count(*) FROM hooks",
    )
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(HookAlertCounts {
        executable: count(all - disabled - temporarily_disabled),
        temporarily_disabled: count(temporarily_disabled),
        disabled: count(disabled),
    })
}
