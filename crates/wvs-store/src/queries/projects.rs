//! Projects. `namespace_path` and `path_with_namespace` are stored (and rewritten when the
//! group above moves, see `groups`) so that `project_by_path` is one index probe. The
//! descriptive attributes are one JSON column: they are only ever read whole.

use sqlx::FromRow;

use super::{Conn, Db};
use crate::dialect::Dialect;

use super::groups;
use super::sql::{conflict, contains, count, from_json, to_json};
use crate::model::{
    GroupId, Millis, NewProject, Page, Paged, Project, ProjectAttributes, ProjectId, ProjectUpdate,
};
use crate::{Result, StoreError};

/// A project whose full path matches the pattern `$1` (see [`contains`]).
macro_rules! searched {
    () => {
        "lower(path_with_namespace) LIKE $1 ESCAPE '\\'"
    };
}

macro_rules! columns {
    () => {
        "id, name, path, namespace_id, namespace_path, path_with_namespace, attributes, created_at, updated_at"
    };
}

#[derive(FromRow)]
struct ProjectRow {
    id: ProjectId,
    name: String,
    path: String,
    namespace_id: Option<GroupId>,
    namespace_path: String,
    path_with_namespace: String,
    attributes: String,
    created_at: Millis,
    updated_at: Millis,
}

impl ProjectRow {
    fn into_project(self) -> Result<Project> {
        Ok(Project {
            id: self.id,
            name: self.name,
            path: self.path,
            namespace_id: self.namespace_id,
            namespace_path: self.namespace_path,
            path_with_namespace: self.path_with_namespace,
            attributes: from_json(&self.attributes, "projects.attributes")?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The namespace's full path: the group's, or the user namespace's name.
async fn namespace_path(
    conn: &mut Conn,
    namespace_id: Option<GroupId>,
    user_namespace: Option<String>,
) -> Result<String> {
    match namespace_id {
        Some(group_id) => Ok(groups::get(conn, group_id)
            .await?
            .ok_or(StoreError::NotFound("namespace"))?
            .full_path),
        None => user_namespace
            .filter(|path| !path.is_empty())
            .ok_or(StoreError::Invalid(
                "a project needs a namespace (a group or a user namespace path)",
            )),
    }
}

pub async fn create(conn: &mut Conn, project: NewProject, now: Millis) -> Result<Project> {
    let namespace_path = namespace_path(conn, project.namespace_id, project.namespace_path).await?;
    let path_with_namespace = format!("{namespace_path}/{}", project.path);
    let given_id = project.id.is_some();
    let row: ProjectRow = sqlx::query_as(&format!(
        "INSERT INTO projects (id, name, path, namespace_id, namespace_path, path_with_namespace, \
         attributes, created_at, updated_at) VALUES ({}, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {}",
        Db::id_or_next("projects", 1),
        columns!()
    ))
    .bind(project.id)
    .bind(project.name)
    .bind(project.path)
    .bind(project.namespace_id)
    .bind(namespace_path)
    .bind(path_with_namespace)
    .bind(attributes_json(&project.attributes)?)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict("project"))?;
    if given_id {
        Db::ids_taken(conn, "projects").await?;
    }
    row.into_project()
}

pub async fn get(conn: &mut Conn, id: ProjectId) -> Result<Option<Project>> {
    let row: Option<ProjectRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM projects WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(ProjectRow::into_project).transpose()
}

pub async fn by_path(conn: &mut Conn, path_with_namespace: &str) -> Result<Option<Project>> {
    let row: Option<ProjectRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM projects WHERE path_with_namespace = $1"
    ))
    .bind(path_with_namespace)
    .fetch_optional(conn)
    .await?;
    row.map(ProjectRow::into_project).transpose()
}

/// Projects by id; with a `search`, those whose full path contains it (any case).
pub async fn list(conn: &mut Conn, search: &str, page: Page) -> Result<Paged<Project>> {
    let pattern = contains(search);
    let rows: Vec<ProjectRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM projects WHERE ",
        searched!(),
        " ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(i64::from(page.per_page))
    .bind(page.offset())
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 =
        sqlx::query_scalar(concat!("SELECT count(*) FROM projects WHERE ", searched!()))
            .bind(&pattern)
            .fetch_one(conn)
            .await?;
    Ok(Paged {
        items: rows
            .into_iter()
            .map(ProjectRow::into_project)
            .collect::<Result<_>>()?,
        total: count(total),
    })
}

pub async fn update(
    conn: &mut Conn,
    id: ProjectId,
    update: ProjectUpdate,
    now: Millis,
) -> Result<Project> {
    let current = get(conn, id)
        .await?
        .ok_or(StoreError::NotFound("project"))?;
    let namespace_id = update.namespace_id.unwrap_or(current.namespace_id);
    // A project staying in (or moving within) user namespaces keeps its namespace's name
    // unless a new one is given; a group's path always comes from the group.
    let user_namespace = match (namespace_id, current.namespace_id) {
        (None, None) => update.namespace_path.or(Some(current.namespace_path)),
        _ => update.namespace_path,
    };
    let namespace_path = namespace_path(conn, namespace_id, user_namespace).await?;
    let path = update.path.unwrap_or(current.path);
    let path_with_namespace = format!("{namespace_path}/{path}");
    let attributes = update.attributes.unwrap_or(current.attributes);
    let row: ProjectRow = sqlx::query_as(concat!(
        "UPDATE projects SET name = $2, path = $3, namespace_id = $4, namespace_path = $5, \
         path_with_namespace = $6, attributes = $7, updated_at = $8 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(update.name.unwrap_or(current.name))
    .bind(path)
    .bind(namespace_id)
    .bind(namespace_path)
    .bind(path_with_namespace)
    .bind(attributes_json(&attributes)?)
    .bind(now)
    .fetch_one(conn)
    .await
    .map_err(conflict("project"))?;
    row.into_project()
}

/// Deletes the project; the schema's cascades take its hooks, their deliveries and logs.
pub async fn delete(conn: &mut Conn, id: ProjectId) -> Result<()> {
    let done = sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("project"));
    }
    Ok(())
}

fn attributes_json(attributes: &ProjectAttributes) -> Result<String> {
    to_json(attributes, "projects.attributes")
}
