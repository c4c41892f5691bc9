//! Groups: a tree through `parent_id`, with each group's `full_path` stored so that finding a
//! group by path is one index probe. A rename or move rewrites the stored paths of the whole
//! subtree (groups and their projects) in the same transaction.

use sqlx::FromRow;

use super::{Conn, Db};
use crate::dialect::Dialect;

use super::sql::{conflict, contains, count};
use crate::model::{Group, GroupId, GroupUpdate, Millis, NewGroup, Page, Paged};
use crate::{Result, StoreError};

/// The columns of [`GroupRow`], in a macro so that statements stay `&'static str`.
/// A group whose full path matches the pattern `$1` (see [`contains`]).
macro_rules! searched {
    () => {
        "lower(full_path) LIKE $1 ESCAPE '\\'"
    };
}

macro_rules! columns {
    () => {
        "id, name, path, full_path, parent_id, description, visibility, created_at, updated_at"
    };
}

#[derive(FromRow)]
struct GroupRow {
    id: GroupId,
    name: String,
    path: String,
    full_path: String,
    parent_id: Option<GroupId>,
    description: Option<String>,
    visibility: Option<String>,
    created_at: Millis,
    updated_at: Millis,
}

impl From<GroupRow> for Group {
    fn from(row: GroupRow) -> Group {
        Group {
            id: row.id,
            name: row.name,
            path: row.path,
            full_path: row.full_path,
            parent_id: row.parent_id,
            description: row.description,
            visibility: row.visibility,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub async fn create(conn: &mut Conn, group: NewGroup, now: Millis) -> Result<Group> {
    let full_path = match group.parent_id {
        Some(parent_id) => {
            let parent = get(conn, parent_id)
                .await?
                .ok_or(StoreError::NotFound("parent group"))?;
            format!("{}/{}", parent.full_path, group.path)
        }
        None => group.path.clone(),
    };
    let given_id = group.id.is_some();
    // A NULL id makes the database assign the next one; a given id (the forge's) is kept.
    let row: GroupRow = sqlx::query_as(&format!(
        "INSERT INTO groups (id, name, path, full_path, parent_id, description, visibility, \
         created_at, updated_at) VALUES ({}, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {}",
        Db::id_or_next("groups", 1),
        columns!()
    ))
    .bind(group.id)
    .bind(group.name)
    .bind(group.path)
    .bind(full_path)
    .bind(group.parent_id)
    .bind(group.description)
    .bind(group.visibility)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict("group"))?;
    if given_id {
        Db::ids_taken(conn, "groups").await?;
    }
    Ok(row.into())
}

pub async fn get(conn: &mut Conn, id: GroupId) -> Result<Option<Group>> {
    let row: Option<GroupRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM groups WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Group::from))
}

pub async fn by_path(conn: &mut Conn, full_path: &str) -> Result<Option<Group>> {
    let row: Option<GroupRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM groups WHERE full_path = $1"
    ))
    .bind(full_path)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Group::from))
}

/// Groups by id; with a `search`, those whose full path contains it (any case).
pub async fn list(conn: &mut Conn, search: &str, page: Page) -> Result<Paged<Group>> {
    let pattern = contains(search);
    let rows: Vec<GroupRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM groups WHERE ",
        searched!(),
        " ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(i64::from(page.per_page))
    .bind(page.offset())
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = sqlx::query_scalar(concat!("SELECT count(*) FROM groups WHERE ", searched!()))
        .bind(&pattern)
        .fetch_one(conn)
        .await?;
    Ok(Paged {
        items: rows.into_iter().map(Group::from).collect(),
        total: count(total),
    })
}

/// The group, then its parent, and so on up to the top level.
pub async fn ancestry(conn: &mut Conn, id: GroupId) -> Result<Vec<Group>> {
    // `depth < 64` stops a parent cycle (which updates refuse to create) from looping.
    let rows: Vec<GroupRow> = sqlx::query_as(concat!(
        "WITH RECURSIVE chain (group_id, depth) AS ( \
             SELECT id, 0 FROM groups WHERE id = $1 \
             UNION ALL \
             SELECT g.parent_id, chain.depth + 1 FROM groups g JOIN chain ON g.id = chain.group_id \
             WHERE g.parent_id IS NOT NULL AND chain.depth < 64) \
         SELECT ",
        columns!(),
        " FROM chain JOIN groups ON groups.id = chain.group_id ORDER BY chain.depth"
    ))
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Group::from).collect())
}

