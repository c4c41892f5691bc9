//! Who a request is about: the project or group named by `:id` (a numeric id or a
//! URL-encoded full path, as GitLab accepts), and the hook named by `:hook_id` under it.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, MatchedPath, Path};
use axum::http::request::Parts;
use wvs_store::{Group, Hook, HookOwner, Id, Project, Store};

use super::error::{ApiError, ApiResult};
use crate::auth::{Caller, Reach};
use crate::state::AppState;

/// Finds a project by numeric id or full path.
pub async fn find_project(store: &dyn Store, id: &str) -> ApiResult<Project> {
    let found = match id.parse::<Id>() {
        Ok(number) => store.project(number).await?,
        Err(_) => store.project_by_path(id).await?,
    };
    found.ok_or_else(|| ApiError::not_found("Project"))
}

/// Finds a group by numeric id or full path.
pub async fn find_group(store: &dyn Store, id: &str) -> ApiResult<Group> {
    let found = match id.parse::<Id>() {
        Ok(number) => store.group(number).await?,
        Err(_) => store.group_by_path(id).await?,
    };
    found.ok_or_else(|| ApiError::not_found("Group"))
}

/// The owner of the hooks a request is about, told by the route it matched.
#[derive(Debug, Clone, Copy)]
pub struct Owner(pub HookOwner);

impl FromRequestParts<AppState> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(|path| path.as_str().to_owned())
            .unwrap_or_default();
        let params = path_params(parts, state).await?;
        let id = params.get("id").map(String::as_str).unwrap_or_default();
        let store = state.store.as_ref();
        let owner = if route.starts_with("/api/v4/projects/") {
            HookOwner::Project(find_project(store, id).await?.id)
        } else if route.starts_with("/api/v4/groups/") {
            HookOwner::Group(find_group(store, id).await?.id)
        } else {
            HookOwner::System
        };
        let reach = parts
            .extensions
            .get::<Caller>()
            .map_or(Reach::Admin, |caller| caller.reach);
        authorize(store, reach, owner).await?;
        Ok(Owner(owner))
    }
}

/// A hook of the request's owner; 404 when it does not exist or belongs to someone else.
pub struct OwnedHook(pub Hook);

impl FromRequestParts<AppState> for OwnedHook {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Owner(owner) = Owner::from_request_parts(parts, state).await?;
        let params = path_params(parts, state).await?;
        let hook_id: Id = params
            .get("hook_id")
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| ApiError::not_found("Hook"))?;
        match state.store.hook(hook_id).await? {
            Some(hook) if hook.owner == owner => Ok(OwnedHook(hook)),
            _ => Err(ApiError::not_found("Hook")),
        }
    }
}

/// Whether a caller reaching `reach` may act on what `owner` owns. What it may not reach
/// answers exactly as what does not exist: 404 Project / Group Not Found.
pub async fn authorize(store: &dyn Store, reach: Reach, owner: HookOwner) -> ApiResult<()> {
    let allowed = match (reach, owner) {
        (Reach::Admin, _) => true,
        (Reach::Project(mine), HookOwner::Project(id)) => mine == id,
        (Reach::Group(mine), HookOwner::Project(id)) => match store.project(id).await? {
            Some(Project {
                namespace_id: Some(group_id),
                ..
            }) => beneath(store, group_id, mine).await?,
            _ => false,
        },
        (Reach::Group(mine), HookOwner::Group(id)) => beneath(store, id, mine).await?,
        _ => false,
    };
    match (allowed, owner) {
        (true, _) => Ok(()),
        (false, HookOwner::Group(_)) => Err(ApiError::not_found("Group")),
        (false, _) => Err(ApiError::not_found("Project")),
    }
}

/// Whether group `id` is `ancestor` or lies beneath it.
pub(super) async fn beneath(store: &dyn Store, id: Id, ancestor: Id) -> ApiResult<bool> {
    Ok(store
        .group_ancestry(id)
        .await?
        .iter()
        .any(|group| group.id == ancestor))
}

async fn path_params(parts: &mut Parts, state: &AppState) -> ApiResult<HashMap<String, String>> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(params)
}

/// The groups above a project, nearest first (none for a user namespace).
pub async fn project_groups(store: &dyn Store, project: &Project) -> ApiResult<Vec<Group>> {
    Ok(match project.namespace_id {
        Some(group_id) => store.group_ancestry(group_id).await?,
        None => Vec::new(),
    })
}
