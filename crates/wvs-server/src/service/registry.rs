//! The registry: the projects and groups events are about. Group ancestry decides which
//! group hooks see a project's events.
//!
//! Changes emit the documented system events (`project_create`, `project_rename`,
//! `project_transfer`, `project_update`, `project_destroy`, `group_create`, `group_rename`,
//! `group_destroy`) and, for subgroups created or removed, `subgroup_create` /
//! `subgroup_destroy` to the parent's group hooks and its ancestors' (not when a subgroup
//! moves: the documents say so). See [`super::emit`] for the order of change and event.

use serde_json::{Map, Value};
use wvs_events::{Event, EventKind};
use wvs_store::{
    Group, GroupId, GroupUpdate, NewGroup, NewProject, Project, ProjectAttributes, ProjectId,
    ProjectUpdate, Store,
};

use super::claims::Claims;
use super::emit::{ancestry_ids, emit, emit_project_hook, group_owner, project_owner};
use super::error::{ServiceError, ServiceResult};
use super::fields::Fields;
use crate::ingest::{Target, project_block};
use crate::registry_events::payload;
use crate::state::AppState;
use wvs_store::Millis;

// ---------------------------------------------------------------- projects

fn visibility_level(name: &str) -> Option<i64> {
    match name {
        "public" => Some(20),
        "internal" => Some(10),
        "private" => Some(0),
        _ => None,
    }
}

