//! Who a request is about and whether its caller may act on it: the project or group
//! named by a numeric id or a full path (as GitLab accepts), and what a caller reaches.

use wvs_store::{Group, GroupId, HookId, HookOwner, Project, ProjectId, Store};

use super::error::{ServiceError, ServiceResult};
use crate::auth::Reach;

/// Finds a project by numeric id or full path.
pub async fn find_project(store: &dyn Store, id: &str) -> ServiceResult<Project> {
    let found = match id.parse::<ProjectId>() {
        Ok(number) => store.project(number).await?,
        Err(_) => store.project_by_path(id).await?,
    };
    found.ok_or_else(|| ServiceError::not_found("Project"))
}

/// Finds a group by numeric id or full path.
pub async fn find_group(store: &dyn Store, id: &str) -> ServiceResult<Group> {
    let found = match id.parse::<GroupId>() {
        Ok(number) => store.group(number).await?,
        Err(_) => store.group_by_path(id).await?,
    };
    found.ok_or_else(|| ServiceError::not_found("Group"))
}

/// Whether a caller reaching `reach` may act on what `owner` owns. What it may not reach
/// answers exactly as what does not exist: 404 Project / Group Not Found.
pub async fn authorize(store: &dyn Store, reach: Reach, owner: HookOwner) -> ServiceResult<()> {
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
        (false, HookOwner::Group(_)) => Err(ServiceError::not_found("Group")),
        (false, _) => Err(ServiceError::not_found("Project")),
    }
}

/// Whether group `id` is `ancestor` or lies beneath it.
pub async fn beneath(store: &dyn Store, id: GroupId, ancestor: GroupId) -> ServiceResult<bool> {
    Ok(store
        .group_ancestry(id)
        .await?
        .iter()
        .any(|group| group.id == ancestor))
}

/// The groups above a project, nearest first (none for a user namespace).
pub async fn project_groups(store: &dyn Store, project: &Project) -> ServiceResult<Vec<Group>> {
    Ok(match project.namespace_id {
        Some(group_id) => store.group_ancestry(group_id).await?,
        None => Vec::new(),
    })
}

/// The hook `hook_id` of `owner`; 404 when it does not exist or belongs to someone else.
pub async fn owned_hook(
    store: &dyn Store,
    owner: HookOwner,
    hook_id: Option<HookId>,
) -> ServiceResult<wvs_store::Hook> {
    let not_found = || ServiceError::not_found("Hook");
    match store.hook(hook_id.ok_or_else(not_found)?).await? {
        Some(hook) if hook.owner == owner => Ok(hook),
        _ => Err(not_found()),
    }
}
