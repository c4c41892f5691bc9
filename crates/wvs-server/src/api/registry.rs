//! The registry's routes: projects and groups with GitLab API v4 shapes. The changes and
//! the events they send are [`crate::service::registry`]'s.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wvs_store::{Group, Project, Store};

use super::endpoints::{Documented, Endpoints};
use super::error::ApiResult;
use super::pagination::Paging;
use super::params::Params;
use super::schema::{self, GroupParams, Message, Namespace, ProjectParams};
use crate::registry_events::payload;
use crate::service::authorization::{find_group, find_project};
use crate::service::fields::Fields;
use crate::service::registry;
use crate::state::AppState;
use crate::time::iso8601;

pub fn routes() -> Documented {
    Endpoints::new("registry")
        .get("/projects", list_projects, "List projects")
        .answers::<Vec<schema::Project>>(200)
        .post("/projects", create_project, "Register a project")
        .takes::<ProjectParams>()
        .answers::<schema::Project>(201)
        .get("/projects/{id}", get_project, "Get a project")
        .answers::<schema::Project>(200)
        .put(
            "/projects/{id}",
            update_project,
            "Edit, rename or transfer a project",
        )
        .takes::<ProjectParams>()
        .answers::<schema::Project>(200)
        .delete("/projects/{id}", delete_project, "Delete a project")
        .answers::<Message>(202)
        .get("/groups", list_groups, "List groups")
        .answers::<Vec<schema::Group>>(200)
        .post("/groups", create_group, "Register a group")
        .takes::<GroupParams>()
        .answers::<schema::Group>(201)
        .get("/groups/{id}", get_group, "Get a group")
        .answers::<schema::Group>(200)
        .put("/groups/{id}", update_group, "Edit, rename or move a group")
        .takes::<GroupParams>()
        .answers::<schema::Group>(200)
        .delete("/groups/{id}", delete_group, "Delete a group")
        .answers::<Message>(202)
        .build()
}

// ---------------------------------------------------------------- projects

pub fn render_project(project: &Project) -> schema::Project {
    let a = project.attributes.clone();
    let namespace_name = project
        .namespace_path
        .rsplit('/')
        .next()
        .unwrap_or_default();
    schema::Project {
        id: project.id.0,
        name: project.name.clone(),
        path: project.path.clone(),
        path_with_namespace: project.path_with_namespace.clone(),
        description: a.description,
        web_url: a.web_url,
        avatar_url: a.avatar_url,
        ssh_url_to_repo: a.git_ssh_url,
        http_url_to_repo: a.git_http_url,
        default_branch: a.default_branch,
        visibility: payload::project_visibility(project).to_owned(),
        ci_config_path: a.ci_config_path,
        homepage: a.homepage,
        namespace: Namespace {
            id: project.namespace_id.map(|id| id.0),
            name: namespace_name.to_owned(),
            path: namespace_name.to_owned(),
            kind: if project.namespace_id.is_some() {
                "group"
            } else {
                "user"
            }
            .to_owned(),
            full_path: project.namespace_path.clone(),
        },
        created_at: iso8601(project.created_at),
        last_activity_at: iso8601(project.updated_at),
    }
}

/// `202 {"message": "202 Accepted"}`, the answer to a delete.
fn accepted() -> Response {
    let message = Message {
        message: "202 Accepted".to_owned(),
    };
    (StatusCode::ACCEPTED, Json(message)).into_response()
}

async fn create_project(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let project = registry::create_project(&state, &Fields(params.into_object())).await?;
    Ok((StatusCode::CREATED, Json(render_project(&project))).into_response())
}

async fn get_project(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<schema::Project>> {
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
) -> ApiResult<Json<schema::Project>> {
    let project = find_project(state.store.as_ref(), &id).await?;
    let fields = Fields(params.into_object());
    let project = registry::update_project(&state, project, &fields).await?;
    Ok(Json(render_project(&project)))
}

async fn delete_project(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let project = find_project(state.store.as_ref(), &id).await?;
    registry::delete_project(&state, &project).await?;
    Ok(accepted())
}

// ---------------------------------------------------------------- groups

/// A group as the API shows it; its `full_name` is its ancestors' names and its own joined
/// by ` / `, as GitLab's.
async fn render_group(store: &dyn Store, group: &Group) -> ApiResult<schema::Group> {
    let mut names: Vec<String> = store
        .group_ancestry(group.id)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    names.reverse();
    Ok(group_json(group, &names.join(" / ")))
}

fn group_json(group: &Group, full_name: &str) -> schema::Group {
    schema::Group {
        id: group.id.0,
        name: group.name.clone(),
        path: group.path.clone(),
        full_path: group.full_path.clone(),
        full_name: full_name.to_owned(),
        parent_id: group.parent_id.map(|id| id.0),
        description: group.description.clone(),
        visibility: group
            .visibility
            .clone()
            .unwrap_or_else(|| "private".to_owned()),
        created_at: iso8601(group.created_at),
    }
}

async fn create_group(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let group = registry::create_group(&state, &Fields(params.into_object())).await?;
    let shown = render_group(state.store.as_ref(), &group).await?;
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

async fn get_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<schema::Group>> {
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
) -> ApiResult<Json<schema::Group>> {
    let group = find_group(state.store.as_ref(), &id).await?;
    let fields = Fields(params.into_object());
    let group = registry::update_group(&state, group, &fields).await?;
    Ok(Json(render_group(state.store.as_ref(), &group).await?))
}

async fn delete_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let group = find_group(state.store.as_ref(), &id).await?;
    registry::delete_group(&state, &group).await?;
    Ok(accepted())
}
