//! The registry: the projects and groups events are about. Group ancestry decides which
//! group hooks see a project's events.
//!
//! Changes emit the documented system events (`project_create`, `project_rename`,
//! `project_transfer`, `project_update`, `project_destroy`, `group_create`, `group_rename`,
//! `group_destroy`) and, for subgroups created or removed, `subgroup_create` /
//! `subgroup_destroy` to the parent's group hooks and its ancestors' (not when a subgroup
//! moves: the documents say so). See [`super::emit`] for the order of change and event.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wvs_events::EventKind;
use wvs_store::{
    Group, GroupUpdate, NewGroup, NewProject, Project, ProjectAttributes, ProjectUpdate, Store,
};

use super::emit::{ancestry_ids, emit, emit_project_hook, group_owner, project_owner};
use super::endpoints::{Documented, Endpoints};
use super::error::{ApiError, ApiResult};
use super::fields::Fields;
use super::owner::{find_group, find_project};
use super::pagination::Paging;
use super::params::Params;
use crate::delivery::now_millis;
use crate::ingest::Target;
use crate::registry_events::payload;
use crate::state::AppState;
use crate::time::iso8601;

pub fn routes() -> Documented {
    Endpoints::new("registry")
        .get("/projects", list_projects, "List projects")
        .post("/projects", create_project, "Register a project")
        .get("/projects/{id}", get_project, "Get a project")
        .put(
            "/projects/{id}",
            update_project,
            "Edit, rename or transfer a project",
        )
        .delete("/projects/{id}", delete_project, "Delete a project")
        .get("/groups", list_groups, "List groups")
        .post("/groups", create_group, "Register a group")
        .get("/groups/{id}", get_group, "Get a group")
        .put("/groups/{id}", update_group, "Edit, rename or move a group")
        .delete("/groups/{id}", delete_group, "Delete a group")
        .build()
}

// ---------------------------------------------------------------- projects

fn visibility_level(name: &str) -> Option<i64> {
    match name {
        "public" => Some(20),
        "internal" => Some(10),
        "private" => Some(0),
        _ => None,
    }
}

pub fn render_project(project: &Project) -> Value {
    let a = &project.attributes;
    let namespace_name = project
        .namespace_path
        .rsplit('/')
        .next()
        .unwrap_or_default();
    json!({
        "id": project.id,
        "name": project.name,
        "path": project.path,
        "path_with_namespace": project.path_with_namespace,
        "description": a.description,
        "web_url": a.web_url,
        "avatar_url": a.avatar_url,
        "ssh_url_to_repo": a.git_ssh_url,
        "http_url_to_repo": a.git_http_url,
        "default_branch": a.default_branch,
        "visibility": payload::project_visibility(project),
        "ci_config_path": a.ci_config_path,
        "homepage": a.homepage,
        "namespace": {
            "id": project.namespace_id,
            "name": namespace_name,
            "path": namespace_name,
            "kind": if project.namespace_id.is_some() { "group" } else { "user" },
            "full_path": project.namespace_path,
        },
        "created_at": iso8601(project.created_at),
        "last_activity_at": iso8601(project.updated_at),
    })
}

/// The descriptive attributes given in a request, over `base`.
fn attributes(fields: &Fields, base: ProjectAttributes) -> ApiResult<ProjectAttributes> {
    let text = |name: &str, current: Option<String>| -> ApiResult<Option<String>> {
        Ok(if fields.has(name) {
            fields.string(name)?
        } else {
            current
        })
    };
    let level = match (
        fields.integer("visibility_level")?,
        fields.string("visibility")?,
    ) {
        (Some(level), _) => Some(level),
        (None, Some(name)) => Some(
            visibility_level(&name)
                .ok_or_else(|| ApiError::bad_request("visibility does not have a valid value"))?,
        ),
        (None, None) => base.visibility_level,
    };
    Ok(ProjectAttributes {
        description: text("description", base.description)?,
        web_url: text("web_url", base.web_url)?,
        avatar_url: text("avatar_url", base.avatar_url)?,
        git_ssh_url: text("git_ssh_url", base.git_ssh_url)?,
        git_http_url: text("git_http_url", base.git_http_url)?,
        visibility_level: level,
        default_branch: text("default_branch", base.default_branch)?,
        ci_config_path: text("ci_config_path", base.ci_config_path)?,
        homepage: text("homepage", base.homepage)?,
    })
}