/// The descriptive attributes given in a request, over `base`.
fn attributes(fields: &Fields, base: ProjectAttributes) -> ServiceResult<ProjectAttributes> {
    let text = |name: &str, current: Option<String>| -> ServiceResult<Option<String>> {
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
                .ok_or_else(|| ServiceError::invalid("visibility does not have a valid value"))?,
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
) -> ServiceResult<Option<(Option<GroupId>, Option<String>)>> {
    if let Some(id) = fields.integer("namespace_id")?.map(GroupId) {
        let group = store
            .group(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("Namespace"))?;
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

/// Registers a project from request fields (in the admin's namespace when they name none),
/// then sends its `project_create` event.
pub async fn create_project(state: &AppState, fields: &Fields) -> ServiceResult<Project> {
    let store = state.store.as_ref();
    let in_namespace = namespace(store, fields)
        .await?
        .unwrap_or_else(|| (None, Some(ADMIN_NAMESPACE.to_owned())));
    let project = project_in(fields, in_namespace)?;
    let project = store.create_project(project, Millis::now()).await?;
    let owner = project_owner(store, &project).await?;
    let built = payload::project(EventKind::ProjectCreate, &project, &owner);
    emit(state, &Target::System, built).await?;
    emit_project_hook(state, EventKind::ProjectCreate, &project, &owner).await?;
    Ok(project)
}

/// A project to register from the `project` block of its first event, which names its
/// namespace.
pub async fn new_project(store: &dyn Store, fields: &Fields) -> ServiceResult<NewProject> {
    let in_namespace = namespace(store, fields)
        .await?
        .ok_or_else(|| ServiceError::invalid("namespace_id is missing (or namespace_path)"))?;
    project_in(fields, in_namespace)
}

/// A project to create from request fields in a namespace: a group's id, or a user's path.
fn project_in(
    fields: &Fields,
    (namespace_id, namespace_path): (Option<GroupId>, Option<String>),
) -> ServiceResult<NewProject> {
    let name = match fields.string("name")? {
        Some(name) if !name.is_empty() => name,
        _ => fields.required("path")?,
    };
    let path = fields
        .string("path")?
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| path_from(&name));
    Ok(NewProject {
        id: fields.integer("id")?.map(ProjectId),
        name,
        path,
        namespace_id,
        namespace_path,
        attributes: attributes(fields, ProjectAttributes::default())?,
    })
}

/// Registers an unknown project from the `project` block of its first event: its id is the
/// one in the path (or the block's), its namespace the path's prefix. An event that names
/// another project than that id registers nothing.
pub async fn register(
    store: &dyn Store,
    id: &str,
    event: &Event,
    claims: &Claims,
) -> ServiceResult<Option<Project>> {
    let value = event.to_value();
    let Some(block) = project_block(&value) else {
        return Ok(None);
    };
    let Some(full_path) = block.get("path_with_namespace").and_then(Value::as_str) else {
        return Ok(None);
    };
    let Some((namespace, path)) = full_path.rsplit_once('/') else {
        return Ok(None);
    };
    let mut fields: Map<String, Value> = block.clone();
    let id_from_path = id.parse::<i64>().ok().map(Value::from);
    let id = id_from_path
        .or_else(|| block.get("id").cloned())
        .or_else(|| value.get("project_id").cloned());
    if let Some(id) = id.as_ref().and_then(Value::as_i64) {
        claims.check_project(ProjectId(id))?;
    }
    fields.insert("id".into(), id.unwrap_or(Value::Null));
    fields.insert("path".into(), Value::from(path));
    fields.insert("namespace_path".into(), Value::from(namespace));
    // The block's `namespace` is a display name, not a path.
    fields.remove("namespace");
    let project = new_project(store, &Fields(fields)).await?;
    Ok(Some(store.create_project(project, Millis::now()).await?))
}

/// Edits, renames or transfers a project from request fields, then sends one event.
pub async fn update_project(
    state: &AppState,
    old: Project,
    fields: &Fields,
) -> ServiceResult<Project> {
    let store = state.store.as_ref();
    let namespace = namespace(store, fields).await?;
    let update = ProjectUpdate {
        name: fields.string("name")?,
        path: fields.string("path")?,
        namespace_id: namespace.as_ref().map(|(id, _)| *id),
        namespace_path: namespace.and_then(|(_, path)| path),
        attributes: Some(attributes(fields, old.attributes.clone())?),
    };
    let project = store.update_project(old.id, update, Millis::now()).await?;
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
    emit(state, &Target::System, built).await?;
    Ok(project)
}

/// Deletes a project, then sends its `project_destroy` event.
pub async fn delete_project(state: &AppState, project: &Project) -> ServiceResult<()> {
    let store = state.store.as_ref();
    let owner = project_owner(store, project).await?;
    store.delete_project(project.id).await?;
    let built = payload::project(EventKind::ProjectDestroy, project, &owner);
    emit(state, &Target::System, built).await?;
    emit_project_hook(state, EventKind::ProjectDestroy, project, &owner).await
}

// ---------------------------------------------------------------- groups

/// Registers a group from request fields, then sends `group_create` and, under a parent,
/// `subgroup_create`.
pub async fn create_group(state: &AppState, fields: &Fields) -> ServiceResult<Group> {
    let name = fields.required("name")?;
    let path = fields
        .string("path")?
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| path_from(&name));
    let store = state.store.as_ref();
    let parent = match fields.integer("parent_id")?.map(GroupId) {
        Some(id) => Some(
            store
                .group(id)
                .await?
                .ok_or_else(|| ServiceError::not_found("Parent group"))?,
        ),
        None => None,
    };
    let group = store
        .create_group(
            NewGroup {
                id: fields.integer("id")?.map(GroupId),
                name,
                path,
                parent_id: parent.as_ref().map(|p| p.id),
                description: fields.string("description")?,
                visibility: fields.string("visibility")?,
            },
            Millis::now(),
        )
        .await?;
    let owner = group_owner(store, &group).await?;
    let built = payload::group(EventKind::GroupCreate, &group, &owner);
    emit(state, &Target::System, built).await?;
    if let Some(parent) = parent {
        let built = payload::subgroup(EventKind::SubgroupCreate, &group, &parent);
        let group_ids = ancestry_ids(store, parent.id).await?;
        emit(state, &Target::Group { group_ids }, built).await?;
    }
    Ok(group)
}

/// Edits, renames or moves a group from request fields; a new full path sends
/// `group_rename`.
pub async fn update_group(state: &AppState, old: Group, fields: &Fields) -> ServiceResult<Group> {
    let parent_id = if fields.has("parent_id") {
        match fields.integer("parent_id")?.map(GroupId) {
            Some(parent) if parent == old.id => {
                return Err(ServiceError::refused("a group cannot be its own parent"));
            }
            Some(parent) => Some(Some(parent)),
            None => Some(None),
        }
    } else {
        None
    };
    let optional = |name: &str| -> ServiceResult<Option<Option<String>>> {
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
    let group = store.update_group(old.id, update, Millis::now()).await?;
    // A new path or parent renames the group (and everything below it); a move into
    // another parent is no subgroup event (documented).
    if group.full_path != old.full_path {
        let owner = group_owner(store, &group).await?;
        let built = payload::group_renamed(&group, &owner, &old);
        emit(state, &Target::System, built).await?;
    }
    Ok(group)
}

/// Deletes a group, then sends `group_destroy` and, under a parent, `subgroup_destroy`.
pub async fn delete_group(state: &AppState, group: &Group) -> ServiceResult<()> {
    let store = state.store.as_ref();
    let owner = group_owner(store, group).await?;
    let parent = match group.parent_id {
        Some(parent_id) => store.group(parent_id).await?,
        None => None,
    };
    store.delete_group(group.id).await?;
    let built = payload::group(EventKind::GroupDestroy, group, &owner);
    emit(state, &Target::System, built).await?;
    if let Some(parent) = parent {
        let built = payload::subgroup(EventKind::SubgroupDestroy, group, &parent);
        let group_ids = ancestry_ids(store, parent.id).await?;
        emit(state, &Target::Group { group_ids }, built).await?;
    }
    Ok(())
}
