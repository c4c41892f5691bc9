//! Ingest: one event, posted or made by WVS, into the store with its deliveries (see
//! [`crate::ingest`]), and the registration of a project on its first event.

use serde_json::{Map, Value};
use wvs_events::Event;
use wvs_store::{Group, HookOwner, Inserted, Project, Store};

use super::authorization::{authorize, project_groups};
use super::claims::Claims;
use super::error::ServiceResult;
use super::fields::Fields;
use super::registry::new_project;
use crate::auth::Reach;
use crate::delivery::now_millis;
use crate::ingest::{self, Incoming, Target, project_block};
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
        claims.check_project(id)?;
    }
    fields.insert("id".into(), id.unwrap_or(Value::Null));
    fields.insert("path".into(), Value::from(path));
    fields.insert("namespace_path".into(), Value::from(namespace));
    // The block's `namespace` is a display name, not a path.
    fields.remove("namespace");
    let project = new_project(store, &Fields(fields)).await?;
    Ok(Some(store.create_project(project, now_millis()).await?))
}
