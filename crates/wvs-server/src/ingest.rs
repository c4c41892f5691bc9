//! Ingest: an event posted by an emitter becomes one stored event and one delivery per hook
//! that subscribed, in one transaction; nothing is acknowledged before it is durable.
//!
//! Loop protection: an event posted with the UUID of the event that caused it (a receiver
//! calling back into WVS passes on `X-WVS-Event-UUID` / `X-Gitlab-Event-UUID`) keeps that
//! UUID, and the events sharing it form a chain. A chain is not delivered to a hook it has
//! already reached, nor to more than [`MAX_CHAIN_HOOKS`] hooks; each stopped delivery is a
//! log row of the hook that says why.

use std::collections::HashSet;

use serde_json::Value;
use uuid::Uuid;
use wvs_events::{Event, EventKind, Scope};
use wvs_store::{
    Attempt, GroupId, HealthEffect, HealthRule, Hook, HookId, Idempotency, Inserted, NewDelivery,
    NewEvent, Outcome, ProjectId, RateKey, Store,
};

use crate::dispatch::HookLimits;
use crate::stored_hook::{scope_of, settings_of};
use wvs_store::Millis;

/// Hooks one chain of events may reach at most.
pub const MAX_CHAIN_HOOKS: usize = 100;

/// Where an event was posted, which decides the hooks that may receive it.
#[derive(Debug, Clone)]
pub enum Target {
    /// A project and the groups above it, nearest first; `namespace_path` names a user
    /// namespace when there is no group.
    Project {
        project_id: ProjectId,
        group_ids: Vec<GroupId>,
        namespace_path: String,
    },
    /// A group and the groups above it, nearest first (the group itself first).
    Group { group_ids: Vec<GroupId> },
    /// As [`Target::Group`], but for the group hooks only: an event whose system hook copy
    /// is a payload of its own, ingested separately (a registry membership change).
    GroupHooks { group_ids: Vec<GroupId> },
    /// The instance: system hooks only.
    System,
}

impl Target {
    /// The top-level namespace whose rate limit project and group hooks count against.
    fn rate_key(&self) -> Option<RateKey> {
        match self {
            Target::Project {
                group_ids,
                namespace_path,
                ..
            } => Some(match group_ids.last() {
                Some(&root) => RateKey::Group(root),
                None => RateKey::User(namespace_path.clone()),
            }),
            Target::Group { group_ids } | Target::GroupHooks { group_ids } => {
                group_ids.last().map(|&root| RateKey::Group(root))
            }
            Target::System => None,
        }
    }
}

/// What an ingest request carries besides its target.
pub struct Incoming<'a> {
    pub event: &'a Event,
    /// The body exactly as received; it is stored and sent byte for byte.
    pub body: Vec<u8>,
    pub idempotency: Option<Idempotency>,
    /// The UUID of the event that caused this one, when a receiver passed it on.
    pub chain_uuid: Option<Uuid>,
}

impl Target {
    /// Whose event it is.
    pub fn scope(&self) -> Scope {
        match self {
            Target::Project { .. } => Scope::Project,
            Target::Group { .. } | Target::GroupHooks { .. } => Scope::Group,
            Target::System => Scope::System,
        }
    }
}

/// A routed delivery that loop protection stopped.
struct Stopped<'a> {
    hook: &'a Hook,
    trigger: String,
    why: String,
}