/// The namespace named by `namespace_id` (a group id) or `namespace` / `namespace_path` (a
/// full path: a group's if one has it, a user's otherwise).
async fn namespace(
    store: &dyn Store,
    fields: &Fields,
) -> ApiResult<Option<(Option<i64>, Option<String>)>> {
    if let Some(id) = fields.integer("namespace_id")? {
        let group = store
            .group(id)
            .await?
            .ok_or_else(|| ApiError::not_found("Namespace"))?;
        return Ok(Some((Some(group.id), None)));
    }
    let path = match fields.string("namespace_path")? {
        Some(path) => Some(path),
        None => fields.string("namespace")?,
    };
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    Ok(Some(match store.group_by_path(&path).await? {
        Some(group) => (Some(group.id), None),
        None => (None, Some(path)),
    }))
}

/// A path from a name, as GitLab derives one.
fn path_from(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The admin's own (user) namespace. GitLab creates a project sent without a namespace in
/// the current user's; WVS's one user is the admin, named as GitLab's first admin.
const ADMIN_NAMESPACE: &str = "root";

async fn create_project(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let fields = Fields(params.into_object());
    let store = state.store.as_ref();
    let in_namespace = namespace(store, &fields)
        .await?
        .unwrap_or_else(|| (None, Some(ADMIN_NAMESPACE.to_owned())));
    let project = project_in(&fields, in_namespace)?;
    let project = store.create_project(project, now_millis()).await?;
    let owner = project_owner(store, &project).await?;
    let built = payload::project(EventKind::ProjectCreate, &project, &owner);
    emit(&state, &Target::System, built).await?;
    emit_project_hook(&state, EventKind::ProjectCreate, &project, &owner).await?;
    Ok((StatusCode::CREATED, Json(render_project(&project))).into_response())
}

/// A project to register from the `project` block of its first event, which names its
/// namespace.
pub async fn new_project(store: &dyn Store, fields: &Fields) -> ApiResult<NewProject> {
    let in_namespace = namespace(store, fields)
        .await?
        .ok_or_else(|| ApiError::bad_request("namespace_id is missing (or namespace_path)"))?;
    project_in(fields, in_namespace)
}

/// A project to create from request fields in a namespace: a group's id, or a user's path.
fn project_in(
    fields: &Fields,
    (namespace_id, namespace_path): (Option<i64>, Option<String>),
) -> ApiResult<NewProject> {
    let name = match fields.string("name")? {
        Some(name) if !name.is_empty() => name,
        _ => fields.required("path")?,
    };
    let path = fields
        .string("path")?
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| path_from(&name));
    Ok(NewProject {
        id: fields.integer("id")?,
        name,
        path,
        namespace_id,
        namespace_path,
        attributes: attributes(fields, ProjectAttributes::default())?,
    })
}

async fn get_project(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render_project(
        &find_project(state.store.as_ref(), &id).await?,
    )))
}

async fn list_projects(State(state): State<AppState>, paging: Paging) -> ApiResult<Response> {
    let projects = state.store.list_projects(paging.page).await?;
    Ok(paging.respond(
        projects.items.iter().map(render_project).collect(),
        projects.total,
    ))
}

async fn update_project(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let store = state.store.as_ref();
    let project = find_project(store, &id).await?;
    let fields = Fields(params.into_object());
    let namespace = namespace(store, &fields).await?;
    let update = ProjectUpdate {
        name: fields.string("name")?,
        path: fields.string("path")?,
        namespace_id: namespace.as_ref().map(|(id, _)| *id),
        namespace_path: namespace.and_then(|(_, path)| path),
        attributes: Some(attributes(&fields, project.attributes.clone())?),
    };
    let old = project;
    let project = store.update_project(old.id, update, now_millis()).await?;
    let owner = project_owner(store, &project).await?;
    // One event per call: a namespace change is a transfer (whatever else changed), a path
    // change a rename, anything else an update.
    let built = if project.namespace_path != old.namespace_path {
        payload::project_moved(
            EventKind::ProjectTransfer,
            &project,
            &owner,
            &old.path_with_namespace,
        )
    } else if project.path != old.path {
        payload::project_moved(
            EventKind::ProjectRename,
            &project,
            &owner,
            &old.path_with_namespace,
        )
    } else {
        payload::project(EventKind::ProjectUpdate, &project, &owner)
    };
    emit(&state, &Target::System, built).await?;
    Ok(Json(render_project(&project)))
}

async fn delete_project(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let store = state.store.as_ref();
    let project = find_project(store, &id).await?;
    let owner = project_owner(store, &project).await?;
    store.delete_project(project.id).await?;
    let built = payload::project(EventKind::ProjectDestroy, &project, &owner);
    emit(&state, &Target::System, built).await?;
    emit_project_hook(&state, EventKind::ProjectDestroy, &project, &owner).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message": "202 Accepted" })),
    )
        .into_response())
}

