//! Whose hooks a page is about: the project or group named in the path (numeric id or full
//! path, as the API accepts), or the instance (`/admin/hooks`); and the hook named by
//! `{hook_id}` under it. Access follows the API: what a token may not reach is not found.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, MatchedPath, Path};
use axum::http::request::Parts;
use wvs_store::{Hook, HookOwner};

use super::WebState;
use super::page::WebError;
use super::session::SignedIn;
use crate::auth::Reach;
use crate::service::ServiceError;
use crate::service::authorization::{authorize, find_group, find_project, owned_hook};
use crate::stored_hook::settings_of;

/// The owner of the hooks a page shows, with the signed-in caller.
pub struct Place {
    pub signed: SignedIn,
    pub owner: HookOwner,
    /// The path of its hook list (`/projects/15/hooks`); pages link beneath it.
    pub base: String,
    /// What the owner is, in words (`Project acme/web`).
    pub title: String,
}

impl FromRequestParts<WebState> for Place {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let signed = SignedIn::from_request_parts(parts, state).await?;
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(|path| path.as_str().to_owned())
            .unwrap_or_default();
        let params = params(parts, state).await?;
        let id = params.get("id").map(String::as_str).unwrap_or_default();
        let store = state.app.store.as_ref();
        let (owner, base, title) = if route.starts_with("/projects/") {
            let project = find_project(store, id).await?;
            let owner = HookOwner::Project(project.id);
            (
                owner,
                hooks_path(owner),
                format!("Project {}", project.path_with_namespace),
            )
        } else if route.starts_with("/groups/") {
            let group = find_group(store, id).await?;
            let owner = HookOwner::Group(group.id);
            (
                owner,
                hooks_path(owner),
                format!("Group {}", group.full_path),
            )
        } else {
            if signed.caller.reach != Reach::Admin {
                return Err(WebError::Forbidden(
                    "Only the administrator manages system hooks.",
                ));
            }
            (
                HookOwner::System,
                hooks_path(HookOwner::System),
                "System hooks".to_owned(),
            )
        };
        authorize(store, signed.caller.reach, owner).await?;
        Ok(Place {
            signed,
            owner,
            base,
            title,
        })
    }
}

/// The page listing an owner's hooks (`/projects/15/hooks`, `/admin/hooks`).
pub fn hooks_path(owner: HookOwner) -> String {
    match owner {
        HookOwner::Project(id) => format!("/projects/{id}/hooks"),
        HookOwner::Group(id) => format!("/groups/{id}/hooks"),
        HookOwner::System => "/admin/hooks".to_owned(),
    }
}

/// A hook's name, or `Hook N` when it has none.
pub fn display_name(hook: &Hook) -> String {
    settings_of(hook)
        .name
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("Hook {}", hook.id))
}

/// A hook of the page's owner; not found when it belongs to someone else.
pub struct PlacedHook {
    pub place: Place,
    pub hook: Hook,
}

impl PlacedHook {
    /// The path of this hook's pages (`/projects/15/hooks/3`).
    pub fn path(&self) -> String {
        format!("{}/{}", self.place.base, self.hook.id)
    }
}

impl FromRequestParts<WebState> for PlacedHook {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let place = Place::from_request_parts(parts, state).await?;
        let params = params(parts, state).await?;
        let hook_id = params.get("hook_id").and_then(|id| id.parse().ok());
        let hook = owned_hook(state.app.store.as_ref(), place.owner, hook_id).await?;
        Ok(PlacedHook { place, hook })
    }
}

async fn params(parts: &mut Parts, state: &WebState) -> Result<HashMap<String, String>, WebError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| ServiceError::invalid(e.body_text()))?;
    Ok(params)
}
