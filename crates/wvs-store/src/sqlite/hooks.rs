//! Hooks: the owner as (`scope`, `project_id`, `group_id`), the secrets sealed by
//! [`secrets`](super::secrets), the settings as JSON owned by the hooks layer, and the health
//! columns the dispatcher maintains.

use std::collections::HashSet;

use serde_json::Value;
use sqlx::{FromRow, SqliteConnection};

use super::secrets;
use super::sql::{batches, count, from_json, missing, placeholders};
use crate::model::{Hook, HookChange, HookHealth, HookOwner, Id, Millis, NewHook, Page, Paged};
use crate::{Result, StoreError};

macro_rules! columns {
    () => {
        "id, uuid, scope, project_id, group_id, url, secrets, settings, recent_failures, \
         backoff_count, disabled_until, permanently_disabled, created_at"
    };
}

#[derive(FromRow)]
struct HookRow {
    id: Id,
    uuid: String,
    scope: String,
    project_id: Option<Id>,
    group_id: Option<Id>,
    url: String,
    secrets: String,
    settings: String,
    recent_failures: i64,
    backoff_count: i64,
    disabled_until: Option<Millis>,
    permanently_disabled: bool,
    created_at: Millis,
}

impl HookRow {
    fn into_hook(self) -> Result<Hook> {
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
            url: self.url,
            secrets: secrets::open(&self.secrets)?,
            settings: from_json::<Value>(&self.settings, "hooks.settings")?,
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
fn owner_ids(owner: HookOwner) -> (Option<Id>, Option<Id>) {
    match owner {
        HookOwner::Project(id) => (Some(id), None),
        HookOwner::Group(id) => (None, Some(id)),
        HookOwner::System => (None, None),
    }
}

fn into_hooks(rows: Vec<HookRow>) -> Result<Vec<Hook>> {
    rows.into_iter().map(HookRow::into_hook).collect()
}

pub async fn create(conn: &mut SqliteConnection, hook: NewHook, now: Millis) -> Result<Hook> {
    let (project_id, group_id) = owner_ids(hook.owner);
    let owner_kind = match hook.owner {
        HookOwner::Project(_) => "project",
        HookOwner::Group(_) => "group",
        HookOwner::System => "hook owner",
    };
    let row: HookRow = sqlx::query_as(concat!(
        "INSERT INTO hooks (uuid, scope, project_id, group_id, url, secrets, settings, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
        columns!()
    ))
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(hook.owner.scope())
    .bind(project_id)
    .bind(group_id)
    .bind(hook.url)
    .bind(secrets::seal(&hook.secrets)?)
    .bind(hook.settings.to_string())
    .bind(now)
    .fetch_one(conn)
    .await
    .map_err(missing(owner_kind))?;
    row.into_hook()
}

pub async fn get(conn: &mut SqliteConnection, id: Id) -> Result<Option<Hook>> {
    let row: Option<HookRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM hooks WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    row.map(HookRow::into_hook).transpose()
}

/// The hooks among `ids` that exist, by id.
pub async fn by_ids(conn: &mut SqliteConnection, ids: &[Id]) -> Result<Vec<Hook>> {
    let mut hooks = Vec::with_capacity(ids.len());
    for batch in batches(ids) {
        let sql = format!(
            concat!("SELECT ", columns!(), " FROM hooks WHERE id IN ({})"),
            placeholders(1, batch.len())
        );
        let mut query = sqlx::query_as::<_, HookRow>(&sql);
        for id in batch {
            query = query.bind(id);
        }
        hooks.extend(into_hooks(query.fetch_all(&mut *conn).await?)?);
    }
    hooks.sort_by_key(|hook| hook.id);
    hooks.dedup_by_key(|hook| hook.id);
    Ok(hooks)
}

/// Which of these hook ids still exist.
pub async fn existing(
    conn: &mut SqliteConnection,
    ids: impl Iterator<Item = Id>,
) -> Result<HashSet<Id>> {
    let ids: Vec<Id> = ids.collect::<HashSet<_>>().into_iter().collect();
    let mut found = HashSet::with_capacity(ids.len());
    for batch in batches(&ids) {
        let sql = format!(
            "SELECT id FROM hooks WHERE id IN ({})",
            placeholders(1, batch.len())
        );
        let mut query = sqlx::query_scalar::<_, Id>(&sql);
        for id in batch {
            query = query.bind(id);
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

pub async fn update(
    conn: &mut SqliteConnection,
    id: Id,
    change: HookChange,
    now: Millis,
) -> Result<Hook> {
    let row: Option<HookRow> = sqlx::query_as(concat!(
        "UPDATE hooks SET url = $2, secrets = $3, settings = $4, updated_at = $5 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(change.url)
    .bind(secrets::seal(&change.secrets)?)
    .bind(change.settings.to_string())
    .bind(now)
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound("hook"))?.into_hook()
}

pub async fn set_health(conn: &mut SqliteConnection, id: Id, health: &HookHealth) -> Result<()> {
    let done = sqlx::query(
        "UPDATE hooks SET recent_failures = $2, backoff_count = $3, disabled_until = $4, \
         permanently_disabled = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(health.recent_failures)
    .bind(health.backoff_count)
    .bind(health.disabled_until)
    .bind(health.permanently_disabled)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("hook"));
    }
    Ok(())
}

/// Deletes the hook; the schema's cascades take its deliveries and its log.
pub async fn delete(conn: &mut SqliteConnection, id: Id) -> Result<()> {
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
    conn: &mut SqliteConnection,
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
    if let Some(owner_id) = project_id.or(group_id) {
        rows = rows.bind(owner_id);
        total = total.bind(owner_id);
    }
    let rows = rows.fetch_all(&mut *conn).await?;
    let total = total.fetch_one(conn).await?;
    Ok(Paged {
        items: into_hooks(rows)?,
        total: count(total),
    })
}

/// The project's hooks, the listed groups' hooks and every system hook, by id.
pub async fn candidates(
    conn: &mut SqliteConnection,
    project_id: Option<Id>,
    group_ids: &[Id],
) -> Result<Vec<Hook>> {
    let mut hooks = into_hooks(
        sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM hooks WHERE scope = 'system' OR project_id = $1"
        ))
        .bind(project_id)
        .fetch_all(&mut *conn)
        .await?,
    )?;
    // A group's ancestry is a handful of ids: this is one statement in practice.
    for batch in batches(group_ids) {
        let sql = format!(
            concat!("SELECT ", columns!(), " FROM hooks WHERE group_id IN ({})"),
            placeholders(1, batch.len())
        );
        let mut query = sqlx::query_as::<_, HookRow>(&sql);
        for id in batch {
            query = query.bind(id);
        }
        hooks.extend(into_hooks(query.fetch_all(&mut *conn).await?)?);
    }
    hooks.sort_by_key(|hook| hook.id);
    hooks.dedup_by_key(|hook| hook.id);
    Ok(hooks)
}