pub async fn update(
    conn: &mut Conn,
    id: GroupId,
    update: GroupUpdate,
    now: Millis,
) -> Result<Group> {
    let current = get(conn, id).await?.ok_or(StoreError::NotFound("group"))?;
    let path = update.path.unwrap_or_else(|| current.path.clone());
    let parent_id = update.parent_id.unwrap_or(current.parent_id);
    let full_path = match parent_id {
        Some(parent_id) => {
            let parent = get(conn, parent_id)
                .await?
                .ok_or(StoreError::NotFound("parent group"))?;
            if parent.id == id || is_within(&parent.full_path, &current.full_path) {
                return Err(StoreError::Invalid(
                    "a group cannot move into itself or its subgroups",
                ));
            }
            format!("{}/{}", parent.full_path, path)
        }
        None => path.clone(),
    };
    let row: GroupRow = sqlx::query_as(concat!(
        "UPDATE groups SET name = $2, path = $3, full_path = $4, parent_id = $5, description = $6, \
         visibility = $7, updated_at = $8 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(update.name.unwrap_or(current.name))
    .bind(path)
    .bind(&full_path)
    .bind(parent_id)
    .bind(update.description.unwrap_or(current.description))
    .bind(update.visibility.unwrap_or(current.visibility))
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict("group"))?;
    if full_path != current.full_path {
        rewrite_subtree(conn, id, &current.full_path, &full_path).await?;
    }
    Ok(row.into())
}

/// After group `id` moved from `old` to `new`: rewrites the full paths of its descendants
/// (prefix `old/` becomes `new/`), then the namespace paths of every project in the subtree.
async fn rewrite_subtree(conn: &mut Conn, id: GroupId, old: &str, new: &str) -> Result<()> {
    // substr() counts characters in SQLite and PostgreSQL alike; so does chars().
    let old_prefix_len = char_len(old) + 1;
    sqlx::query("UPDATE groups SET full_path = $1 || substr(full_path, CAST($2 AS INTEGER)) WHERE substr(full_path, 1, CAST($2 AS INTEGER)) = $3")
        .bind(new)
        .bind(old_prefix_len)
        .bind(format!("{old}/"))
        .execute(&mut *conn)
        .await
        .map_err(conflict("group"))?;
    sqlx::query(
        "UPDATE projects SET \
             namespace_path = (SELECT g.full_path FROM groups g WHERE g.id = projects.namespace_id), \
             path_with_namespace = (SELECT g.full_path FROM groups g WHERE g.id = projects.namespace_id) \
                 || '/' || path \
         WHERE namespace_id IN (SELECT id FROM groups WHERE id = $1 OR substr(full_path, 1, CAST($2 AS INTEGER)) = $3)",
    )
    .bind(id)
    .bind(char_len(new) + 1)
    .bind(format!("{new}/"))
    .execute(conn)
    .await
    .map_err(conflict("project"))?;
    Ok(())
}

/// Deletes the group; the schema's cascades take its subgroups, their projects and all
/// their hooks (with the hooks' deliveries and logs).
pub async fn delete(conn: &mut Conn, id: GroupId) -> Result<()> {
    let done = sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("group"));
    }
    Ok(())
}

/// Whether `path` is `ancestor` or lies below it.
fn is_within(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn char_len(text: &str) -> i64 {
    i64::try_from(text.chars().count()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::is_within;

    #[test]
    fn within_means_below_on_a_path_boundary() {
        assert!(is_within("a/b/c", "a/b"));
        assert!(is_within("a/b", "a/b"));
        assert!(!is_within("a/bc", "a/b"));
        assert!(!is_within("a", "a/b"));
    }
}
