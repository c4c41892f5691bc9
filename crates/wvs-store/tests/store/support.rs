//! What every check builds on: stores filled with groups, projects, hooks, events and
//! attempts, in as few words as the checks can say them.

use super::*;

pub(crate) const PAGE: Page = Page {
    page: 1,
    per_page: 100,
};

/// Limits that never get in the way of checks about something else.
pub(crate) const ROOMY: DeliveryLimits = DeliveryLimits {
    max_in_flight: 100,
    ordered: false,
};

/// A health rule that changes nothing, for checks that are not about health.
pub(crate) struct KeepHealth;

impl HealthRule for KeepHealth {
    fn after(&self, _: HookOwner, health: &HookHealth, _: HealthEffect, _: Millis) -> HookHealth {
        health.clone()
    }
}

pub(crate) async fn group(
    store: &dyn Store,
    id: Option<GroupId>,
    path: &str,
    parent_id: Option<GroupId>,
) -> Group {
    store
        .create_group(
            NewGroup {
                id,
                name: path.to_uppercase(),
                path: path.to_owned(),
                parent_id,
                ..NewGroup::default()
            },
            Millis(1),
        )
        .await
        .expect("create group")
}

pub(crate) async fn project(
    store: &dyn Store,
    path: &str,
    namespace_id: Option<GroupId>,
    namespace_path: Option<&str>,
) -> Project {
    store
        .create_project(
            NewProject {
                id: None,
                name: path.to_owned(),
                path: path.to_owned(),
                namespace_id,
                namespace_path: namespace_path.map(str::to_owned),
                attributes: ProjectAttributes::default(),
            },
            Millis(1),
        )
        .await
        .expect("create project")
}

pub(crate) fn secrets() -> HookSecrets {
    HookSecrets {
        token: Some("s3cret".into()),
        signing_tokens: vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()],
        custom_headers: vec![("X-Custom".into(), "value".into())],
        url_variables: vec![("host".into(), "example.com".into())],
        previous_signing_token: Some(RetiredSecret {
            secret: "whsec_b2xkIHNlY3JldA==".into(),
            until: Millis(86_400_000),
        }),
    }
}

pub(crate) async fn hook(store: &dyn Store, owner: HookOwner) -> Hook {
    store
        .create_hook(
            NewHook {
                owner,
                url: "https://example.com/hook".into(),
                secrets: secrets(),
                settings: json!({"push_events": true, "name": "a hook"}),
                limits: ROOMY,
            },
            Millis(1),
        )
        .await
        .expect("create hook")
}

pub(crate) fn new_event(uuid: &str, idempotency_key: Option<&str>) -> NewEvent {
    NewEvent {
        uuid: uuid.into(),
        kind: "push".into(),
        project_id: None,
        group_id: None,
        chain_uuid: uuid.into(),
        payload: format!(r#"{{"object_kind":"push","uuid":"{uuid}"}}"#).into_bytes(),
        idempotency: idempotency_key.map(|key| Idempotency {
            key: key.to_owned(),
            body_sha256: "digest of the first body".into(),
        }),
    }
}

/// `new_event` posted under `key` with another body than the first one.
pub(crate) fn other_body(uuid: &str, key: &str) -> NewEvent {
    let mut event = new_event(uuid, Some(key));
    if let Some(idempotency) = event.idempotency.as_mut() {
        idempotency.body_sha256 = "digest of another body".into();
    }
    event
}

pub(crate) fn delivery(hook_id: HookId, n: usize) -> NewDelivery {
    NewDelivery {
        hook_id,
        event_header: "Push Hook".into(),
        trigger: "push_hooks".into(),
        idempotency_key: format!("key-{hook_id}-{n}"),
        rate_key: None,
    }
}

/// Stores one event with `n` deliveries to `hook_id`, due at `now`.
pub(crate) async fn enqueue(
    store: &dyn Store,
    uuid: &str,
    hook_id: HookId,
    n: usize,
    now: Millis,
) -> Inserted {
    let deliveries = (0..n).map(|i| delivery(hook_id, i)).collect();
    store
        .insert_event(new_event(uuid, None), deliveries, now)
        .await
        .expect("insert event")
}

pub(crate) fn attempt(
    hook_id: HookId,
    delivery_id: Option<DeliveryId>,
    event_id: Option<EventId>,
    outcome: Outcome,
    status: Option<u16>,
    at: Millis,
) -> Attempt {
    Attempt {
        delivery_id,
        hook_id,
        event_id,
        outcome,
        trigger: "push_hooks".into(),
        url: "https://example.com/hook".into(),
        request_headers: vec![("X-WVS-Event".into(), "Push Hook".into())],
        request_body: None,
        response_status: status,
        response_headers: vec![("Content-Type".into(), "text/plain".into())],
        response_body: b"ok".to_vec(),
        execution_duration: 0.25,
        internal_error: status.is_none().then(|| "connection refused".to_owned()),
        health: HealthEffect::Unchanged,
        rate_limited: false,
        created_at: at,
    }
}

/// The attempt a dispatcher would record for a claimed delivery.
pub(crate) fn attempt_for(
    claimed: &Claimed,
    outcome: Outcome,
    status: Option<u16>,
    at: Millis,
) -> Attempt {
    attempt(
        claimed.hook_id,
        Some(claimed.delivery_id),
        Some(claimed.event_id),
        outcome,
        status,
        at,
    )
}

pub(crate) fn ids(claimed: &[Claimed]) -> Vec<DeliveryId> {
    claimed.iter().map(|c| c.delivery_id).collect()
}

pub(crate) async fn counts(store: &dyn Store) -> DeliveryCounts {
    store.delivery_counts().await.expect("counts")
}
