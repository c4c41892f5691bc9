//! Ingest: one event, posted or made by WVS, into the store with its deliveries (see
//! [`crate::ingest`]), and the target a project's events go to.

use wvs_store::{Group, HookOwner, Inserted, Project, Store};

use super::authorization::{authorize, project_groups};
use super::error::ServiceResult;
use crate::auth::Reach;
use crate::ingest::{self, Incoming, Target};
use crate::state::AppState;
use crate::{metrics, redact};

/// Ingests one event and wakes the dispatcher when it made new deliveries; shared by the
/// ingest endpoints and push processing.
pub async fn ingest_one(
    state: &AppState,
    target: &Target,
    mut incoming: Incoming<'_>,
) -> ServiceResult<Inserted> {
    if state.config.redact_emails && !matches!(target, Target::System) {
        // No registry of users' public emails yet: every email is treated as private.
        if let Some(redacted) = redact::emails(&incoming.body, |_| false) {
            incoming.body = redacted;
        }
    }
    let inserted = ingest::ingest(
        state.store.as_ref(),
        &state.limits,
        &state.config.delivery.auto_disable,
        target,
        incoming,
    )
    .await?;
    if !inserted.duplicate {
        metrics::ingested(target.scope());
        if inserted.deliveries > 0 {
            state.wake.notify_one();
        }
    }
    Ok(inserted)
}

/// The ingest target of a project the caller may reach (404 otherwise), with the groups above
/// it, nearest first.
pub async fn project_target(
    store: &dyn Store,
    reach: Reach,
    project: &Project,
) -> ServiceResult<(Target, Vec<Group>)> {
    authorize(store, reach, HookOwner::Project(project.id)).await?;
    let groups = project_groups(store, project).await?;
    let target = Target::Project {
        project_id: project.id,
        group_ids: groups.iter().map(|g| g.id).collect(),
        namespace_path: project.namespace_path.clone(),
    };
    Ok((target, groups))
}
