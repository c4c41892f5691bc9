//! Who a request is about, as extractors: the project or group named by `:id` (a numeric id
//! or a URL-encoded full path, as GitLab accepts), and the hook named by `:hook_id` under it.
//! The finding and the access rules are [`crate::service::authorization`]'s.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, MatchedPath, Path};
use axum::http::request::Parts;
use wvs_store::{Hook, HookOwner};

use super::error::{ApiError, ApiResult};
use crate::auth::{Caller, Reach};
use crate::service::authorization::{authorize, find_group, find_project, owned_hook};
use crate::state::AppState;

/// The owner of the hooks a request is about, told by the route it matched.
#[derive(Debug, Clone, Copy)]
pub struct RouteOwner(pub HookOwner);

impl FromRequestParts<AppState> for RouteOwner {
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
        Ok(RouteOwner(owner))
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
        let RouteOwner(owner) = RouteOwner::from_request_parts(parts, state).await?;
        let params = path_params(parts, state).await?;
        let hook_id = params.get("hook_id").and_then(|id| id.parse().ok());
        Ok(OwnedHook(
            owned_hook(state.store.as_ref(), owner, hook_id).await?,
        ))
    }
}

async fn path_params(parts: &mut Parts, state: &AppState) -> ApiResult<HashMap<String, String>> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(params)
}
