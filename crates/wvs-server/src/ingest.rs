//! Ingest: an event posted by an emitter becomes one stored event and one delivery per hook
//! that subscribed, in one transaction; nothing is acknowledged before it is durable.

use serde_json::Value;
use uuid::Uuid;
use wvs_events::{Event, EventKind, Scope};
use wvs_store::{Id, Inserted, NewDelivery, NewEvent, Store};

use crate::delivery::now_millis;
use crate::hooks::{scope_of, settings_of};

/// Where an event was posted, which decides the hooks that may receive it.
#[derive(Debug, Clone)]
pub enum Target {
    /// A project and the groups above it, nearest first.
    Project { project_id: Id, group_ids: Vec<Id> },
    /// A group and the groups above it, nearest first (the group itself first).
    Group { group_ids: Vec<Id> },
    /// The instance: system hooks only.
    System,
}

/// What an ingest request carries besides its target.
pub struct Incoming<'a> {
    pub event: &'a Event,
    /// The body exactly as received; it is stored and sent byte for byte.
    pub body: Vec<u8>,
    pub idempotency_key: Option<String>,
}

/// Routes `incoming` to every subscribed hook and stores it with its deliveries.
pub async fn ingest(
    store: &dyn Store,
    target: &Target,
    incoming: Incoming<'_>,
) -> wvs_store::Result<Inserted> {
    let (project_id, group_ids): (Option<Id>, &[Id]) = match target {
        Target::Project {
            project_id,
            group_ids,
        } => (Some(*project_id), group_ids),
        Target::Group { group_ids } => (None, group_ids),
        Target::System => (None, &[]),
    };
    let event_uuid = Uuid::now_v7();
    let candidates = store.candidate_hooks(project_id, group_ids).await?;
    let deliveries = candidates
        .iter()
        .filter_map(|hook| {
            let scope = scope_of(hook.owner);
            let trigger = wvs_hooks::wants(&settings_of(hook), scope, incoming.event)?;
            Some(NewDelivery {
                hook_id: hook.id,
                event_header: incoming.event.header_for(scope).to_owned(),
                trigger: trigger.as_str().to_owned(),
                idempotency_key: idempotency_key(event_uuid, &hook.uuid),
            })
        })
        .collect();
    let group_id = match target {
        Target::Group { group_ids } => group_ids.first().copied(),
        _ => None,
    };
    store
        .insert_event(
            NewEvent {
                uuid: event_uuid.to_string(),
                kind: incoming.event.kind().name().to_owned(),
                project_id,
                group_id,
                payload: incoming.body,
                idempotency_key: incoming.idempotency_key,
            },
            deliveries,
            now_millis(),
        )
        .await
}

/// The `Idempotency-Key` of an event's delivery to a hook: derived from both UUIDs, so it is
/// the same for every retry and resend and needs no storage of its own to recompute.
pub fn idempotency_key(event_uuid: Uuid, hook_uuid: &str) -> String {
    Uuid::new_v5(&event_uuid, hook_uuid.as_bytes()).to_string()
}

/// Whether an event of this kind may be posted to a target of this scope.
pub fn accepts(scope: Scope, event: &Event) -> Result<(), String> {
    let kind = event.kind();
    let fits = match scope {
        // Project endpoints take project events, and the project-bound system event.
        Scope::Project => kind.scope() == Scope::Project || kind == EventKind::RepositoryUpdate,
        Scope::Group => kind.scope() == Scope::Group,
        // The instance endpoint takes system events and the system variants of pushes and
        // memberships.
        Scope::System => {
            kind.scope() != Scope::Project
                || matches!(
                    kind,
                    EventKind::Push | EventKind::TagPush | EventKind::MergeRequest
                )
        }
    };
    if fits {
        Ok(())
    } else {
        let home = match kind.scope() {
            Scope::Project => "/projects/:id/events",
            Scope::Group => "/groups/:id/events",
            Scope::System => "/system/events",
        };
        Err(format!(
            "a `{}` event cannot be posted here: post it to {home}",
            kind.name()
        ))
    }
}

/// The `project` block of a payload, for registering a project on its first event.
pub fn project_block(body: &Value) -> Option<&serde_json::Map<String, Value>> {
    body.get("project").and_then(Value::as_object)
}
