//! Sends the events a registry change makes through the ordinary ingest path, and finds the
//! targets and owners they need.
//!
//! The change is committed first and its events after, each in its own transaction (the
//! store has no transaction spanning both). When an event cannot be stored (the database
//! went away between the two), the change stays made: the answer is the error, naming the
//! event that was not sent, so the caller knows hooks did not hear of it.

use wvs_events::EventKind;
use wvs_store::{Group, GroupId, MemberOf, Project, Store};

use super::error::{ServiceError, ServiceResult};
use super::ingest::ingest_one;
use crate::ingest::{Incoming, Target};
use crate::registry_events::access::AccessLevel;
use crate::registry_events::payload::{self, Built, Owner};
use crate::state::AppState;

/// Ingests one built registry event for `target`.
pub async fn emit(
    state: &AppState,
    target: &Target,
    built: payload::Result<Built>,
) -> ServiceResult<()> {
    let built = built.map_err(|error| {
        tracing::error!(%error, "registry event not built");
        ServiceError::internal(format!(
            "the change was saved, but its event could not be built: {error}"
        ))
    })?;
    let kind = built.event.kind();
    ingest_one(
        state,
        target,
        Incoming {
            event: &built.event,
            body: built.body,
            idempotency: None,
            chain_uuid: None,
        },
    )
    .await
    .map(drop)
    .map_err(|error| {
        tracing::error!(event = %kind, message = %error, "registry event not stored");
        ServiceError::EventNotStored {
            kind: kind.to_string(),
            source: Box::new(error),
        }
    })
}

/// A project created or destroyed in a group, to that group's hooks and its ancestors' with
/// `project_events` (`Project Hook`); a project in a user namespace has no group to tell.
pub(super) async fn emit_project_hook(
    state: &AppState,
    kind: EventKind,
    project: &Project,
    owner: &Owner,
) -> ServiceResult<()> {
    let Some(group_id) = project.namespace_id else {
        return Ok(());
    };
    let group_ids = ancestry_ids(state.store.as_ref(), group_id).await?;
    let built = payload::group_project(kind, project, owner);
    emit(state, &Target::GroupHooks { group_ids }, built).await
}

/// Group `id` and the groups above it, nearest first: whose hooks a group event reaches.
pub async fn ancestry_ids(store: &dyn Store, id: GroupId) -> ServiceResult<Vec<GroupId>> {
    Ok(store
        .group_ancestry(id)
        .await?
        .iter()
        .map(|g| g.id)
        .collect())
}

/// Who owns a project, as GitLab's system hooks say it: its group (which has no email), or
/// the user namespace (WVS knows its path only).
pub async fn project_owner(store: &dyn Store, project: &Project) -> ServiceResult<Owner> {
    let name = match project.namespace_id {
        Some(id) => store.group(id).await?.map(|group| group.name),
        None => None,
    };
    Ok(Owner {
        name: Some(name.unwrap_or_else(|| project.namespace_path.clone())),
        email: Some(String::new()),
    })
}

/// Who owns a group: its first member with the Owner role, `null` when it has none.
pub async fn group_owner(store: &dyn Store, group: &Group) -> ServiceResult<Owner> {
    let members = store.list_members(MemberOf::Group(group.id)).await?;
    Ok(members
        .into_iter()
        .find(|member| member.access_level == i64::from(AccessLevel::Owner))
        .map(|member| Owner {
            name: Some(member.user.name),
            email: Some(member.user.email),
        })
        .unwrap_or_default())
}