/// Routes `incoming` to every subscribed hook and stores it with its deliveries.
pub async fn ingest(
    store: &dyn Store,
    limits: &HookLimits,
    rule: &dyn HealthRule,
    target: &Target,
    incoming: Incoming<'_>,
) -> wvs_store::Result<Inserted> {
    let (project_id, group_ids): (Option<ProjectId>, &[GroupId]) = match target {
        Target::Project {
            project_id,
            group_ids,
            ..
        } => (Some(*project_id), group_ids),
        Target::Group { group_ids } | Target::GroupHooks { group_ids } => (None, group_ids),
        Target::System => (None, &[]),
    };
    // A project created or destroyed, posted to its group, is the group hooks' `Project Hook`:
    // system hooks get their own variant of it, posted to the instance.
    let system_hooks = match target {
        Target::GroupHooks { .. } => false,
        Target::Group { .. } => !incoming.event.kind().is_project_hook(),
        _ => true,
    };
    let event_uuid = Uuid::now_v7();
    let chain_uuid = incoming.chain_uuid.unwrap_or(event_uuid).to_string();
    let mut reached: HashSet<HookId> = match incoming.chain_uuid {
        Some(_) => store.chain_hooks(&chain_uuid).await?.into_iter().collect(),
        None => HashSet::new(),
    };
    let rate_key = target.rate_key();
    let candidates = store.candidate_hooks(project_id, group_ids).await?;
    let mut deliveries = Vec::new();
    let mut stopped = Vec::new();
    for hook in candidates.iter() {
        let scope = scope_of(hook.owner);
        if scope == Scope::System && !system_hooks {
            continue;
        }
        let Some(trigger) = wvs_hooks::wants(&settings_of(hook), scope, incoming.event) else {
            continue;
        };
        let trigger = trigger.as_str().to_owned();
        if let Some(why) = loop_stop(&reached, hook.id) {
            stopped.push(Stopped { hook, trigger, why });
            continue;
        }
        reached.insert(hook.id);
        deliveries.push(NewDelivery {
            hook_id: hook.id,
            event_header: incoming.event.header_for(scope).to_owned(),
            trigger,
            idempotency_key: idempotency_key(event_uuid, &hook.uuid),
            rate_key: (scope != Scope::System).then(|| rate_key.clone()).flatten(),
        });
    }
    // Their limits then hold from their first claim on this node.
    limits.know(deliveries.iter().map(|delivery| delivery.hook_id));
    let group_id = match target {
        Target::Group { group_ids } | Target::GroupHooks { group_ids } => {
            group_ids.first().copied()
        }
        _ => None,
    };
    let inserted = store
        .insert_event(
            NewEvent {
                uuid: event_uuid.to_string(),
                chain_uuid,
                kind: incoming.event.kind().name().to_owned(),
                project_id,
                group_id,
                payload: incoming.body,
                idempotency: incoming.idempotency,
            },
            deliveries,
            Millis::now(),
        )
        .await?;
    if !inserted.duplicate {
        log_stopped(store, rule, &inserted, stopped).await?;
    }
    Ok(inserted)
}

/// Why a chain that already reached `reached` may not go on to `hook_id`, if it may not.
fn loop_stop(reached: &HashSet<HookId>, hook_id: HookId) -> Option<String> {
    if reached.contains(&hook_id) {
        Some("loop stopped: this event's chain already reached this hook".to_owned())
    } else if reached.len() >= MAX_CHAIN_HOOKS {
        Some(format!(
            "loop stopped: this event's chain already reached {MAX_CHAIN_HOOKS} hooks"
        ))
    } else {
        None
    }
}

/// One log row per stopped delivery: nothing was sent, the log says why.
async fn log_stopped(
    store: &dyn Store,
    rule: &dyn HealthRule,
    inserted: &Inserted,
    stopped: Vec<Stopped<'_>>,
) -> wvs_store::Result<()> {
    for Stopped { hook, trigger, why } in stopped {
        tracing::warn!(hook = hook.id.0, event = %inserted.event_uuid, "{why}");
        let row = Attempt {
            delivery_id: None,
            hook_id: hook.id,
            event_id: Some(inserted.event_id),
            outcome: Outcome::Failed,
            health: HealthEffect::Unchanged,
            rate_limited: false,
            trigger,
            url: wvs_send::log_url(&hook.url),
            request_headers: Vec::new(),
            request_body: None,
            response_status: None,
            response_headers: Vec::new(),
            response_body: Vec::new(),
            execution_duration: 0.0,
            internal_error: Some(why),
            created_at: Millis::now(),
        };
        store.log_attempt(row, rule).await?;
    }
    Ok(())
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
        // Group endpoints take group events, the projects created or destroyed in the group,
        // and the project kinds GitLab also sends for groups (group access tokens,
        // milestones, epics and other work items).
        Scope::Group => {
            kind.scope() == Scope::Group
                || kind.is_project_hook()
                || matches!(
                    kind,
                    EventKind::AccessToken | EventKind::Milestone | EventKind::WorkItem
                )
        }
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