// ---------------------------------------------------------------- groups

/// A group as the API shows it; its `full_name` is its ancestors' names and its own joined
/// by ` / `, as GitLab's.
async fn render_group(store: &dyn Store, group: &Group) -> ApiResult<Value> {
    let mut names: Vec<String> = store
        .group_ancestry(group.id)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    names.reverse();
    Ok(group_json(group, &names.join(" / ")))
}

fn group_json(group: &Group, full_name: &str) -> Value {
    json!({
        "id": group.id,
        "name": group.name,
        "path": group.path,
        "full_path": group.full_path,
        "full_name": full_name,
        "parent_id": group.parent_id,
        "description": group.description,
        "visibility": group.visibility.clone().unwrap_or_else(|| "private".to_owned()),
        "created_at": iso8601(group.created_at),
    })
}

async fn create_group(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let fields = Fields(params.into_object());
    let name = fields.required("name")?;
    let path = fields
        .string("path")?
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| path_from(&name));
    let store = state.store.as_ref();
    let parent = match fields.integer("parent_id")? {
        Some(id) => Some(
            store
                .group(id)
                .await?
                .ok_or_else(|| ApiError::not_found("Parent group"))?,
        ),
        None => None,
    };
    let group = store
        .create_group(
            NewGroup {
                id: fields.integer("id")?,
                name,
                path,
                parent_id: parent.as_ref().map(|p| p.id),
                description: fields.string("description")?,
                visibility: fields.string("visibility")?,
            },
            now_millis(),
        )
        .await?;
    let owner = group_owner(store, &group).await?;
    let built = payload::group(EventKind::GroupCreate, &group, &owner);
    emit(&state, &Target::System, built).await?;
    if let Some(parent) = parent {
        let built = payload::subgroup(EventKind::SubgroupCreate, &group, &parent);
        let group_ids = ancestry_ids(store, parent.id).await?;
        emit(&state, &Target::Group { group_ids }, built).await?;
    }
    let shown = render_group(store, &group).await?;
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

async fn get_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.store.as_ref();
    Ok(Json(
        render_group(store, &find_group(store, &id).await?).await?,
    ))
}

async fn list_groups(State(state): State<AppState>, paging: Paging) -> ApiResult<Response> {
    let store = state.store.as_ref();
    let groups = store.list_groups(paging.page).await?;
    let mut shown = Vec::with_capacity(groups.items.len());
    for group in &groups.items {
        shown.push(render_group(store, group).await?);
    }
    Ok(paging.respond(shown, groups.total))
}

async fn update_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let group = find_group(state.store.as_ref(), &id).await?;
    let fields = Fields(params.into_object());
    let parent_id = if fields.has("parent_id") {
        match fields.integer("parent_id")? {
            Some(parent) if parent == group.id => {
                return Err(ApiError::unprocessable("a group cannot be its own parent"));
            }
            Some(parent) => Some(Some(parent)),
            None => Some(None),
        }
    } else {
        None
    };
    let optional = |name: &str| -> ApiResult<Option<Option<String>>> {
        Ok(if fields.has(name) {
            Some(fields.string(name)?)
        } else {
            None
        })
    };
    let update = GroupUpdate {
        name: fields.string("name")?,
        path: fields.string("path")?,
        parent_id,
        description: optional("description")?,
        visibility: optional("visibility")?,
    };
    let store = state.store.as_ref();
    let old = group;
    let group = store.update_group(old.id, update, now_millis()).await?;
    // A new path or parent renames the group (and everything below it); a move into
    // another parent is no subgroup event (documented).
    if group.full_path != old.full_path {
        let owner = group_owner(store, &group).await?;
        let built = payload::group_renamed(&group, &owner, &old);
        emit(&state, &Target::System, built).await?;
    }
    Ok(Json(render_group(store, &group).await?))
}

async fn delete_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let store = state.store.as_ref();
    let group = find_group(store, &id).await?;
    let owner = group_owner(store, &group).await?;
    let parent = match group.parent_id {
        Some(parent_id) => store.group(parent_id).await?,
        None => None,
    };
    store.delete_group(group.id).await?;
    let built = payload::group(EventKind::GroupDestroy, &group, &owner);
    emit(&state, &Target::System, built).await?;
    if let Some(parent) = parent {
        let built = payload::subgroup(EventKind::SubgroupDestroy, &group, &parent);
        let group_ids = ancestry_ids(store, parent.id).await?;
        emit(&state, &Target::Group { group_ids }, built).await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "message": "202 Accepted" })),
    )
        .into_response())
}
