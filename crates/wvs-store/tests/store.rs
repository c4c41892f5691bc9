//! The behavioural suite of the [`Store`] trait.
//!
//! Every behaviour is one `check_*` function that takes `&dyn Store` and knows nothing of the
//! backend; the `sqlite` and `postgres` modules at the bottom run each of them against a
//! fresh SQLite file and a fresh PostgreSQL database (`WVS_TEST_DATABASE_URL`).

use std::collections::{HashMap, HashSet};

use serde_json::json;
use wvs_store::*;

// ---------------------------------------------------------------- builders

const PAGE: Page = Page {
    page: 1,
    per_page: 100,
};

/// Limits that never get in the way of checks about something else.
const ROOMY: DeliveryLimits = DeliveryLimits {
    max_in_flight: 100,
    ordered: false,
};

/// A health rule that changes nothing, for checks that are not about health.
struct KeepHealth;

impl HealthRule for KeepHealth {
    fn after(&self, _: HookOwner, health: &HookHealth, _: HealthEffect, _: Millis) -> HookHealth {
        health.clone()
    }
}

async fn group(store: &dyn Store, id: Option<Id>, path: &str, parent_id: Option<Id>) -> Group {
    store
        .create_group(
            NewGroup {
                id,
                name: path.to_uppercase(),
                path: path.to_owned(),
                parent_id,
                ..NewGroup::default()
            },
            1,
        )
        .await
        .expect("create group")
}

async fn project(
    store: &dyn Store,
    path: &str,
    namespace_id: Option<Id>,
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
            1,
        )
        .await
        .expect("create project")
}

fn secrets() -> HookSecrets {
    HookSecrets {
        token: Some("s3cret".into()),
        signing_tokens: vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()],
        custom_headers: vec![("X-Custom".into(), "value".into())],
        url_variables: vec![("host".into(), "example.com".into())],
        previous_signing_token: Some(RetiredSecret {
            secret: "whsec_b2xkIHNlY3JldA==".into(),
            until: 86_400_000,
        }),
    }
}

async fn hook(store: &dyn Store, owner: HookOwner) -> Hook {
    store
        .create_hook(
            NewHook {
                owner,
                url: "https://example.com/hook".into(),
                secrets: secrets(),
                settings: json!({"push_events": true, "name": "a hook"}),
                limits: ROOMY,
            },
            1,
        )
        .await
        .expect("create hook")
}

fn new_event(uuid: &str, idempotency_key: Option<&str>) -> NewEvent {
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
fn other_body(uuid: &str, key: &str) -> NewEvent {
    let mut event = new_event(uuid, Some(key));
    if let Some(idempotency) = event.idempotency.as_mut() {
        idempotency.body_sha256 = "digest of another body".into();
    }
    event
}

fn delivery(hook_id: Id, n: usize) -> NewDelivery {
    NewDelivery {
        hook_id,
        event_header: "Push Hook".into(),
        trigger: "push_hooks".into(),
        idempotency_key: format!("key-{hook_id}-{n}"),
        rate_key: None,
    }
}

/// Stores one event with `n` deliveries to `hook_id`, due at `now`.
async fn enqueue(store: &dyn Store, uuid: &str, hook_id: Id, n: usize, now: Millis) -> Inserted {
    let deliveries = (0..n).map(|i| delivery(hook_id, i)).collect();
    store
        .insert_event(new_event(uuid, None), deliveries, now)
        .await
        .expect("insert event")
}

fn attempt(
    hook_id: Id,
    delivery_id: Option<Id>,
    event_id: Option<Id>,
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
fn attempt_for(claimed: &Claimed, outcome: Outcome, status: Option<u16>, at: Millis) -> Attempt {
    attempt(
        claimed.hook_id,
        Some(claimed.delivery_id),
        Some(claimed.event_id),
        outcome,
        status,
        at,
    )
}

fn ids(claimed: &[Claimed]) -> Vec<Id> {
    claimed.iter().map(|c| c.delivery_id).collect()
}

async fn counts(store: &dyn Store) -> DeliveryCounts {
    store.delivery_counts().await.expect("counts")
}

// ---------------------------------------------------------------- settings and registry

pub async fn check_settings(store: &dyn Store) {
    assert_eq!(store.setting("admin_token").await.unwrap(), None);
    store.set_setting("admin_token", "hash-1").await.unwrap();
    store.set_setting("admin_token", "hash-2").await.unwrap();
    assert_eq!(
        store.setting("admin_token").await.unwrap().as_deref(),
        Some("hash-2")
    );
}

pub async fn check_registry_crud(store: &dyn Store) {
    // Given ids are kept; others are assigned.
    let acme = group(store, Some(42), "acme", None).await;
    assert_eq!(
        (acme.id, acme.full_path.as_str(), acme.name.as_str()),
        (42, "acme", "ACME")
    );
    let tools = group(store, None, "tools", Some(42)).await;
    assert_ne!(tools.id, 42);
    assert_eq!(tools.full_path, "acme/tools");
    assert_eq!(tools.parent_id, Some(42));

    let duplicate_id = store
        .create_group(
            NewGroup {
                id: Some(42),
                name: "x".into(),
                path: "x".into(),
                ..NewGroup::default()
            },
            1,
        )
        .await;
    assert!(
        matches!(duplicate_id, Err(StoreError::Conflict("group"))),
        "{duplicate_id:?}"
    );
    let duplicate_path = store
        .create_group(
            NewGroup {
                name: "t".into(),
                path: "tools".into(),
                parent_id: Some(42),
                ..NewGroup::default()
            },
            1,
        )
        .await;
    assert!(
        matches!(duplicate_path, Err(StoreError::Conflict("group"))),
        "{duplicate_path:?}"
    );
    let orphan = store
        .create_group(
            NewGroup {
                name: "o".into(),
                path: "o".into(),
                parent_id: Some(9999),
                ..NewGroup::default()
            },
            1,
        )
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");

    assert_eq!(store.group(42).await.unwrap(), Some(acme.clone()));
    assert_eq!(
        store.group_by_path("acme/tools").await.unwrap(),
        Some(tools.clone())
    );
    assert_eq!(store.group_by_path("acme/nope").await.unwrap(), None);
    assert_eq!(store.group(9999).await.unwrap(), None);

    let updated = store
        .update_group(
            42,
            GroupUpdate {
                name: Some("Acme Inc".into()),
                description: Some(Some("the company".into())),
                visibility: Some(Some("public".into())),
                ..GroupUpdate::default()
            },
            5,
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "Acme Inc");
    assert_eq!(updated.description.as_deref(), Some("the company"));
    assert_eq!((updated.created_at, updated.updated_at), (1, 5));
    let cleared = store
        .update_group(
            42,
            GroupUpdate {
                description: Some(None),
                ..GroupUpdate::default()
            },
            6,
        )
        .await
        .unwrap();
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.visibility.as_deref(), Some("public"));
    assert!(matches!(
        store.update_group(9999, GroupUpdate::default(), 6).await,
        Err(StoreError::NotFound(_))
    ));

    let groups = store
        .list_groups(Page {
            page: 2,
            per_page: 1,
        })
        .await
        .unwrap();
    assert_eq!(groups.total, 2);
    assert_eq!(groups.items.len(), 1);
    assert_eq!(groups.items[0].id, tools.id.max(42));

    // Projects: in a group, or in a user namespace.
    let attributes = ProjectAttributes {
        description: Some("the api".into()),
        web_url: Some("https://forge.example/acme/tools/api".into()),
        visibility_level: Some(20),
        default_branch: Some("main".into()),
        ..ProjectAttributes::default()
    };
    let api = store
        .create_project(
            NewProject {
                id: Some(7),
                name: "API".into(),
                path: "api".into(),
                namespace_id: Some(tools.id),
                namespace_path: Some("ignored".into()),
                attributes: attributes.clone(),
            },
            1,
        )
        .await
        .unwrap();
    assert_eq!(api.id, 7);
    assert_eq!(api.namespace_path, "acme/tools");
    assert_eq!(api.path_with_namespace, "acme/tools/api");
    assert_eq!(api.attributes, attributes);
    let dotfiles = project(store, "dotfiles", None, Some("alice")).await;
    assert_eq!(
        (dotfiles.namespace_id, dotfiles.path_with_namespace.as_str()),
        (None, "alice/dotfiles")
    );

    let duplicate = store
        .create_project(
            NewProject {
                name: "api".into(),
                path: "api".into(),
                namespace_id: Some(tools.id),
                ..NewProject::default()
            },
            1,
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict("project"))),
        "{duplicate:?}"
    );
    let homeless = store
        .create_project(
            NewProject {
                name: "x".into(),
                path: "x".into(),
                ..NewProject::default()
            },
            1,
        )
        .await;
    assert!(
        matches!(homeless, Err(StoreError::Invalid(_))),
        "{homeless:?}"
    );
    let lost = store
        .create_project(
            NewProject {
                name: "x".into(),
                path: "x".into(),
                namespace_id: Some(9999),
                ..NewProject::default()
            },
            1,
        )
        .await;
    assert!(matches!(lost, Err(StoreError::NotFound(_))), "{lost:?}");

    assert_eq!(store.project(7).await.unwrap(), Some(api.clone()));
    assert_eq!(
        store.project_by_path("acme/tools/api").await.unwrap(),
        Some(api.clone())
    );
    assert_eq!(
        store.project_by_path("alice/dotfiles").await.unwrap(),
        Some(dotfiles.clone())
    );

    // Rename, move to another group, move to a user namespace, rename the user namespace.
    let renamed = store
        .update_project(
            7,
            ProjectUpdate {
                path: Some("api-v2".into()),
                ..ProjectUpdate::default()
            },
            9,
        )
        .await
        .unwrap();
    assert_eq!(renamed.path_with_namespace, "acme/tools/api-v2");
    assert_eq!(renamed.attributes, attributes);
    assert_eq!(renamed.updated_at, 9);
    assert_eq!(store.project_by_path("acme/tools/api").await.unwrap(), None);
    let moved = store
        .update_project(
            7,
            ProjectUpdate {
                namespace_id: Some(Some(42)),
                ..ProjectUpdate::default()
            },
            9,
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.namespace_id, moved.path_with_namespace.as_str()),
        (Some(42), "acme/api-v2")
    );
    let to_user = store
        .update_project(
            7,
            ProjectUpdate {
                namespace_id: Some(None),
                namespace_path: Some("bob".into()),
                ..ProjectUpdate::default()
            },
            9,
        )
        .await
        .unwrap();
    assert_eq!(
        (to_user.namespace_id, to_user.path_with_namespace.as_str()),
        (None, "bob/api-v2")
    );
    let user_renamed = store
        .update_project(
            7,
            ProjectUpdate {
                namespace_path: Some("robert".into()),
                ..ProjectUpdate::default()
            },
            9,
        )
        .await
        .unwrap();
    assert_eq!(user_renamed.path_with_namespace, "robert/api-v2");
    let clash = store
        .update_project(
            7,
            ProjectUpdate {
                namespace_path: Some("alice".into()),
                path: Some("dotfiles".into()),
                ..ProjectUpdate::default()
            },
            9,
        )
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict("project"))),
        "{clash:?}"
    );
    let new_attributes = ProjectAttributes {
        homepage: Some("https://api.example".into()),
        ..ProjectAttributes::default()
    };
    let reattributed = store
        .update_project(
            7,
            ProjectUpdate {
                attributes: Some(new_attributes.clone()),
                ..ProjectUpdate::default()
            },
            9,
        )
        .await
        .unwrap();
    assert_eq!(reattributed.attributes, new_attributes);

    let projects = store.list_projects(PAGE).await.unwrap();
    assert_eq!(projects.total, 2);
    assert_eq!(projects.items.iter().map(|p| p.id).collect::<Vec<_>>(), {
        let mut ids = vec![7, dotfiles.id];
        ids.sort();
        ids
    });

    store.delete_project(dotfiles.id).await.unwrap();
    assert_eq!(store.project(dotfiles.id).await.unwrap(), None);
    assert!(matches!(
        store.delete_project(dotfiles.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_group(9999).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn check_group_move_rewrites_paths(store: &dyn Store) {
    let acme = group(store, None, "acme", None).await;
    let platform = group(store, None, "platform", Some(acme.id)).await;
    let infra = group(store, None, "infra", Some(platform.id)).await;
    let other = group(store, None, "other", None).await;
    // Shares a prefix with "other" but is not below it.
    let other_x = group(store, None, "other-x", None).await;
    let api = project(store, "api", Some(infra.id), None).await;
    let web = project(store, "web", Some(platform.id), None).await;
    let side = project(store, "side", Some(other_x.id), None).await;
    assert_eq!(api.path_with_namespace, "acme/platform/infra/api");

    let path = async |id| store.group(id).await.unwrap().unwrap().full_path;
    let project_path = async |id| {
        store
            .project(id)
            .await
            .unwrap()
            .unwrap()
            .path_with_namespace
    };

    // Rename the top group: everything below follows.
    store
        .update_group(
            acme.id,
            GroupUpdate {
                path: Some("acme-corp".into()),
                ..GroupUpdate::default()
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(path(platform.id).await, "acme-corp/platform");
    assert_eq!(path(infra.id).await, "acme-corp/platform/infra");
    assert_eq!(project_path(api.id).await, "acme-corp/platform/infra/api");
    assert_eq!(project_path(web.id).await, "acme-corp/platform/web");
    let moved_api = store
        .project_by_path("acme-corp/platform/infra/api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved_api.namespace_path, "acme-corp/platform/infra");
    assert_eq!(
        store
            .project_by_path("acme/platform/infra/api")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.group_by_path("acme/platform").await.unwrap(), None);

    // Move a subtree under another group.
    store
        .update_group(
            platform.id,
            GroupUpdate {
                parent_id: Some(Some(other.id)),
                ..GroupUpdate::default()
            },
            3,
        )
        .await
        .unwrap();
    assert_eq!(path(platform.id).await, "other/platform");
    assert_eq!(path(infra.id).await, "other/platform/infra");
    assert_eq!(project_path(api.id).await, "other/platform/infra/api");
    assert_eq!(project_path(web.id).await, "other/platform/web");
    assert_eq!(path(acme.id).await, "acme-corp");
    let ancestry: Vec<Id> = store
        .group_ancestry(infra.id)
        .await
        .unwrap()
        .iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(ancestry, vec![infra.id, platform.id, other.id]);
    assert_eq!(store.group_ancestry(9999).await.unwrap(), Vec::new());

    // Renaming "other" leaves "other-x" alone.
    store
        .update_group(
            other.id,
            GroupUpdate {
                path: Some("else".into()),
                ..GroupUpdate::default()
            },
            4,
        )
        .await
        .unwrap();
    assert_eq!(path(infra.id).await, "else/platform/infra");
    assert_eq!(path(other_x.id).await, "other-x");
    assert_eq!(project_path(side.id).await, "other-x/side");

    // No cycles.
    for parent in [platform.id, infra.id] {
        let cycle = store
            .update_group(
                platform.id,
                GroupUpdate {
                    parent_id: Some(Some(parent)),
                    ..GroupUpdate::default()
                },
                5,
            )
            .await;
        assert!(matches!(cycle, Err(StoreError::Invalid(_))), "{cycle:?}");
    }
    assert_eq!(path(infra.id).await, "else/platform/infra");

    // A clash with an existing path changes nothing.
    let clash = store
        .update_group(
            platform.id,
            GroupUpdate {
                parent_id: Some(None),
                path: Some("acme-corp".into()),
                ..GroupUpdate::default()
            },
            6,
        )
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict("group"))),
        "{clash:?}"
    );
    assert_eq!(path(infra.id).await, "else/platform/infra");

    // To the top level.
    let top = store
        .update_group(
            platform.id,
            GroupUpdate {
                parent_id: Some(None),
                ..GroupUpdate::default()
            },
            7,
        )
        .await
        .unwrap();
    assert_eq!((top.full_path.as_str(), top.parent_id), ("platform", None));
    assert_eq!(project_path(api.id).await, "platform/infra/api");
    assert_eq!(store.group_ancestry(infra.id).await.unwrap().len(), 2);
}

pub async fn check_cascade_delete(store: &dyn Store) {
    let top = group(store, None, "top", None).await;
    let sub = group(store, None, "sub", Some(top.id)).await;
    let kept = group(store, None, "kept", None).await;
    let inner = project(store, "inner", Some(sub.id), None).await;
    let outside = project(store, "outside", Some(kept.id), None).await;
    let top_hook = hook(store, HookOwner::Group(top.id)).await;
    let sub_hook = hook(store, HookOwner::Group(sub.id)).await;
    let inner_hook = hook(store, HookOwner::Project(inner.id)).await;
    let outside_hook = hook(store, HookOwner::Project(outside.id)).await;
    let system_hook = hook(store, HookOwner::System).await;
    let all = [
        top_hook.id,
        sub_hook.id,
        inner_hook.id,
        outside_hook.id,
        system_hook.id,
    ];
    let deliveries = all.iter().map(|&id| delivery(id, 0)).collect();
    let inserted = store
        .insert_event(new_event("e1", None), deliveries, 10)
        .await
        .unwrap();
    assert_eq!(inserted.deliveries, 5);
    store
        .log_attempt(
            attempt(
                inner_hook.id,
                None,
                Some(inserted.event_id),
                Outcome::Succeeded,
                Some(200),
                11,
            ),
            &KeepHealth,
        )
        .await
        .unwrap();

    store.delete_group(top.id).await.unwrap();
    assert_eq!(store.group(top.id).await.unwrap(), None);
    assert_eq!(store.group(sub.id).await.unwrap(), None);
    assert_eq!(store.project(inner.id).await.unwrap(), None);
    for gone in [top_hook.id, sub_hook.id, inner_hook.id] {
        assert_eq!(store.hook(gone).await.unwrap(), None);
    }
    let left: Vec<Id> = store
        .hooks_by_ids(&all)
        .await
        .unwrap()
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(left, vec![outside_hook.id, system_hook.id]);
    assert_eq!(counts(store).await.pending, 2);
    let log = store
        .list_attempts(inner_hook.id, StatusFilter::All, PAGE)
        .await
        .unwrap();
    assert_eq!(log.total, 0);
    assert!(store.project(outside.id).await.unwrap().is_some());

    store.delete_project(outside.id).await.unwrap();
    assert_eq!(store.hook(outside_hook.id).await.unwrap(), None);
    assert_eq!(counts(store).await.pending, 1);
    assert!(store.hook(system_hook.id).await.unwrap().is_some());
}

// ---------------------------------------------------------------- hooks

pub async fn check_hooks_crud(store: &dyn Store) {
    let g = group(store, None, "g", None).await;
    let p = project(store, "p", Some(g.id), None).await;
    let q = project(store, "q", Some(g.id), None).await;
    let first = hook(store, HookOwner::Project(p.id)).await;
    let second = hook(store, HookOwner::Project(p.id)).await;
    hook(store, HookOwner::Project(q.id)).await;
    let group_hook = hook(store, HookOwner::Group(g.id)).await;
    let system = hook(store, HookOwner::System).await;

    assert_eq!(first.owner, HookOwner::Project(p.id));
    assert_eq!(first.secrets, secrets());
    assert_eq!(
        first.settings,
        json!({"push_events": true, "name": "a hook"})
    );
    assert_eq!(first.health, HookHealth::default());
    assert_eq!(first.created_at, 1);
    assert_eq!(first.uuid.len(), 36);
    assert_ne!(first.uuid, second.uuid);
    assert_eq!(store.hook(first.id).await.unwrap(), Some(first.clone()));

    let missing_owner = store
        .create_hook(
            NewHook {
                owner: HookOwner::Project(9999),
                url: "https://x".into(),
                secrets: HookSecrets::default(),
                settings: json!({}),
                limits: DeliveryLimits::default(),
            },
            1,
        )
        .await;
    assert!(
        matches!(missing_owner, Err(StoreError::NotFound("project"))),
        "{missing_owner:?}"
    );
    let missing_group = store
        .create_hook(
            NewHook {
                owner: HookOwner::Group(9999),
                url: "https://x".into(),
                secrets: HookSecrets::default(),
                settings: json!({}),
                limits: DeliveryLimits::default(),
            },
            1,
        )
        .await;
    assert!(
        matches!(missing_group, Err(StoreError::NotFound("group"))),
        "{missing_group:?}"
    );

    let listed = store
        .list_hooks(
            HookOwner::Project(p.id),
            Page {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((listed.total, ids_of(&listed.items)), (2, vec![first.id]));
    let listed = store
        .list_hooks(
            HookOwner::Project(p.id),
            Page {
                page: 2,
                per_page: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids_of(&listed.items), vec![second.id]);
    let listed = store
        .list_hooks(HookOwner::Group(g.id), PAGE)
        .await
        .unwrap();
    assert_eq!(
        (listed.total, ids_of(&listed.items)),
        (1, vec![group_hook.id])
    );
    let listed = store.list_hooks(HookOwner::System, PAGE).await.unwrap();
    assert_eq!((listed.total, ids_of(&listed.items)), (1, vec![system.id]));

    let changed = store
        .update_hook(
            first.id,
            HookChange {
                url: "https://example.org/new".into(),
                secrets: HookSecrets {
                    token: None,
                    ..secrets()
                },
                settings: json!({"issues_events": true}),
                limits: ROOMY,
            },
            20,
        )
        .await
        .unwrap();
    assert_eq!(changed.url, "https://example.org/new");
    assert_eq!(changed.secrets.token, None);
    assert_eq!(changed.secrets.signing_tokens, secrets().signing_tokens);
    assert_eq!(changed.settings, json!({"issues_events": true}));
    assert_eq!(
        (changed.uuid.as_str(), changed.owner),
        (first.uuid.as_str(), first.owner)
    );
    assert_eq!(store.hook(first.id).await.unwrap(), Some(changed.clone()));
    let change = HookChange {
        url: "https://x".into(),
        secrets: HookSecrets::default(),
        settings: json!({}),
        limits: DeliveryLimits::default(),
    };
    assert!(matches!(
        store.update_hook(9999, change, 20).await,
        Err(StoreError::NotFound(_))
    ));

    let health = HookHealth {
        recent_failures: 4,
        backoff_count: 2,
        disabled_until: Some(120_000),
        permanently_disabled: false,
    };
    store
        .set_hook_health(first.id, health.clone())
        .await
        .unwrap();
    let reloaded = store.hook(first.id).await.unwrap().unwrap();
    assert_eq!(reloaded.health, health);
    assert_eq!(reloaded.url, changed.url);
    let dead = HookHealth {
        permanently_disabled: true,
        ..HookHealth::default()
    };
    store.set_hook_health(first.id, dead.clone()).await.unwrap();
    assert_eq!(store.hook(first.id).await.unwrap().unwrap().health, dead);
    assert!(matches!(
        store.set_hook_health(9999, dead).await,
        Err(StoreError::NotFound(_))
    ));

    let found = store
        .hooks_by_ids(&[system.id, 9999, first.id, first.id])
        .await
        .unwrap();
    assert_eq!(ids_of(&found), vec![first.id, system.id]);
    assert_eq!(store.hooks_by_ids(&[]).await.unwrap(), Vec::new());

    store.delete_hook(second.id).await.unwrap();
    assert_eq!(store.hook(second.id).await.unwrap(), None);
    assert!(matches!(
        store.delete_hook(second.id).await,
        Err(StoreError::NotFound(_))
    ));
}

fn ids_of(hooks: &[Hook]) -> Vec<Id> {
    hooks.iter().map(|h| h.id).collect()
}

pub async fn check_candidate_hooks(store: &dyn Store) {
    let top = group(store, None, "top", None).await;
    let sub = group(store, None, "sub", Some(top.id)).await;
    let elsewhere = group(store, None, "elsewhere", None).await;
    let p = project(store, "p", Some(sub.id), None).await;
    let other = project(store, "other", Some(sub.id), None).await;
    let system = hook(store, HookOwner::System).await;
    let top_hook = hook(store, HookOwner::Group(top.id)).await;
    let sub_hook = hook(store, HookOwner::Group(sub.id)).await;
    hook(store, HookOwner::Group(elsewhere.id)).await;
    let p_hook = hook(store, HookOwner::Project(p.id)).await;
    hook(store, HookOwner::Project(other.id)).await;

    let candidates = store
        .candidate_hooks(Some(p.id), &[sub.id, top.id])
        .await
        .unwrap();
    assert_eq!(
        ids_of(&candidates),
        vec![system.id, top_hook.id, sub_hook.id, p_hook.id]
    );
    let group_event = store.candidate_hooks(None, &[top.id]).await.unwrap();
    assert_eq!(ids_of(&group_event), vec![system.id, top_hook.id]);
    let system_event = store.candidate_hooks(None, &[]).await.unwrap();
    assert_eq!(ids_of(&system_event), vec![system.id]);
}

/// The reads every ingest makes (project, ancestry, candidate hooks, settings) see every
/// change at once, however often they were read before (a store may remember them).
pub async fn check_routing_reads_follow_every_change(store: &dyn Store) {
    let top = group(store, None, "top", None).await;
    let sub = group(store, None, "sub", None).await;
    let p = project(store, "p", Some(sub.id), None).await;
    let candidates = async || {
        ids_of(
            &store
                .candidate_hooks(Some(p.id), &[sub.id, top.id])
                .await
                .unwrap(),
        )
    };
    assert_eq!(candidates().await, Vec::<Id>::new());
    assert_eq!(store.group_ancestry(sub.id).await.unwrap().len(), 1);
    assert_eq!(store.project(p.id).await.unwrap().unwrap().name, p.name);
    assert_eq!(store.setting("k").await.unwrap(), None);

    let added = hook(store, HookOwner::Project(p.id)).await;
    assert_eq!(candidates().await, vec![added.id]);
    let change = HookChange {
        url: added.url.clone(),
        secrets: added.secrets.clone(),
        settings: serde_json::json!({ "push_events": false }),
        limits: added.limits,
    };
    store.update_hook(added.id, change, 2).await.unwrap();
    let routed = store.candidate_hooks(Some(p.id), &[sub.id]).await.unwrap();
    assert_eq!(routed[0].settings["push_events"], false);
    store.delete_hook(added.id).await.unwrap();
    assert_eq!(candidates().await, Vec::<Id>::new());

    let moved = GroupUpdate {
        parent_id: Some(Some(top.id)),
        ..GroupUpdate::default()
    };
    store.update_group(sub.id, moved, 3).await.unwrap();
    assert_eq!(store.group_ancestry(sub.id).await.unwrap().len(), 2);
    let renamed = ProjectUpdate {
        name: Some("renamed".into()),
        ..ProjectUpdate::default()
    };
    store.update_project(p.id, renamed, 4).await.unwrap();
    assert_eq!(store.project(p.id).await.unwrap().unwrap().name, "renamed");
    store.set_setting("k", "v").await.unwrap();
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("v"));
    store.delete_project(p.id).await.unwrap();
    assert_eq!(store.project(p.id).await.unwrap(), None);
}

// ---------------------------------------------------------------- events and the queue

pub async fn check_insert_event_idempotency(store: &dyn Store) {
    let system = hook(store, HookOwner::System).await;
    let deliveries = |n: usize| (0..n).map(|i| delivery(system.id, i)).collect::<Vec<_>>();

    let first = store
        .insert_event(new_event("e1", Some("k1")), deliveries(2), 10)
        .await
        .unwrap();
    assert_eq!(
        (first.event_uuid.as_str(), first.deliveries, first.duplicate),
        ("e1", 2, false)
    );
    let again = store
        .insert_event(new_event("e2", Some("k1")), deliveries(3), 11)
        .await
        .unwrap();
    assert_eq!(
        again,
        Inserted {
            event_id: first.event_id,
            event_uuid: "e1".into(),
            deliveries: 2,
            duplicate: true
        }
    );
    assert_eq!(counts(store).await.pending, 2);
    // The same key with another body: refused, nothing written.
    let reused = store
        .insert_event(other_body("e2b", "k1"), deliveries(1), 11)
        .await;
    assert!(
        matches!(reused, Err(StoreError::IdempotencyKeyReused)),
        "{reused:?}"
    );
    assert_eq!(counts(store).await.pending, 2);

    // No key: every post is a new event. A reused event uuid is refused.
    let a = store
        .insert_event(new_event("e3", None), deliveries(1), 12)
        .await
        .unwrap();
    let b = store
        .insert_event(new_event("e4", None), deliveries(1), 12)
        .await
        .unwrap();
    assert_ne!(a.event_id, b.event_id);
    assert!(!a.duplicate && !b.duplicate);
    let reused = store
        .insert_event(new_event("e4", None), deliveries(1), 12)
        .await;
    assert!(
        matches!(reused, Err(StoreError::Conflict("event"))),
        "{reused:?}"
    );
    assert_eq!(counts(store).await.pending, 4);

    // No deliveries at all is a valid event; a delivery for a hook deleted since routing is
    // dropped, not an error.
    let quiet = store
        .insert_event(new_event("e5", Some("k2")), Vec::new(), 13)
        .await
        .unwrap();
    assert_eq!(quiet.deliveries, 0);
    let gone = self::hook(store, HookOwner::System).await;
    store.delete_hook(gone.id).await.unwrap();
    let partial = store
        .insert_event(
            new_event("e6", None),
            vec![delivery(system.id, 0), delivery(gone.id, 0)],
            14,
        )
        .await
        .unwrap();
    assert_eq!(partial.deliveries, 1);

    // A large fan-out spans several multi-row statements.
    let big = store
        .insert_event(new_event("e7", None), deliveries(1_234), 15)
        .await
        .unwrap();
    assert_eq!(big.deliveries, 1_234);
    assert_eq!(counts(store).await.pending, 4 + 1 + 1_234);
}

pub async fn check_latest_event(store: &dyn Store) {
    let g = group(store, None, "g", None).await;
    let p = project(store, "p", Some(g.id), None).await;
    let event = |uuid: &str, kind: &str, project_id| NewEvent {
        kind: kind.into(),
        project_id,
        ..new_event(uuid, None)
    };
    assert_eq!(store.latest_event(Some(p.id), "push").await.unwrap(), None);
    store
        .insert_event(event("a", "push", Some(p.id)), Vec::new(), 1)
        .await
        .unwrap();
    store
        .insert_event(event("b", "push", Some(p.id)), Vec::new(), 2)
        .await
        .unwrap();
    store
        .insert_event(event("c", "issue", Some(p.id)), Vec::new(), 3)
        .await
        .unwrap();
    store
        .insert_event(event("d", "push", None), Vec::new(), 4)
        .await
        .unwrap();

    let latest = store
        .latest_event(Some(p.id), "push")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            latest.uuid.as_str(),
            latest.kind.as_str(),
            latest.project_id
        ),
        ("b", "push", Some(p.id))
    );
    assert_eq!(latest.payload, new_event("b", None).payload);
    assert_eq!(latest.created_at, 2);
    assert_eq!(
        store
            .latest_event(None, "push")
            .await
            .unwrap()
            .unwrap()
            .uuid,
        "d"
    );
    assert_eq!(
        store
            .latest_event(Some(p.id), "issue")
            .await
            .unwrap()
            .unwrap()
            .uuid,
        "c"
    );
    assert_eq!(store.latest_event(None, "issue").await.unwrap(), None);
}

/// An event for a hook that is next due later (a retry waiting) brings it forward; one for
/// a hook already due by then leaves it as it is.
pub async fn check_new_deliveries_bring_their_hook_forward(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "later", h.id, 1, 5_000).await;
    assert_eq!(store.next_due_at(0).await.unwrap(), Some(5_000));
    enqueue(store, "sooner", h.id, 1, 2_000).await;
    assert_eq!(store.next_due_at(0).await.unwrap(), Some(2_000));
    enqueue(store, "after", h.id, 1, 3_000).await;
    assert_eq!(store.next_due_at(0).await.unwrap(), Some(2_000));
    let claimed = store
        .claim_due(
            "n1",
            2_000,
            60_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].event_uuid, "sooner");
}

pub async fn check_claim_and_record(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    assert_eq!(store.next_due_at(0).await.unwrap(), None);
    let inserted = enqueue(store, "e1", h.id, 3, 1_000).await;
    assert_eq!(store.next_due_at(0).await.unwrap(), Some(1_000));

    // Not due before its time.
    assert!(
        store
            .claim_due("n1", 999, 60_000, 10, RateLimit::UNLIMITED, &HashMap::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_due(
                "n1",
                1_000,
                60_000,
                0,
                RateLimit::UNLIMITED,
                &HashMap::new()
            )
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = store
        .claim_due(
            "n1",
            1_000,
            60_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let mut sorted = ids(&claimed);
    sorted.sort();
    assert_eq!(ids(&claimed), sorted, "same due time: claimed in id order");
    let c = &claimed[0];
    assert_eq!(
        (c.hook_id, c.event_id, c.event_uuid.as_str()),
        (h.id, inserted.event_id, "e1")
    );
    assert_eq!(
        (c.event_header.as_str(), c.trigger.as_str(), c.attempts),
        ("Push Hook", "push_hooks", 0)
    );
    assert!(c.idempotency_key.starts_with("key-"));
    assert_eq!(&*c.payload, new_event("e1", None).payload.as_slice());
    assert!(
        claimed[0].payload.as_ptr() == claimed[2].payload.as_ptr(),
        "one payload per event in a batch"
    );
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            in_flight: 3,
            ..DeliveryCounts::default()
        }
    );
    assert!(
        store
            .claim_due(
                "n2",
                1_000,
                60_000,
                10,
                RateLimit::UNLIMITED,
                &HashMap::new()
            )
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    store
        .record_attempts(
            "n1",
            vec![
                attempt_for(&claimed[0], Outcome::Succeeded, Some(200), 1_100),
                attempt_for(&claimed[1], Outcome::RetryAt(5_000), Some(500), 1_100),
                attempt_for(&claimed[2], Outcome::Failed, None, 1_100),
            ],
            &KeepHealth,
        )
        .await
        .unwrap();
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            pending: 1,
            in_flight: 0,
            succeeded: 1,
            failed: 1
        }
    );
    assert_eq!(store.next_due_at(0).await.unwrap(), Some(5_000));
    assert!(
        store
            .claim_due(
                "n1",
                4_999,
                60_000,
                10,
                RateLimit::UNLIMITED,
                &HashMap::new()
            )
            .await
            .unwrap()
            .is_empty(),
        "retry waits for its time"
    );
    let retried = store
        .claim_due(
            "n2",
            5_000,
            60_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(ids(&retried), vec![claimed[1].delivery_id]);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(retried[0].idempotency_key, claimed[1].idempotency_key);
    store
        .record_attempts(
            "n2",
            vec![attempt_for(
                &retried[0],
                Outcome::Succeeded,
                Some(204),
                5_100,
            )],
            &KeepHealth,
        )
        .await
        .unwrap();
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            succeeded: 2,
            failed: 1,
            ..DeliveryCounts::default()
        }
    );
    assert_eq!(store.next_due_at(0).await.unwrap(), None);
    assert!(
        store
            .claim_due(
                "n1",
                i64::MAX - 1,
                i64::MAX,
                10,
                RateLimit::UNLIMITED,
                &HashMap::new()
            )
            .await
            .unwrap()
            .is_empty(),
        "finished is final"
    );

    let log = store
        .list_attempts(h.id, StatusFilter::All, PAGE)
        .await
        .unwrap();
    assert_eq!(log.total, 4);
    assert_eq!(log.items[0].response_status, Some(204));
    assert_eq!(log.items[0].delivery_id, Some(claimed[1].delivery_id));
}

pub async fn check_claim_order_and_limit(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "late", h.id, 2, 3_000).await;
    enqueue(store, "early", h.id, 2, 1_000).await;
    enqueue(store, "middle", h.id, 2, 2_000).await;
    let first = store
        .claim_due(
            "n1",
            10_000,
            60_000,
            3,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    let uuids: Vec<&str> = first.iter().map(|c| c.event_uuid.as_str()).collect();
    assert_eq!(
        uuids,
        vec!["early", "early", "middle"],
        "oldest due first, at most the limit"
    );
    let rest = store
        .claim_due(
            "n1",
            10_000,
            60_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    let uuids: Vec<&str> = rest.iter().map(|c| c.event_uuid.as_str()).collect();
    assert_eq!(uuids, vec!["middle", "late", "late"]);
}

pub async fn check_lease_expiry(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 1, 1_000).await;
    let first = store
        .claim_due(
            "n1",
            1_000,
            2_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        store.next_due_at(0).await.unwrap(),
        Some(2_001),
        "claimable once the lease has expired"
    );
    assert!(
        store
            .claim_due(
                "n2",
                2_000,
                9_000,
                10,
                RateLimit::UNLIMITED,
                &HashMap::new()
            )
            .await
            .unwrap()
            .is_empty(),
        "lease still valid at its end"
    );

    // n1 died (or stalled): n2 takes the delivery over.
    let taken = store
        .claim_due(
            "n2",
            2_001,
            9_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(ids(&taken), ids(&first));
    assert_eq!(taken[0].attempts, 0);

    // n1's late report is logged, but the delivery is n2's now.
    store
        .record_attempts(
            "n1",
            vec![attempt_for(&first[0], Outcome::Succeeded, Some(200), 2_500)],
            &KeepHealth,
        )
        .await
        .unwrap();
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            in_flight: 1,
            ..DeliveryCounts::default()
        }
    );
    assert_eq!(
        store
            .list_attempts(h.id, StatusFilter::All, PAGE)
            .await
            .unwrap()
            .total,
        1
    );

    store
        .record_attempts(
            "n2",
            vec![attempt_for(
                &taken[0],
                Outcome::RetryAt(3_000),
                Some(502),
                2_600,
            )],
            &KeepHealth,
        )
        .await
        .unwrap();
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            pending: 1,
            ..DeliveryCounts::default()
        }
    );
    let again = store
        .claim_due(
            "n1",
            3_000,
            9_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 1, "only the owner's attempt counted");
}

pub async fn check_release_claims(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 3, 1_000).await;
    let mine = store
        .claim_due(
            "n1",
            1_000,
            60_000,
            2,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    let theirs = store
        .claim_due(
            "n2",
            1_000,
            60_000,
            2,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!((mine.len(), theirs.len()), (2, 1));

    assert_eq!(store.release_claims("n1", 1_500).await.unwrap(), 2);
    assert_eq!(store.release_claims("n1", 1_500).await.unwrap(), 0);
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            pending: 2,
            in_flight: 1,
            ..DeliveryCounts::default()
        }
    );
    assert_eq!(store.next_due_at(0).await.unwrap(), Some(1_500));
    assert!(
        store
            .claim_due(
                "n3",
                1_499,
                60_000,
                10,
                RateLimit::UNLIMITED,
                &HashMap::new()
            )
            .await
            .unwrap()
            .is_empty()
    );
    let released = store
        .claim_due(
            "n3",
            1_500,
            60_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    let mut expected = ids(&mine);
    expected.sort();
    assert_eq!(ids(&released), expected);
    assert_eq!(released[0].attempts, 0, "a release is not an attempt");

    // A released claim's late report changes nothing.
    store
        .record_attempts(
            "n1",
            vec![attempt_for(&mine[0], Outcome::Failed, Some(500), 1_600)],
            &KeepHealth,
        )
        .await
        .unwrap();
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            in_flight: 3,
            ..DeliveryCounts::default()
        }
    );
}

pub async fn check_record_after_hook_deleted(store: &dyn Store) {
    let kept = hook(store, HookOwner::System).await;
    let doomed = hook(store, HookOwner::System).await;
    enqueue(store, "e1", kept.id, 1, 1_000).await;
    enqueue(store, "e2", doomed.id, 1, 1_000).await;
    let claimed = store
        .claim_due(
            "n1",
            1_000,
            60_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    store.delete_hook(doomed.id).await.unwrap();
    let attempts = claimed
        .iter()
        .map(|c| attempt_for(c, Outcome::Succeeded, Some(200), 1_100))
        .collect();
    store
        .record_attempts("n1", attempts, &KeepHealth)
        .await
        .unwrap();
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            succeeded: 1,
            ..DeliveryCounts::default()
        }
    );
    assert_eq!(
        store
            .list_attempts(kept.id, StatusFilter::All, PAGE)
            .await
            .unwrap()
            .total,
        1
    );
    let orphan = store
        .log_attempt(
            attempt(doomed.id, None, None, Outcome::Succeeded, Some(200), 1),
            &KeepHealth,
        )
        .await;
    assert!(
        matches!(orphan, Err(StoreError::NotFound("hook"))),
        "{orphan:?}"
    );
}

/// Two claimers (two nodes, or two loops of one) drain 2,000 deliveries together; no
/// delivery is handed out twice.
pub async fn check_concurrent_claimers(a: &dyn Store, b: &dyn Store) {
    let h = hook(a, HookOwner::System).await;
    for n in 0..4 {
        enqueue(a, &format!("e{n}"), h.id, 500, 1_000).await;
    }
    let drain = async |store: &dyn Store, owner: &str| {
        let mut seen = Vec::new();
        loop {
            let claimed = store
                .claim_due(
                    owner,
                    2_000,
                    600_000,
                    37,
                    RateLimit::UNLIMITED,
                    &HashMap::new(),
                )
                .await
                .expect("claim");
            if claimed.is_empty() {
                return seen;
            }
            let attempts = claimed
                .iter()
                .map(|c| attempt_for(c, Outcome::Succeeded, Some(200), 2_000))
                .collect();
            store
                .record_attempts(owner, attempts, &KeepHealth)
                .await
                .expect("record");
            seen.extend(ids(&claimed));
        }
    };
    let (from_a, from_b) = tokio::join!(drain(a, "node-a"), drain(b, "node-b"));
    let all: HashSet<Id> = from_a.iter().chain(&from_b).copied().collect();
    assert_eq!(
        from_a.len() + from_b.len(),
        2_000,
        "a delivery was claimed twice"
    );
    assert_eq!(all.len(), 2_000);
    assert_eq!(
        counts(a).await,
        DeliveryCounts {
            succeeded: 2_000,
            ..DeliveryCounts::default()
        }
    );
}

// ---------------------------------------------------------------- delivery log

pub async fn check_list_attempts(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    let other = hook(store, HookOwner::System).await;
    let statuses = [
        Some(200),
        Some(201),
        Some(404),
        Some(500),
        Some(503),
        None,
        Some(302),
    ];
    let mut logged = Vec::new();
    for (n, status) in statuses.into_iter().enumerate() {
        let id = store
            .log_attempt(
                attempt(h.id, None, None, Outcome::Succeeded, status, n as Millis),
                &KeepHealth,
            )
            .await
            .unwrap();
        logged.push(id);
    }
    store
        .log_attempt(
            attempt(other.id, None, None, Outcome::Succeeded, Some(404), 0),
            &KeepHealth,
        )
        .await
        .unwrap();

    let statuses_of = |page: &Paged<LoggedAttempt>| {
        page.items
            .iter()
            .map(|a| a.response_status)
            .collect::<Vec<_>>()
    };
    let all = store
        .list_attempts(h.id, StatusFilter::All, PAGE)
        .await
        .unwrap();
    assert_eq!(all.total, 7);
    assert_eq!(
        all.items.iter().map(|a| a.id).collect::<Vec<_>>(),
        logged.iter().rev().copied().collect::<Vec<_>>()
    );
    let cases = [
        (StatusFilter::Code(404), vec![Some(404)]),
        (StatusFilter::Code(418), vec![]),
        (StatusFilter::Successful, vec![Some(201), Some(200)]),
        (StatusFilter::ClientFailure, vec![Some(404)]),
        (
            StatusFilter::ServerFailure,
            vec![None, Some(503), Some(500)],
        ),
    ];
    for (filter, expected) in cases {
        let page = store.list_attempts(h.id, filter, PAGE).await.unwrap();
        assert_eq!(statuses_of(&page), expected, "{filter:?}");
        assert_eq!(page.total, expected.len() as u64, "{filter:?}");
    }

    let page = |n| Page {
        page: n,
        per_page: 3,
    };
    let first = store
        .list_attempts(h.id, StatusFilter::All, page(1))
        .await
        .unwrap();
    assert_eq!(
        (first.total, statuses_of(&first)),
        (7, vec![Some(302), None, Some(503)])
    );
    let third = store
        .list_attempts(h.id, StatusFilter::All, page(3))
        .await
        .unwrap();
    assert_eq!((third.total, statuses_of(&third)), (7, vec![Some(200)]));
    let beyond = store
        .list_attempts(h.id, StatusFilter::All, page(4))
        .await
        .unwrap();
    assert_eq!((beyond.total, beyond.items.len()), (7, 0));
    let failures = store
        .list_attempts(
            h.id,
            StatusFilter::ServerFailure,
            Page {
                page: 2,
                per_page: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (failures.total, statuses_of(&failures)),
        (3, vec![Some(500)])
    );

    // Every field survives the round trip.
    let internal = &all.items[1];
    assert_eq!(
        internal.internal_error.as_deref(),
        Some("connection refused")
    );
    assert_eq!(
        internal.request_headers,
        vec![("X-WVS-Event".to_owned(), "Push Hook".to_owned())]
    );
    assert_eq!(
        internal.response_headers,
        vec![("Content-Type".to_owned(), "text/plain".to_owned())]
    );
    assert_eq!(
        (
            internal.response_body.as_slice(),
            internal.execution_duration
        ),
        (b"ok".as_slice(), 0.25)
    );
    assert_eq!(
        (
            internal.trigger.as_str(),
            internal.created_at,
            internal.hook_id
        ),
        ("push_hooks", 5, h.id)
    );
}

pub async fn check_attempt_body(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    let other = hook(store, HookOwner::System).await;
    let inserted = enqueue(store, "e1", h.id, 1, 1_000).await;
    let payload = new_event("e1", None).payload;

    // The event's payload, joined; not copied into the log.
    let claimed = store
        .claim_due(
            "n1",
            1_000,
            60_000,
            1,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    store
        .record_attempts(
            "n1",
            vec![attempt_for(
                &claimed[0],
                Outcome::Succeeded,
                Some(200),
                1_100,
            )],
            &KeepHealth,
        )
        .await
        .unwrap();
    let logged = store
        .list_attempts(h.id, StatusFilter::All, PAGE)
        .await
        .unwrap()
        .items;
    assert_eq!(logged[0].request_body, payload);
    assert_eq!(logged[0].event_id, Some(inserted.event_id));
    let one = store.attempt(h.id, logged[0].id).await.unwrap().unwrap();
    assert_eq!(one, logged[0]);

    // A body of its own (a test, a template) wins over the event's.
    let own = Attempt {
        request_body: Some(b"{\"test\":true}".to_vec()),
        ..attempt(
            h.id,
            None,
            Some(inserted.event_id),
            Outcome::Succeeded,
            Some(200),
            1_200,
        )
    };
    let own_id = store.log_attempt(own, &KeepHealth).await.unwrap();
    assert_eq!(
        store
            .attempt(h.id, own_id)
            .await
            .unwrap()
            .unwrap()
            .request_body,
        b"{\"test\":true}"
    );

    // No body and no event: empty.
    let bare = store
        .log_attempt(
            attempt(h.id, None, None, Outcome::Succeeded, None, 1_300),
            &KeepHealth,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .attempt(h.id, bare)
            .await
            .unwrap()
            .unwrap()
            .request_body,
        Vec::<u8>::new()
    );

    // Another hook's attempt is not found through this hook.
    assert_eq!(store.attempt(other.id, own_id).await.unwrap(), None);
    assert_eq!(store.attempt(h.id, 9999).await.unwrap(), None);
}

// ---------------------------------------------------------------- persistence

/// What [`check_persistence_write`] left behind, for [`check_persistence_read`].
pub struct Written {
    group: Group,
    project: Project,
    hook: Hook,
    event: Inserted,
}

pub async fn check_persistence_write(store: &dyn Store) -> Written {
    store.set_setting("instance", "wvs-1").await.unwrap();
    let group = group(store, Some(5), "persist", None).await;
    let project = project(store, "p", Some(group.id), None).await;
    let hook = hook(store, HookOwner::Project(project.id)).await;
    let event = enqueue(store, "durable", hook.id, 1, 1_000).await;
    Written {
        group,
        project,
        hook,
        event,
    }
}

pub async fn check_persistence_read(store: &dyn Store, written: Written) {
    assert_eq!(
        store.setting("instance").await.unwrap().as_deref(),
        Some("wvs-1")
    );
    assert_eq!(
        store.group_by_path("persist").await.unwrap(),
        Some(written.group)
    );
    assert_eq!(
        store.project_by_path("persist/p").await.unwrap(),
        Some(written.project)
    );
    assert_eq!(
        store.hook(written.hook.id).await.unwrap(),
        Some(written.hook)
    );
    let claimed = store
        .claim_due(
            "n1",
            1_000,
            60_000,
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].event_id, written.event.event_id);
    assert_eq!(
        &*claimed[0].payload,
        new_event("durable", None).payload.as_slice()
    );
}

// ---------------------------------------------------------------- delivery limits

async fn hook_with(store: &dyn Store, owner: HookOwner, limits: DeliveryLimits) -> Hook {
    store
        .create_hook(
            NewHook {
                owner,
                url: "https://example.com/hook".into(),
                secrets: HookSecrets::default(),
                settings: json!({}),
                limits,
            },
            1,
        )
        .await
        .expect("create hook")
}

async fn claim(store: &dyn Store, owner: &str, now: Millis, limit: u32) -> Vec<Claimed> {
    store
        .claim_due(
            owner,
            now,
            now + 60_000,
            limit,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .expect("claim")
}

async fn record(store: &dyn Store, owner: &str, claimed: &[Claimed], outcome: Outcome, at: Millis) {
    let status = (outcome == Outcome::Succeeded).then_some(200);
    let attempts = claimed
        .iter()
        .map(|c| attempt_for(c, outcome, status.or(Some(500)), at))
        .collect();
    store
        .record_attempts(owner, attempts, &KeepHealth)
        .await
        .expect("record");
}

fn hooks_of(claimed: &[Claimed]) -> Vec<Id> {
    claimed.iter().map(|c| c.hook_id).collect()
}

pub async fn check_in_flight_limit_over_every_owner(store: &dyn Store) {
    let h = hook_with(store, HookOwner::System, DeliveryLimits::default()).await;
    enqueue(store, "e1", h.id, 10, 1_000).await;
    assert_eq!(claim(store, "n1", 1_000, 3).await.len(), 3);
    let second = claim(store, "n2", 1_000, 10).await;
    assert_eq!(second.len(), 1, "4 in flight at most, whoever claims");
    assert!(claim(store, "n1", 1_000, 10).await.is_empty());
    // Two finish: two slots free up.
    record(store, "n2", &second, Outcome::Succeeded, 1_100).await;
    assert_eq!(claim(store, "n1", 1_200, 10).await.len(), 1);
    // A lease that expires frees its slot too (and the delivery is claimed again).
    assert_eq!(claim(store, "n3", 70_000, 10).await.len(), 4);
}

pub async fn check_hook_caps_hold_a_hook_below_its_limit(store: &dyn Store) {
    let limits = DeliveryLimits {
        max_in_flight: 6,
        ordered: false,
    };
    let capped = hook_with(store, HookOwner::System, limits).await;
    let over = hook_with(store, HookOwner::System, limits).await;
    let free = hook_with(store, HookOwner::System, limits).await;
    for h in [&capped, &over, &free] {
        enqueue(store, &format!("e{}", h.id), h.id, 10, 1_000).await;
    }
    // A cap below max_in_flight binds; one above it does not raise it; an unlisted hook
    // keeps its max_in_flight.
    let caps = HashMap::from([(capped.id, 2), (over.id, 50)]);
    let claim_capped = async |owner: &str, now: Millis| {
        store
            .claim_due(owner, now, now + 60_000, 100, RateLimit::UNLIMITED, &caps)
            .await
            .expect("claim")
    };
    let first = claim_capped("n1", 1_000).await;
    let per_hook = |claimed: &[Claimed], id: Id| claimed.iter().filter(|c| c.hook_id == id).count();
    assert_eq!(per_hook(&first, capped.id), 2, "held at its cap");
    assert_eq!(
        per_hook(&first, over.id),
        6,
        "a cap never passes max_in_flight"
    );
    assert_eq!(per_hook(&first, free.id), 6);
    // Over every owner, and counted against what is already in flight.
    assert!(claim_capped("n2", 1_000).await.is_empty());
    let done: Vec<Claimed> = first
        .into_iter()
        .filter(|c| c.hook_id == capped.id)
        .take(1)
        .collect();
    record(store, "n1", &done, Outcome::Succeeded, 1_100).await;
    assert_eq!(hooks_of(&claim_capped("n2", 1_200).await), vec![capped.id]);
    // Without the cap, the hook has its max_in_flight again.
    assert_eq!(claim(store, "n2", 1_300, 100).await.len(), 4);
}

pub async fn check_a_full_hook_does_not_block_others(store: &dyn Store) {
    let stuck = hook_with(store, HookOwner::System, DeliveryLimits::default()).await;
    let healthy = hook_with(store, HookOwner::System, DeliveryLimits::default()).await;
    enqueue(store, "backlog", stuck.id, 500, 1_000).await;
    assert_eq!(
        hooks_of(&claim(store, "n1", 1_000, 256).await),
        vec![stuck.id; 4]
    );
    enqueue(store, "later", healthy.id, 1, 2_000).await;
    let next = claim(store, "n1", 2_000, 256).await;
    assert_eq!(hooks_of(&next), vec![healthy.id]);
    assert_eq!(
        store.next_due_at(2_000).await.unwrap(),
        Some(61_001),
        "a full hook waits for a free slot (or its leases), not the clock"
    );
}

pub async fn check_ordered_hook(store: &dyn Store) {
    let ordered = DeliveryLimits {
        max_in_flight: 4,
        ordered: true,
    };
    let h = hook_with(store, HookOwner::System, ordered).await;
    let first = enqueue(store, "first", h.id, 1, 1_000).await;
    enqueue(store, "second", h.id, 1, 1_000).await;
    enqueue(store, "third", h.id, 1, 1_001).await;
    let head = claim(store, "n1", 2_000, 10).await;
    assert_eq!(head.len(), 1, "one in flight");
    assert_eq!(head[0].event_id, first.event_id);
    assert!(claim(store, "n2", 2_000, 10).await.is_empty());
    // It fails: nothing behind it passes until it is retried.
    record(store, "n1", &head, Outcome::RetryAt(5_000), 2_100).await;
    assert!(claim(store, "n1", 4_999, 10).await.is_empty());
    assert_eq!(store.next_due_at(2_100).await.unwrap(), Some(5_000));
    let again = claim(store, "n1", 5_000, 10).await;
    assert_eq!(ids(&again), ids(&head));
    record(store, "n1", &again, Outcome::Succeeded, 5_100).await;
    let uuids: Vec<String> = [claim(store, "n1", 5_200, 10).await]
        .iter()
        .flatten()
        .map(|c| c.event_uuid.clone())
        .collect();
    assert_eq!(uuids, vec!["second"]);
}

pub async fn check_disabled_hooks_hold_their_deliveries(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 2, 1_000).await;
    let resting = HookHealth {
        recent_failures: 4,
        backoff_count: 1,
        disabled_until: Some(61_000),
        permanently_disabled: false,
    };
    store.set_hook_health(h.id, resting).await.unwrap();
    assert!(claim(store, "n1", 60_999, 10).await.is_empty());
    assert_eq!(store.next_due_at(1_000).await.unwrap(), Some(61_000));
    // Events that arrive meanwhile wait too.
    enqueue(store, "e2", h.id, 1, 30_000).await;
    assert!(claim(store, "n1", 30_000, 10).await.is_empty());
    assert_eq!(claim(store, "n1", 61_000, 10).await.len(), 3);
    store.release_claims("n1", 61_000).await.unwrap();

    let dead = HookHealth {
        recent_failures: 40,
        permanently_disabled: true,
        ..HookHealth::default()
    };
    store.set_hook_health(h.id, dead).await.unwrap();
    enqueue(store, "e3", h.id, 1, 62_000).await;
    assert!(claim(store, "n1", 10_000_000, 10).await.is_empty());
    assert_eq!(store.next_due_at(0).await.unwrap(), None, "held, not due");
    assert_eq!(counts(store).await.pending, 4, "nothing dropped");
    store
        .set_hook_health(h.id, HookHealth::default())
        .await
        .unwrap();
    assert_eq!(claim(store, "n1", 10_000_000, 10).await.len(), 4);
}

/// Disables a hook after two failures in a row; any success heals it.
struct TwoStrikes;

impl HealthRule for TwoStrikes {
    fn after(
        &self,
        _: HookOwner,
        health: &HookHealth,
        effect: HealthEffect,
        now: Millis,
    ) -> HookHealth {
        match effect {
            HealthEffect::Success => HookHealth::default(),
            HealthEffect::Unchanged => health.clone(),
            HealthEffect::Failure => {
                let failures = health.recent_failures + 1;
                HookHealth {
                    recent_failures: failures,
                    disabled_until: (failures >= 2).then_some(now + 10_000),
                    ..health.clone()
                }
            }
        }
    }
}

/// A failed attempt retried later, whose failure also changes its hook's health, leaves the
/// hook due at the retry (the health write makes the hook due as its deliveries say, and
/// the delivery retried is one of them).
pub async fn check_a_retry_that_changes_health_is_due(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 1, 1_000).await;
    let claimed = claim(store, "n1", 1_000, 10).await;
    let mut retry = attempt_for(&claimed[0], Outcome::RetryAt(4_000), Some(500), 1_100);
    retry.health = HealthEffect::Failure;
    store
        .record_attempts("n1", vec![retry], &TwoStrikes)
        .await
        .unwrap();
    assert_eq!(
        store
            .hook(h.id)
            .await
            .unwrap()
            .unwrap()
            .health
            .recent_failures,
        1
    );
    assert_eq!(store.next_due_at(1_100).await.unwrap(), Some(4_000));
    assert_eq!(ids(&claim(store, "n1", 4_000, 10).await), ids(&claimed));
}

pub async fn check_health_is_folded_in_as_attempts_are_recorded(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 3, 1_000).await;
    let claimed = claim(store, "n1", 1_000, 2).await;
    let failed = |c: &Claimed, at| Attempt {
        health: HealthEffect::Failure,
        ..attempt_for(c, Outcome::RetryAt(2_000), Some(500), at)
    };
    let attempts = vec![failed(&claimed[0], 1_100), failed(&claimed[1], 1_200)];
    store
        .record_attempts("n1", attempts, &TwoStrikes)
        .await
        .unwrap();
    let health = store.hook(h.id).await.unwrap().unwrap().health;
    assert_eq!(
        (health.recent_failures, health.disabled_until),
        (2, Some(11_200)),
        "both attempts of the batch counted, in order"
    );
    assert!(claim(store, "n1", 5_000, 10).await.is_empty(), "held");
    // A successful test (outside the queue) heals it and the backlog flows again.
    let test = Attempt {
        health: HealthEffect::Success,
        ..attempt(h.id, None, None, Outcome::Succeeded, Some(200), 5_000)
    };
    store.log_attempt(test, &TwoStrikes).await.unwrap();
    assert_eq!(
        store.hook(h.id).await.unwrap().unwrap().health,
        HookHealth::default()
    );
    assert_eq!(claim(store, "n1", 5_000, 10).await.len(), 3);
}

pub async fn check_rate_limit_per_namespace(store: &dyn Store) {
    let a = hook(store, HookOwner::System).await;
    let b = hook(store, HookOwner::System).await;
    let system = hook(store, HookOwner::System).await;
    let keyed = |hook_id, n, key: Option<&str>| NewDelivery {
        rate_key: key.map(str::to_owned),
        ..delivery(hook_id, n)
    };
    for n in 0..3 {
        let deliveries = vec![
            keyed(a.id, n, Some("group:1")),
            keyed(b.id, n, Some("group:1")),
            keyed(system.id, n, None),
        ];
        store
            .insert_event(new_event(&format!("e{n}"), None), deliveries, 1_000)
            .await
            .unwrap();
    }
    let rate = RateLimit {
        calls: 4,
        window: 60_000,
        in_flight: 0,
    };
    let first = store
        .claim_due("n1", 1_000, 100_000, 100, rate, &HashMap::new())
        .await
        .unwrap();
    let limited = first.iter().filter(|c| c.hook_id != system.id).count();
    assert_eq!(
        (first.len(), limited),
        (7, 4),
        "4 calls for group:1, system hooks unlimited"
    );
    assert!(first.iter().all(|c| !c.rate_limited));
    assert!(
        store
            .claim_due("n1", 59_999, 100_000, 100, rate, &HashMap::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_due_at(1_000).await.unwrap(), Some(60_000));
    let next = store
        .claim_due("n1", 60_000, 100_000, 100, rate, &HashMap::new())
        .await
        .unwrap();
    assert_eq!(next.len(), 2, "waited for the next window, not dropped");
    assert!(
        next.iter().all(|c| c.rate_limited),
        "and say they were delayed"
    );
}

pub async fn check_chain_hooks(store: &dyn Store) {
    let a = hook(store, HookOwner::System).await;
    let b = hook(store, HookOwner::System).await;
    let chained = |uuid: &str| NewEvent {
        chain_uuid: "chain".into(),
        ..new_event(uuid, None)
    };
    assert!(store.chain_hooks("chain").await.unwrap().is_empty());
    store
        .insert_event(chained("one"), vec![delivery(a.id, 0)], 1)
        .await
        .unwrap();
    let second = store
        .insert_event(chained("two"), vec![delivery(b.id, 0)], 2)
        .await
        .unwrap();
    assert_eq!(
        second.event_uuid, "chain",
        "the chain's uuid is the event's public uuid"
    );
    assert_eq!(store.chain_hooks("chain").await.unwrap(), vec![a.id, b.id]);
    assert!(store.chain_hooks("one").await.unwrap().is_empty());
}

// ---------------------------------------------------------------- access tokens

pub async fn check_access_tokens(store: &dyn Store) {
    let g = group(store, None, "g", None).await;
    let p = project(store, "p", Some(g.id), None).await;
    let token = |name: &str, owner, digest: &str| NewAccessToken {
        name: name.into(),
        owner,
        digest: digest.into(),
        expires_at: None,
    };
    let mine = store
        .create_access_token(token("ci", HookOwner::Project(p.id), "d1"), 5)
        .await
        .unwrap();
    assert_eq!((mine.owner, mine.created_at), (HookOwner::Project(p.id), 5));
    let group_token = store
        .create_access_token(token("ops", HookOwner::Group(g.id), "d2"), 6)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_access_token(token("dup", HookOwner::Group(g.id), "d2"), 7)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .create_access_token(token("x", HookOwner::Project(999), "d3"), 7)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.access_token_by_digest("d1").await.unwrap(),
        Some(mine.clone())
    );
    assert_eq!(store.access_token_by_digest("nope").await.unwrap(), None);
    assert_eq!(
        store
            .list_access_tokens(HookOwner::Group(g.id))
            .await
            .unwrap(),
        vec![group_token.clone()]
    );
    assert!(matches!(
        store
            .revoke_access_token(HookOwner::Group(g.id), mine.id)
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .revoke_access_token(HookOwner::Project(p.id), mine.id)
        .await
        .unwrap();
    assert_eq!(store.access_token_by_digest("d1").await.unwrap(), None);
    // Deleting the group takes its tokens.
    store.delete_group(g.id).await.unwrap();
    assert_eq!(store.access_token_by_digest("d2").await.unwrap(), None);
}

// ---------------------------------------------------------------- SQLite

pub async fn check_hook_alert_counts(store: &dyn Store) {
    let now = 10_000;
    hook(store, HookOwner::System).await;
    let resting = hook(store, HookOwner::System).await;
    let dead = hook(store, HookOwner::System).await;
    store
        .set_hook_health(
            resting.id,
            HookHealth {
                recent_failures: 4,
                backoff_count: 1,
                disabled_until: Some(now + 60_000),
                permanently_disabled: false,
            },
        )
        .await
        .unwrap();
    store
        .set_hook_health(
            dead.id,
            HookHealth {
                recent_failures: 40,
                backoff_count: 0,
                disabled_until: None,
                permanently_disabled: true,
            },
        )
        .await
        .unwrap();
    let counts = store.hook_alert_counts(now).await.unwrap();
    assert_eq!(
        counts,
        HookAlertCounts {
            executable: 1,
            temporarily_disabled: 1,
            disabled: 1
        }
    );
    // The hooks counted, to list them.
    let resting_ids = store.disabled_hook_ids(now, false).await.unwrap();
    assert_eq!(resting_ids, [resting.id]);
    assert_eq!(store.disabled_hook_ids(now, true).await.unwrap(), [dead.id]);
    // Once the backoff ends, the hook counts as executable again.
    let later = store.hook_alert_counts(now + 120_000).await.unwrap();
    assert_eq!(later.executable, 2);
    assert!(
        store
            .disabled_hook_ids(now + 120_000, false)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Concurrent inserts share commits (group commit): every one is stored once and answered
/// with its own outcome; a repeated idempotency key within the same burst is a duplicate of
/// the first; an event that cannot be stored (its uuid is taken) fails alone.
pub async fn check_concurrent_inserts_are_each_answered(store: &dyn Store) {
    let hook = hook(store, HookOwner::System).await;
    enqueue(store, "taken", hook.id, 1, 1).await;
    let inserts = (0..60).map(|n| {
        let (uuid, key) = match n {
            // Same key twice: one event.
            10 | 11 => (format!("burst-{n}"), Some("same-key")),
            // A uuid already stored: refused.
            20 => ("taken".to_owned(), None),
            _ => (format!("burst-{n}"), None),
        };
        async move {
            let event = new_event(&uuid, key);
            store
                .insert_event(event, vec![delivery(hook.id, n)], 2)
                .await
        }
    });
    let outcomes = futures::future::join_all(inserts).await;
    let refused = outcomes.iter().filter(|o| o.is_err()).count();
    assert_eq!(refused, 1, "only the taken uuid fails");
    assert!(matches!(outcomes[20], Err(StoreError::Conflict(_))));
    let ok: Vec<&Inserted> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(ok.iter().filter(|i| i.duplicate).count(), 1);
    let counts = counts(store).await;
    // 1 before, 59 answered, one of them a duplicate of another.
    assert_eq!(counts.pending, 1 + 58);

    // A burst that commits together (nothing in it fails): a key twice within it, a key
    // stored by the first burst, and a hook deleted since routing.
    let gone = self::hook(store, HookOwner::System).await;
    store.delete_hook(gone.id).await.unwrap();
    let inserts = (0..40).map(|n| {
        let key = match n {
            5 | 6 => Some("twice-in-burst"),
            7 => Some("same-key"),
            _ => None,
        };
        async move {
            let event = new_event(&format!("second-{n}"), key);
            let routed = vec![delivery(hook.id, n), delivery(gone.id, n)];
            store.insert_event(event, routed, 3).await.unwrap()
        }
    });
    // Within the burst, a key stored before and a key of this burst, each with another
    // body: refused alone, whichever commit they join.
    let reused = ["same-key", "twice-in-burst"].map(|key| async move {
        let routed = vec![delivery(hook.id, 99)];
        store
            .insert_event(other_body(&format!("reused-{key}"), key), routed, 3)
            .await
    });
    let (outcomes, reused) = futures::future::join(
        futures::future::join_all(inserts),
        futures::future::join_all(reused),
    )
    .await;
    for outcome in reused {
        assert!(
            matches!(outcome, Err(StoreError::IdempotencyKeyReused)),
            "{outcome:?}"
        );
    }
    assert!(
        outcomes.iter().all(|o| o.deliveries == 1),
        "the deleted hook gets nothing"
    );
    assert_eq!(outcomes[6].event_id, outcomes[5].event_id);
    assert!(outcomes[6].duplicate && !outcomes[5].duplicate);
    assert!(outcomes[7].duplicate);
    let first = ok
        .iter()
        .find(|i| !i.duplicate && i.event_id == outcomes[7].event_id);
    assert!(first.is_some(), "answered with the first burst's event");
    assert_eq!(self::counts(store).await.pending, 1 + 58 + 38);
}

/// Attempts per minute (2xx apart from the rest) and the slowest hooks, since a time.
pub async fn check_activity(store: &dyn Store) {
    let fast = hook(store, HookOwner::System).await;
    let slow = hook(store, HookOwner::System).await;
    let minute = 60_000;
    let logged = [
        (fast.id, Some(200), 10 * minute + 5, 0.1),
        (fast.id, Some(500), 10 * minute + 9, 0.1),
        (slow.id, None, 11 * minute + 1, 3.0),
        (slow.id, Some(204), 11 * minute + 2, 1.0),
        // Before the span: not counted.
        (fast.id, Some(200), 9 * minute, 0.1),
    ];
    for (hook_id, status, at, seconds) in logged {
        let mut row = attempt(hook_id, None, None, Outcome::Succeeded, status, at);
        row.execution_duration = seconds;
        store.log_attempt(row, &KeepHealth).await.unwrap();
    }
    let activity = store.activity(10 * minute, 5).await.unwrap();
    assert_eq!(
        activity.per_minute,
        vec![
            MinuteActivity {
                minute: 10 * minute,
                succeeded: 1,
                failed: 1
            },
            MinuteActivity {
                minute: 11 * minute,
                succeeded: 1,
                failed: 1
            },
        ]
    );
    let slowest: Vec<(Id, u64)> = activity
        .slowest_hooks
        .iter()
        .map(|h| (h.hook_id, h.attempts))
        .collect();
    assert_eq!(slowest, vec![(slow.id, 2), (fast.id, 2)]);
    assert!((activity.slowest_hooks[0].mean_seconds - 2.0).abs() < 1e-9);
    assert_eq!(
        store
            .activity(10 * minute, 1)
            .await
            .unwrap()
            .slowest_hooks
            .len(),
        1
    );
}

// ---------------------------------------------------------------- the suite, per backend

/// Calls `$suite!` with every check that takes one fresh store: each backend module runs
/// the same list.
fn new_user(id: Option<Id>, username: &str) -> NewUser {
    NewUser {
        id,
        username: username.into(),
        name: username.to_uppercase(),
        email: format!("{username}@example.com"),
    }
}

pub async fn check_users_crud(store: &dyn Store) {
    let given = store
        .create_user(new_user(Some(41), "js"), 5)
        .await
        .unwrap();
    assert_eq!(
        (
            given.id,
            given.username.as_str(),
            given.name.as_str(),
            given.email.as_str()
        ),
        (41, "js", "JS", "js@example.com")
    );
    assert_eq!((given.created_at, given.updated_at), (5, 5));
    // An assigned id never collides with a given one.
    let assigned = store.create_user(new_user(None, "ann"), 6).await.unwrap();
    assert!(assigned.id > 41, "{}", assigned.id);
    assert!(matches!(
        store.create_user(new_user(None, "js"), 7).await,
        Err(StoreError::Conflict(_))
    ));
    let renamed = store
        .update_user(
            41,
            UserUpdate {
                username: Some("jsmith".into()),
                ..UserUpdate::default()
            },
            8,
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.username.as_str(), renamed.name.as_str()),
        ("jsmith", "JS")
    );
    assert_eq!((renamed.created_at, renamed.updated_at), (5, 8));
    assert_eq!(store.user(41).await.unwrap(), Some(renamed.clone()));
    assert!(matches!(
        store
            .update_user(
                assigned.id,
                UserUpdate {
                    username: Some("jsmith".into()),
                    ..UserUpdate::default()
                },
                9,
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.update_user(999, UserUpdate::default(), 9).await,
        Err(StoreError::NotFound("user"))
    ));
    assert_eq!(store.delete_user(41).await.unwrap(), renamed);
    assert_eq!(store.user(41).await.unwrap(), None);
    assert!(matches!(
        store.delete_user(41).await,
        Err(StoreError::NotFound("user"))
    ));
}

pub async fn check_ssh_keys(store: &dyn Store) {
    let owner = store.create_user(new_user(None, "root"), 1).await.unwrap();
    let other = store.create_user(new_user(None, "ann"), 1).await.unwrap();
    let key = |title: &str| NewSshKey {
        title: title.into(),
        key: format!("ssh-ed25519 AAAA {title}"),
    };
    let laptop = store
        .create_ssh_key(owner.id, key("laptop"), 5)
        .await
        .unwrap();
    assert_eq!(
        (
            laptop.user.username.as_str(),
            laptop.title.as_str(),
            laptop.key.as_str()
        ),
        ("root", "laptop", "ssh-ed25519 AAAA laptop")
    );
    assert_eq!(laptop.created_at, 5);
    let desk = store
        .create_ssh_key(owner.id, key("desk"), 6)
        .await
        .unwrap();
    assert!(matches!(
        store.create_ssh_key(999, key("x"), 6).await,
        Err(StoreError::NotFound("user"))
    ));
    assert_eq!(
        store.list_ssh_keys(owner.id).await.unwrap(),
        vec![laptop.clone(), desk.clone()]
    );
    // Another user's key is not found under this one.
    assert!(matches!(
        store.delete_ssh_key(other.id, laptop.id).await,
        Err(StoreError::NotFound("key"))
    ));
    assert_eq!(
        store.delete_ssh_key(owner.id, laptop.id).await.unwrap(),
        laptop
    );
    assert_eq!(store.list_ssh_keys(owner.id).await.unwrap(), vec![desk]);
    // Deleting the user takes the keys.
    store.delete_user(owner.id).await.unwrap();
    assert!(matches!(
        store.list_ssh_keys(owner.id).await,
        Err(StoreError::NotFound("user"))
    ));
}

pub async fn check_members(store: &dyn Store) {
    let g = group(store, None, "g", None).await;
    let p = project(store, "p", Some(g.id), None).await;
    let ann = store.create_user(new_user(None, "ann"), 1).await.unwrap();
    let bob = store.create_user(new_user(None, "bob"), 1).await.unwrap();
    let member = |user_id, access_level| NewMember {
        user_id,
        access_level,
        expires_at: None,
    };
    let in_group = store
        .add_member(
            MemberOf::Group(g.id),
            NewMember {
                expires_at: Some("2030-01-31".into()),
                ..member(ann.id, 10)
            },
            5,
        )
        .await
        .unwrap();
    assert_eq!(in_group.of, MemberOf::Group(g.id));
    assert_eq!(in_group.user, ann);
    assert_eq!(
        (
            in_group.access_level,
            in_group.expires_at.as_deref(),
            in_group.created_at
        ),
        (10, Some("2030-01-31"), 5)
    );
    // The same user may be a member of the project too, but only once of each.
    store
        .add_member(MemberOf::Project(p.id), member(ann.id, 30), 6)
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_member(MemberOf::Group(g.id), member(ann.id, 20), 7)
            .await,
        Err(StoreError::Conflict("member"))
    ));
    assert!(matches!(
        store
            .add_member(MemberOf::Group(g.id), member(999, 20), 7)
            .await,
        Err(StoreError::NotFound("user"))
    ));
    assert!(matches!(
        store
            .add_member(MemberOf::Project(999), member(bob.id, 20), 7)
            .await,
        Err(StoreError::NotFound("project"))
    ));
    store
        .add_member(MemberOf::Group(g.id), member(bob.id, 50), 7)
        .await
        .unwrap();
    let updated = store
        .update_member(
            MemberOf::Group(g.id),
            ann.id,
            MemberUpdate {
                access_level: Some(30),
                expires_at: Some(None),
            },
            8,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            updated.access_level,
            updated.expires_at.clone(),
            updated.created_at,
            updated.updated_at
        ),
        (30, None, 5, 8)
    );
    // Unchanged fields stay.
    let kept = store
        .update_member(MemberOf::Group(g.id), ann.id, MemberUpdate::default(), 9)
        .await
        .unwrap();
    assert_eq!((kept.access_level, kept.expires_at), (30, None));
    assert!(matches!(
        store
            .update_member(MemberOf::Project(p.id), bob.id, MemberUpdate::default(), 9)
            .await,
        Err(StoreError::NotFound("member"))
    ));
    let levels: Vec<(String, i64)> = store
        .list_members(MemberOf::Group(g.id))
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user.username, m.access_level))
        .collect();
    assert_eq!(levels, [("ann".to_owned(), 30), ("bob".to_owned(), 50)]);
    let removed = store
        .remove_member(MemberOf::Group(g.id), ann.id)
        .await
        .unwrap();
    assert_eq!((removed.user.id, removed.access_level), (ann.id, 30));
    assert!(matches!(
        store.remove_member(MemberOf::Group(g.id), ann.id).await,
        Err(StoreError::NotFound("member"))
    ));
    // The project membership is its own.
    assert_eq!(
        store
            .list_members(MemberOf::Project(p.id))
            .await
            .unwrap()
            .len(),
        1
    );
    // Deleting a user or the project takes their memberships.
    store.delete_user(bob.id).await.unwrap();
    assert!(
        store
            .list_members(MemberOf::Group(g.id))
            .await
            .unwrap()
            .is_empty()
    );
    store.delete_project(p.id).await.unwrap();
    assert!(
        store
            .list_members(MemberOf::Project(p.id))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A receiver's reply is stored as the bytes it sent: NUL, invalid UTF-8, binary (PostgreSQL's
/// `text` refuses the first two, which once stopped a node's recording).
pub async fn check_foreign_reply_bytes_are_kept(store: &dyn Store) {
    let hook = hook_with(store, HookOwner::System, ROOMY).await;
    enqueue(store, "e1", hook.id, 1, 1_000).await;
    let claimed = claim(store, "n1", 1_000, 10).await;
    let reply = b"ok\0nul \xff\xfe not UTF-8 \x89PNG\r\n\x1a\n".to_vec();
    let mut attempt = attempt_for(&claimed[0], Outcome::Succeeded, Some(200), 1_001);
    attempt.response_body = reply.clone();
    store
        .record_attempts("n1", vec![attempt], &KeepHealth)
        .await
        .expect("a reply of any bytes is recorded");
    let logged = store
        .list_attempts(hook.id, StatusFilter::All, PAGE)
        .await
        .unwrap();
    assert_eq!(logged.items[0].response_body, reply);
    assert_eq!(counts(store).await.succeeded, 1);
}

/// No top-level namespace has more than its share in flight (over every owner); the system
/// hooks have a share of their own; a tenant's recorded attempts free its share.
pub async fn check_namespace_share(store: &dyn Store) {
    let a = group(store, None, "a", None).await;
    let sub = group(store, None, "sub", Some(a.id)).await;
    let b = group(store, None, "b", None).await;
    let deep = project(store, "p", Some(sub.id), None).await;
    let other = project(store, "q", Some(b.id), None).await;
    let mut busy = Vec::new();
    for n in 0..3 {
        busy.push(hook_with(store, HookOwner::Project(deep.id), ROOMY).await);
        enqueue(store, &format!("a{n}"), busy[n].id, 2, 1_000).await;
    }
    let group_hook = hook_with(store, HookOwner::Group(a.id), ROOMY).await;
    enqueue(store, "ag", group_hook.id, 2, 1_000).await;
    let quiet = hook_with(store, HookOwner::Project(other.id), ROOMY).await;
    enqueue(store, "b", quiet.id, 2, 1_000).await;
    let system = hook_with(store, HookOwner::System, ROOMY).await;
    enqueue(store, "s", system.id, 3, 1_000).await;
    let share = RateLimit {
        in_flight: 2,
        ..RateLimit::UNLIMITED
    };
    let tenant_a: HashSet<Id> = busy.iter().chain([&group_hook]).map(|h| h.id).collect();
    let of_a = |claimed: &[Claimed]| {
        claimed
            .iter()
            .filter(|c| tenant_a.contains(&c.hook_id))
            .count()
    };
    let first = store
        .claim_due("n1", 1_000, 60_000, 100, share, &HashMap::new())
        .await
        .unwrap();
    assert_eq!(
        of_a(&first),
        2,
        "a's share, its group hook and subgroup's projects counted together"
    );
    assert_eq!(
        hooks_of(&first).iter().filter(|h| **h == quiet.id).count(),
        2
    );
    assert_eq!(
        hooks_of(&first).iter().filter(|h| **h == system.id).count(),
        2
    );
    // Another node sees the same counts.
    let second = store
        .claim_due("n2", 1_000, 60_000, 100, share, &HashMap::new())
        .await
        .unwrap();
    assert_eq!(second.len(), 0, "{:?}", hooks_of(&second));
    // What a records frees its share, and only its own.
    let of_a_claimed: Vec<Claimed> = first
        .into_iter()
        .filter(|c| tenant_a.contains(&c.hook_id))
        .collect();
    record(store, "n1", &of_a_claimed, Outcome::Succeeded, 1_001).await;
    let third = store
        .claim_due("n2", 1_001, 60_000, 100, share, &HashMap::new())
        .await
        .unwrap();
    assert_eq!((of_a(&third), third.len()), (2, 2));
}

/// A namespace's share binds only while another namespace has due work: alone, one tenant
/// takes every slot it can; once another tenant's deliveries fall due, that one gets its
/// share and the first nothing more until it is back under its own.
pub async fn check_namespace_share_binds_only_with_other_due_work(store: &dyn Store) {
    let a = group(store, None, "a", None).await;
    let b = group(store, None, "b", None).await;
    let busy = project(store, "p", Some(a.id), None).await;
    let other = project(store, "q", Some(b.id), None).await;
    let share = RateLimit {
        in_flight: 2,
        ..RateLimit::UNLIMITED
    };
    let claim_shared = async |now: Millis| {
        store
            .claim_due("n1", now, 60_000, 100, share, &HashMap::new())
            .await
            .unwrap()
    };
    let mut tenant_a = Vec::new();
    for n in 0..3 {
        let hook = hook_with(store, HookOwner::Project(busy.id), ROOMY).await;
        enqueue(store, &format!("a{n}"), hook.id, 2, 1_000).await;
        tenant_a.push(hook.id);
    }
    assert_eq!(
        claim_shared(1_000).await.len(),
        6,
        "alone: past its share of 2"
    );

    enqueue(store, "a-more", tenant_a[0], 2, 1_001).await;
    let quiet = hook_with(store, HookOwner::Project(other.id), ROOMY).await;
    enqueue(store, "b", quiet.id, 3, 1_001).await;
    let next = claim_shared(1_001).await;
    assert_eq!(
        hooks_of(&next),
        vec![quiet.id; 2],
        "b has work: b gets its share, a (over its own) nothing"
    );
    assert!(
        claim_shared(1_002).await.is_empty(),
        "both at their share and both with due work"
    );
}

/// The dispatcher's caps: a listed hook has at most the smaller of its cap and its
/// `max_in_flight` in flight; an unlisted one its `max_in_flight`.
pub async fn check_hook_caps(store: &dyn Store) {
    let capped = hook_with(store, HookOwner::System, ROOMY).await;
    let strict = hook_with(store, HookOwner::System, DeliveryLimits::default()).await;
    let unlisted = hook_with(store, HookOwner::System, ROOMY).await;
    for (n, hook) in [&capped, &strict, &unlisted].into_iter().enumerate() {
        enqueue(store, &format!("e{n}"), hook.id, 10, 1_000).await;
    }
    let count =
        |claimed: &[Claimed], hook: &Hook| claimed.iter().filter(|c| c.hook_id == hook.id).count();
    let caps = HashMap::from([(capped.id, 3), (strict.id, 50)]);
    let first = store
        .claim_due("n1", 1_000, 60_000, 100, RateLimit::UNLIMITED, &caps)
        .await
        .unwrap();
    assert_eq!(count(&first, &capped), 3, "its cap");
    assert_eq!(
        count(&first, &strict),
        4,
        "its max_in_flight, under the cap"
    );
    assert_eq!(count(&first, &unlisted), 10, "its max_in_flight");
    // The cap rises: the difference is free.
    let caps = HashMap::from([(capped.id, 5), (strict.id, 50)]);
    let second = store
        .claim_due("n1", 1_000, 60_000, 100, RateLimit::UNLIMITED, &caps)
        .await
        .unwrap();
    assert_eq!(hooks_of(&second), vec![capped.id; 2]);
}

/// Payloads over a MiB are stored in parts and read back whole wherever a payload is read:
/// by a claim, as the latest event of its kind, and as the body a log row shows.
pub async fn check_large_payloads_are_read_back_whole(store: &dyn Store) {
    let hook = hook_with(store, HookOwner::System, ROOMY).await;
    let sizes = [1024 * 1024, 2 * 1024 * 1024 + 512 * 1024];
    for (n, size) in sizes.into_iter().enumerate() {
        // Bytes that differ from part to part, so that a part out of order shows.
        let payload: Vec<u8> = (0..size).map(|i| (i / 1000 % 251) as u8).collect();
        let event = NewEvent {
            payload: payload.clone(),
            ..new_event(&format!("large-{n}"), None)
        };
        store
            .insert_event(event, vec![delivery(hook.id, n)], 1_000)
            .await
            .unwrap();
        let claimed = claim(store, "n1", 1_000, 10).await;
        assert_eq!(claimed.len(), 1);
        assert!(
            claimed[0].payload == payload,
            "claimed payload of {size} bytes"
        );
        let latest = store.latest_event(None, "push").await.unwrap().unwrap();
        assert!(latest.payload == payload, "latest event of {size} bytes");
        let mut attempt = attempt_for(&claimed[0], Outcome::Succeeded, Some(200), 1_001);
        attempt.request_body = None;
        store
            .record_attempts("n1", vec![attempt], &KeepHealth)
            .await
            .unwrap();
        let logged = store
            .list_attempts(hook.id, StatusFilter::All, PAGE)
            .await
            .unwrap();
        assert!(
            logged.items[0].request_body == payload,
            "logged body of {size} bytes"
        );
        let one = store
            .attempt(hook.id, logged.items[0].id)
            .await
            .unwrap()
            .unwrap();
        assert!(one.request_body == payload);
    }
}

// ---------------------------------------------------------------- retention

/// What retention leaves, at a cutoff of 100 s.
const CUTOFF: Millis = 100_000;

/// Prunes the whole log before `cutoff`, `limit` rows a batch; the rows deleted per batch.
async fn prune_whole_log(store: &dyn Store, cutoff: Millis, limit: u32) -> Vec<u64> {
    let mut batches = Vec::new();
    loop {
        let deleted = store.prune_log(cutoff, limit).await.expect("prune log");
        batches.push(deleted);
        if deleted == 0 {
            return batches;
        }
    }
}

/// Goes over every event before `cutoff`, `limit` a batch; how many were deleted.
async fn prune_all_events(store: &dyn Store, cutoff: Millis, limit: u32) -> u64 {
    let (mut deleted, mut after) = (0, None);
    loop {
        let batch = store
            .prune_events(cutoff, after, limit)
            .await
            .expect("prune events");
        deleted += batch.deleted;
        match batch.next {
            Some(next) => after = Some(next),
            None => return deleted,
        }
    }
}

pub async fn check_retention_prunes_what_is_settled_and_old(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    let held = hook(store, HookOwner::System).await;
    let mut events = HashMap::new();
    for uuid in ["succeeded", "failed-old", "failed-recently", "retrying"] {
        let key = format!("key-{uuid}");
        let inserted = store
            .insert_event(new_event(uuid, Some(&key)), vec![delivery(h.id, 0)], 1_000)
            .await
            .unwrap();
        events.insert(inserted.event_id, uuid);
    }
    enqueue(store, "held", held.id, 1, 1_000).await;
    let dead = HookHealth {
        permanently_disabled: true,
        ..HookHealth::default()
    };
    store.set_hook_health(held.id, dead).await.unwrap();

    let claimed = claim(store, "n1", 1_000, 10).await;
    assert_eq!(claimed.len(), 4);
    let attempts = claimed
        .iter()
        .map(|c| match events[&c.event_id] {
            "succeeded" => attempt_for(c, Outcome::Succeeded, Some(200), 2_000),
            "failed-old" => attempt_for(c, Outcome::Failed, Some(500), 3_000),
            "failed-recently" => attempt_for(c, Outcome::Failed, Some(500), 200_000),
            _ => attempt_for(c, Outcome::RetryAt(10_000_000), Some(500), 4_000),
        })
        .collect();
    store
        .record_attempts("n1", attempts, &KeepHealth)
        .await
        .unwrap();
    // A new event, after the cutoff, still pending; a hook test after it (the newest log row,
    // which is never pruned: the others are written in no particular order).
    enqueue(store, "fresh", h.id, 1, 150_000).await;
    store
        .log_attempt(
            attempt(h.id, None, None, Outcome::Succeeded, Some(200), 250_000),
            &KeepHealth,
        )
        .await
        .unwrap();

    let log = store
        .list_attempts(h.id, StatusFilter::All, PAGE)
        .await
        .unwrap()
        .items;
    let (old, recent): (Vec<_>, Vec<_>) = log.iter().partition(|a| a.created_at < CUTOFF);
    assert_eq!((old.len(), recent.len()), (3, 2));
    let resendable = recent.iter().find(|a| a.created_at == 200_000).unwrap().id;

    // In batches of two: the three old rows, then nothing.
    assert_eq!(prune_whole_log(store, CUTOFF, 2).await, vec![2, 1, 0]);
    for gone in &old {
        assert_eq!(store.attempt(h.id, gone.id).await.unwrap(), None);
        assert!(store.attempt_pruned(gone.id).await.unwrap(), "pruned");
    }
    let kept = store.attempt(h.id, resendable).await.unwrap();
    assert!(
        !kept.unwrap().request_body.is_empty(),
        "its event's payload is still there to show"
    );
    assert!(!store.attempt_pruned(resendable + 1_000).await.unwrap());

    // One event a batch: the succeeded and the long-failed events go; the failed one still
    // resendable, the retrying one, the held one and the fresh one stay.
    assert_eq!(prune_all_events(store, CUTOFF, 1).await, 2);
    let resent = store.attempt(h.id, resendable).await.unwrap().unwrap();
    assert!(!resent.request_body.is_empty(), "still shown whole");
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            pending: 3,
            in_flight: 0,
            succeeded: 0,
            failed: 1,
        }
    );
    // Nothing more to do a second time.
    assert_eq!(prune_all_events(store, CUTOFF, 10).await, 0);

    // The idempotency key expired with its event: posted again (with another body), it is
    // a new event; the key of an event kept is still answered.
    let again = store
        .insert_event(
            other_body("succeeded-again", "key-succeeded"),
            vec![],
            300_000,
        )
        .await
        .expect("a pruned event's key is free");
    assert!(!again.duplicate);
    let kept_key = store
        .insert_event(new_event("x", Some("key-retrying")), vec![], 300_000)
        .await
        .unwrap();
    assert!(kept_key.duplicate);

    // However late the cutoff, what is pending or held stays.
    prune_all_events(store, Millis::MAX, 10).await;
    assert_eq!(counts(store).await.pending, 3);
}

/// Settled events and their log, `n` of each, all older than [`CUTOFF`], and a newer event.
async fn settled_history(store: &dyn Store, n: usize) {
    let h = hook(store, HookOwner::System).await;
    for i in 0..n {
        enqueue(store, &format!("old-{i}"), h.id, 1, 1_000).await;
    }
    // The hook's in-flight limit is ROOMY's 100: claimed and recorded a hundred at a time.
    let mut settled = 0;
    while settled < n {
        let claimed = claim(store, "n1", 1_000, 100).await;
        assert!(!claimed.is_empty());
        settled += claimed.len();
        let attempts = claimed
            .iter()
            .map(|c| attempt_for(c, Outcome::Succeeded, Some(200), 2_000))
            .collect();
        store
            .record_attempts("n1", attempts, &KeepHealth)
            .await
            .unwrap();
    }
    enqueue(store, "fresh", h.id, 1, 150_000).await;
    // The newest log row, never pruned.
    store
        .log_attempt(
            attempt(h.id, None, None, Outcome::Succeeded, Some(200), 250_000),
            &KeepHealth,
        )
        .await
        .unwrap();
}

/// Two nodes prune one database at once, in small batches: together they delete every
/// old row once, and neither fails.
pub async fn check_two_nodes_prune_side_by_side(a: &dyn Store, b: &dyn Store) {
    const OLD: usize = 200;
    settled_history(a, OLD).await;
    let node = async |store: &dyn Store| {
        let log: u64 = prune_whole_log(store, CUTOFF, 7).await.iter().sum();
        (log, prune_all_events(store, CUTOFF, 7).await)
    };
    let ((log_a, events_a), (log_b, events_b)) = tokio::join!(node(a), node(b));
    assert_eq!(log_a + log_b, OLD as u64, "each log row deleted once");
    assert_eq!(events_a + events_b, OLD as u64, "each event deleted once");
    assert_eq!(counts(a).await.succeeded, 0);
    assert_eq!(counts(a).await.pending, 1, "the fresh event stays");
}

// ---------------------------------------------------------------- the Deliveries pages

/// The event uuids of a listing, in order.
fn uuids(listed: &Paged<DeliveryRecord>) -> Vec<&str> {
    listed.items.iter().map(|d| d.event_uuid.as_str()).collect()
}

pub async fn check_deliveries_view(store: &dyn Store) {
    let a = hook_with(store, HookOwner::System, ROOMY).await;
    let b = hook_with(store, HookOwner::System, ROOMY).await;
    for (uuid, hook, at) in [
        ("e1", a.id, 1_000),
        ("e2", a.id, 2_000),
        ("e3", b.id, 3_000),
        ("e4", a.id, 4_000),
    ] {
        enqueue(store, uuid, hook, 1, at).await;
    }
    let claimed = claim(store, "n1", 5_000, 10).await;
    assert_eq!(claimed.len(), 4);
    // e1 is given up, e2 waits for its retry, e3 succeeds, e4 stays in flight.
    for (claim, outcome) in
        claimed
            .iter()
            .zip([Outcome::Failed, Outcome::RetryAt(9_000), Outcome::Succeeded])
    {
        record(store, "n1", std::slice::from_ref(claim), outcome, 5_000).await;
    }
    // e5 is held by its disabled hook; e6 waits for its first attempt.
    enqueue(store, "e5", b.id, 1, 6_000).await;
    let resting = HookHealth {
        recent_failures: 4,
        backoff_count: 1,
        disabled_until: Some(100_000),
        permanently_disabled: false,
    };
    store.set_hook_health(b.id, resting).await.unwrap();
    enqueue(store, "e6", a.id, 1, 6_500).await;

    let now = 7_000;
    let all = DeliveryFilter {
        hook_id: None,
        states: DeliveryStates::Any,
        trigger: None,
        event_uuid: None,
        from: None,
        to: None,
    };
    let list = async |filter: &DeliveryFilter, page: Page| {
        store.list_deliveries(filter, now, page).await.unwrap()
    };
    let listed = list(&all, PAGE).await;
    assert_eq!(uuids(&listed), ["e6", "e5", "e4", "e3", "e2", "e1"]);
    let states: Vec<DeliveryState> = listed.items.iter().map(|d| d.state).collect();
    use DeliveryState::*;
    assert_eq!(
        states,
        [Pending, Held, InFlight, Succeeded, Retrying, Failed]
    );
    let retrying = &listed.items[4];
    assert_eq!(retrying.next_attempt_at, 9_000);
    assert_eq!(retrying.trigger, "push_hooks");
    assert_eq!(retrying.event_at, 2_000);
    let statuses: Vec<Option<u16>> = retrying
        .attempts
        .iter()
        .map(|a| a.response_status)
        .collect();
    assert_eq!(statuses, [Some(500)], "its attempts, grouped");
    assert!(listed.items[0].attempts.is_empty());

    let undelivered = DeliveryFilter {
        states: DeliveryStates::Undelivered,
        ..all.clone()
    };
    let listed = list(&undelivered, PAGE).await;
    assert_eq!(
        (uuids(&listed), listed.total),
        (vec!["e6", "e5", "e4", "e2", "e1"], 5)
    );
    let second = list(
        &undelivered,
        Page {
            page: 2,
            per_page: 2,
        },
    )
    .await;
    assert_eq!((uuids(&second), second.total), (vec!["e4", "e2"], 5));
    // What will still go without anyone asking: what the overview counts as waiting.
    let waiting = DeliveryFilter {
        states: DeliveryStates::Waiting,
        ..all.clone()
    };
    let listed = list(&waiting, PAGE).await;
    assert_eq!(
        (uuids(&listed), listed.total),
        (vec!["e6", "e5", "e4", "e2"], 4)
    );
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(counts.pending + counts.in_flight, 4);
    let in_flight = DeliveryFilter {
        states: DeliveryStates::Only(InFlight),
        ..all.clone()
    };
    assert_eq!(uuids(&list(&in_flight, PAGE).await), ["e4"]);
    for (state, uuid) in [
        (Held, "e5"),
        (Retrying, "e2"),
        (Failed, "e1"),
        (Pending, "e6"),
    ] {
        let only = DeliveryFilter {
            states: DeliveryStates::Only(state),
            ..all.clone()
        };
        assert_eq!(uuids(&list(&only, PAGE).await), [uuid], "{state:?}");
    }
    let of_b = DeliveryFilter {
        hook_id: Some(b.id),
        ..all.clone()
    };
    assert_eq!(uuids(&list(&of_b, PAGE).await), ["e5", "e3"]);
    let by_uuid = DeliveryFilter {
        event_uuid: Some("e2".into()),
        ..all.clone()
    };
    assert_eq!(uuids(&list(&by_uuid, PAGE).await), ["e2"]);
    let by_time = DeliveryFilter {
        from: Some(2_000),
        to: Some(4_000),
        ..all.clone()
    };
    assert_eq!(uuids(&list(&by_time, PAGE).await), ["e3", "e2"]);
    let by_trigger = DeliveryFilter {
        trigger: Some("issue_hooks".into()),
        ..all.clone()
    };
    assert_eq!(list(&by_trigger, PAGE).await.total, 0);
    let by_trigger = DeliveryFilter {
        trigger: Some("push_hooks".into()),
        ..all.clone()
    };
    assert_eq!(list(&by_trigger, PAGE).await.total, 6);

    // The state of given deliveries (a resend is not offered while one will be sent anyway).
    let listed = list(&all, PAGE).await;
    let ids: Vec<Id> = listed.items.iter().map(|d| d.id).collect();
    let mut asked = vec![ids[5], ids[2], 999_999];
    asked.sort_unstable();
    let states = store.delivery_states(&asked, now).await.unwrap();
    let mut expected = vec![(ids[5], Failed), (ids[2], InFlight)];
    expected.sort_unstable_by_key(|(id, _)| *id);
    assert_eq!(states, expected);
    assert!(InFlight.will_be_sent() && Held.will_be_sent() && !Failed.will_be_sent());
    // Once the hook sends again, what it held is pending.
    let later = store.list_deliveries(&of_b, 100_000, PAGE).await.unwrap();
    assert_eq!(later.items[0].state, Pending);
}

pub async fn check_search_projects_and_groups(store: &dyn Store) {
    let acme = group(store, None, "acme", None).await;
    group(store, None, "beta_x", None).await;
    group(store, None, "betaxx", None).await;
    project(store, "web-app", Some(acme.id), None).await;
    project(store, "api", Some(acme.id), None).await;
    let paths = |projects: Paged<Project>| -> Vec<String> {
        projects
            .items
            .into_iter()
            .map(|p| p.path_with_namespace)
            .collect()
    };
    assert_eq!(
        paths(store.search_projects("WEB", PAGE).await.unwrap()),
        ["acme/web-app"]
    );
    assert_eq!(store.search_projects("acme/", PAGE).await.unwrap().total, 2);
    assert_eq!(store.search_projects("", PAGE).await.unwrap().total, 2);
    let one = store
        .search_projects(
            "acme",
            Page {
                page: 2,
                per_page: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (paths(one.clone()), one.total),
        (vec!["acme/api".to_owned()], 2)
    );
    // `_` and `%` are taken literally.
    let groups = store.search_groups("a_x", PAGE).await.unwrap();
    let found: Vec<&str> = groups.items.iter().map(|g| g.full_path.as_str()).collect();
    assert_eq!(found, ["beta_x"]);
    assert_eq!(store.search_groups("%", PAGE).await.unwrap().total, 0);
    assert_eq!(store.search_groups("BETA", PAGE).await.unwrap().total, 2);
}

macro_rules! every_check {
    ($suite:ident) => {
        $suite! {
            settings => check_settings,
            registry_crud => check_registry_crud,
            group_move_rewrites_paths => check_group_move_rewrites_paths,
            cascade_delete => check_cascade_delete,
            hooks_crud => check_hooks_crud,
            candidate_hooks => check_candidate_hooks,
            routing_reads_follow_every_change => check_routing_reads_follow_every_change,
            insert_event_idempotency => check_insert_event_idempotency,
            latest_event => check_latest_event,
            claim_and_record => check_claim_and_record,
            new_deliveries_bring_their_hook_forward => check_new_deliveries_bring_their_hook_forward,
            claim_order_and_limit => check_claim_order_and_limit,
            lease_expiry => check_lease_expiry,
            release_claims => check_release_claims,
            record_after_hook_deleted => check_record_after_hook_deleted,
            list_attempts => check_list_attempts,
            attempt_body => check_attempt_body,
            in_flight_limit_over_every_owner => check_in_flight_limit_over_every_owner,
            a_full_hook_does_not_block_others => check_a_full_hook_does_not_block_others,
            hook_caps_hold_a_hook_below_its_limit => check_hook_caps_hold_a_hook_below_its_limit,
            ordered_hook => check_ordered_hook,
            disabled_hooks_hold_their_deliveries => check_disabled_hooks_hold_their_deliveries,
            health_is_folded_in_as_attempts_are_recorded => check_health_is_folded_in_as_attempts_are_recorded,
            a_retry_that_changes_health_is_due => check_a_retry_that_changes_health_is_due,
            rate_limit_per_namespace => check_rate_limit_per_namespace,
            chain_hooks => check_chain_hooks,
            access_tokens => check_access_tokens,
            concurrent_inserts_are_each_answered => check_concurrent_inserts_are_each_answered,
            hook_alert_counts => check_hook_alert_counts,
            activity => check_activity,
            users_crud => check_users_crud,
            ssh_keys => check_ssh_keys,
            members => check_members,
            foreign_reply_bytes_are_kept => check_foreign_reply_bytes_are_kept,
            namespace_share => check_namespace_share,
            namespace_share_binds_only_with_other_due_work => check_namespace_share_binds_only_with_other_due_work,
            hook_caps => check_hook_caps,
            large_payloads_are_read_back_whole => check_large_payloads_are_read_back_whole,
            retention_prunes_what_is_settled_and_old => check_retention_prunes_what_is_settled_and_old,
            deliveries_view => check_deliveries_view,
            search_projects_and_groups => check_search_projects_and_groups,
        }
    };
}

/// One `#[tokio::test]` per check, on the store its module's `open()` makes.
macro_rules! store_tests {
    ($($test:ident => $check:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            let (_guard, store) = open().await;
            super::$check(&store).await;
        }
    )*};
}

mod sqlite {
    use std::path::PathBuf;

    use tempfile::TempDir;
    use wvs_store::sqlite::SqliteStore;

    use wvs_store::SecretKey;

    /// The at-rest key of every test store (one key, so that a file can be reopened).
    fn key() -> SecretKey {
        SecretKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap()
    }

    /// A fresh database file in its own directory (removed on drop).
    async fn open() -> (TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("wvs.db"), &key())
            .await
            .expect("open store");
        (dir, store)
    }

    every_check!(store_tests);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claimers_one_store() {
        let (_dir, store) = open().await;
        super::check_concurrent_claimers(&store, &store).await;
    }

    /// Two stores on one file are two writers competing for SQLite's lock, as two processes
    /// would: `BEGIN IMMEDIATE` and the busy timeout must keep them apart.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    /// One process owns a SQLite file, so a claim is held in its memory, not written: after
    /// a crash (the store dropped with claims held, nothing released) every delivery whose
    /// attempt was not recorded is due again at once, with no lease to wait for; a recorded
    /// one is not.
    async fn claims_not_recorded_are_due_again_after_a_crash() {
        use wvs_store::*;
        let (dir, store) = open().await;
        let h = super::hook(&store, HookOwner::System).await;
        super::enqueue(&store, "e1", h.id, 3, 1_000).await;
        let claimed = super::claim(&store, "n1", 1_000, 10).await;
        assert_eq!(claimed.len(), 3);
        super::record(&store, "n1", &claimed[..1], Outcome::Succeeded, 1_100).await;
        drop(store);

        let store = SqliteStore::open(&dir.path().join("wvs.db"), &key())
            .await
            .expect("reopen");
        assert_eq!(
            super::counts(&store).await,
            DeliveryCounts {
                pending: 2,
                succeeded: 1,
                ..DeliveryCounts::default()
            }
        );
        let again = super::claim(&store, "n2", 1_200, 10).await;
        assert_eq!(super::ids(&again), super::ids(&claimed[1..]));
    }

    #[tokio::test]
    async fn persistence_across_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path: PathBuf = dir.path().join("wvs.db");
        let store = SqliteStore::open(&path, &key()).await.expect("open");
        let written = super::check_persistence_write(&store).await;
        store.close().await;
        drop(store);
        let store = SqliteStore::open(&path, &key()).await.expect("reopen");
        super::check_persistence_read(&store, written).await;
    }

    /// A write that fails for want of space (the file at its `max_page_count`, as a full
    /// disk) marks the store failing and leaves its writer usable: once space is freed the
    /// readiness probe and the next event go through, without reopening the store.
    #[tokio::test]
    async fn a_full_store_heals_once_space_is_back() {
        use sqlx::sqlite::SqliteConnectOptions;
        use wvs_store::*;
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("wvs.db"))
            .pragma("max_page_count", "300");
        let store = SqliteStore::open_with(options, &key()).await.unwrap();
        // Room to free later: a hook whose settings take ~100 pages.
        let ballast = store
            .create_hook(
                NewHook {
                    owner: HookOwner::System,
                    url: "https://example.com/hook".into(),
                    secrets: HookSecrets::default(),
                    settings: serde_json::json!({ "pad": "x".repeat(400_000) }),
                    limits: DeliveryLimits::default(),
                },
                1,
            )
            .await
            .unwrap();
        let big = |n: usize| NewEvent {
            payload: vec![b' '; 100_000],
            ..super::new_event(&format!("big-{n}"), None)
        };
        let mut stored = 0;
        let error = loop {
            match store.insert_event(big(stored), Vec::new(), 1).await {
                Ok(_) => stored += 1,
                Err(error) => break error,
            }
            assert!(stored < 20, "300 pages hold fewer than 20 events of 100 kB");
        };
        assert!(!error.is_row_error(), "{error}");
        assert!(store.write_failure().is_some());
        assert!(store.probe_write().await.is_err());
        assert!(store.write_failure().is_some());

        // Space is back: the writer was replaced after the failure, so this works.
        store
            .delete_hook(ballast.id)
            .await
            .expect("delete after a full disk");
        store.probe_write().await.expect("the probe fits again");
        assert_eq!(store.write_failure(), None);
        store
            .insert_event(big(99), Vec::new(), 1)
            .await
            .expect("an event fits again");
    }

    #[tokio::test]
    async fn open_url_creates_the_file_and_memory_works() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("by-url.db");
        let store = SqliteStore::open_url(&format!("sqlite://{}", path.display()), &key())
            .await
            .expect("open url");
        super::check_settings(&store).await;
        assert!(path.exists());

        let memory = SqliteStore::open_url("sqlite::memory:", &key())
            .await
            .expect("in memory");
        super::check_claim_and_record(&memory).await;
    }

    /// Hook URLs and secrets are encrypted in the file: none of them is found in the raw
    /// bytes of the database (or its WAL), and another key cannot read them back.
    #[tokio::test]
    async fn hook_secrets_are_encrypted_at_rest() {
        use wvs_store::*;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wvs.db");
        let store = SqliteStore::open(&path, &key()).await.unwrap();
        let secrets = [
            "tok-SECRET-1",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "hdr-SECRET-2",
            "var-SECRET-3",
            "pa55word",
        ];
        let hook = store
            .create_hook(
                NewHook {
                    owner: HookOwner::System,
                    url: "https://user:pa55word@example.com/{path}".into(),
                    secrets: HookSecrets {
                        token: Some(secrets[0].into()),
                        signing_tokens: vec![secrets[1].into()],
                        custom_headers: vec![("X-Custom".into(), secrets[2].into())],
                        url_variables: vec![("path".into(), secrets[3].into())],
                        previous_signing_token: None,
                    },
                    settings: serde_json::json!({}),
                    limits: DeliveryLimits::default(),
                },
                1,
            )
            .await
            .unwrap();
        assert_eq!(store.hook(hook.id).await.unwrap(), Some(hook.clone()));
        // The URL exactly as an operator would give it, credentials and all.
        let plain_url = "https://user:pa55word@example.com/hook";
        let plain = store
            .create_hook(
                NewHook {
                    owner: HookOwner::System,
                    url: plain_url.into(),
                    secrets: HookSecrets::default(),
                    settings: serde_json::json!({}),
                    limits: DeliveryLimits::default(),
                },
                2,
            )
            .await
            .unwrap();
        assert_eq!(store.hook(plain.id).await.unwrap().unwrap().url, plain_url);
        store.close().await;
        drop(store);
        for file in ["wvs.db", "wvs.db-wal"] {
            let Ok(bytes) = std::fs::read(dir.path().join(file)) else {
                continue;
            };
            for secret in secrets.iter().copied().chain([plain_url, "user:pa55word@"]) {
                let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(!found, "{file} holds {secret} in clear");
            }
        }
        let other = SqliteStore::open(&path, &SecretKey::generate())
            .await
            .unwrap();
        // The URL is read first: another key is corrupt data of that column, and the error
        // says so without the value.
        for id in [hook.id, plain.id] {
            let error = other.hook(id).await.unwrap_err();
            assert!(
                matches!(error, StoreError::Corrupt("hooks.url")),
                "{error:?}"
            );
            assert!(!error.to_string().contains("pa55word"));
        }
        let listed = other
            .list_hooks(
                HookOwner::System,
                Page {
                    page: 1,
                    per_page: 20,
                },
            )
            .await;
        assert!(matches!(listed, Err(StoreError::Corrupt("hooks.url"))));
    }
}

mod postgres {
    use std::time::Duration;
    use wvs_store::Store;

    use wvs_store::SecretKey;
    use wvs_store::postgres::PgStore;
    use wvs_store::testing::TestDatabase;

    fn key() -> SecretKey {
        SecretKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap()
    }

    /// A fresh database (dropped with the guard) and a store on it.
    async fn open() -> (TestDatabase, PgStore) {
        let database = TestDatabase::create("store").await;
        let store = PgStore::open(database.url(), &key(), 4)
            .await
            .expect("open store");
        (database, store)
    }

    every_check!(store_tests);

    /// Two stores on one database are two nodes: their claims run at the same time, and
    /// the row locks must keep them apart.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claimers_two_nodes() {
        let (database, a) = open().await;
        let b = PgStore::open(database.url(), &key(), 4)
            .await
            .expect("second store");
        super::check_concurrent_claimers(&a, &b).await;
    }

    /// Two nodes prune the same database at the same time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_prune_side_by_side() {
        let (database, a) = open().await;
        let b = PgStore::open(database.url(), &key(), 4)
            .await
            .expect("second store");
        super::check_two_nodes_prune_side_by_side(&a, &b).await;
    }

    /// Another node's cache: it remembers reads while it hears the others, and forgets
    /// them once a change made through another node is announced.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_on_one_node_reaches_the_others_cache() {
        let (database, a) = open().await;
        let b = PgStore::open(database.url(), &key(), 4)
            .await
            .expect("second store");
        // Up to 30 s: with the whole suite running, b's listener may wait for a connection.
        const LISTENING_WAITS: usize = 600;
        let raw = sqlx::PgPool::connect(database.url()).await.unwrap();
        // Written behind every store's back: no node hears of it.
        let set_unannounced = async |value: &str| {
            sqlx::query("UPDATE settings SET value = $1 WHERE key = 'k'")
                .bind(value)
                .execute(&raw)
                .await
                .unwrap();
        };
        a.set_setting("k", "1").await.unwrap();
        let mut remembered = false;
        for _ in 0..LISTENING_WAITS {
            set_unannounced("1").await;
            b.setting("k").await.unwrap();
            set_unannounced("unannounced").await;
            if b.setting("k").await.unwrap().as_deref() == Some("1") {
                remembered = true;
                break;
            }
            // b's listener is not listening yet: nothing is remembered until it is.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(remembered, "b remembers its reads once it hears the others");

        a.set_setting("k", "2").await.unwrap();
        let mut seen = None;
        for _ in 0..LISTENING_WAITS {
            seen = b.setting("k").await.unwrap();
            if seen.as_deref() == Some("2") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen.as_deref(), Some("2"), "a's change reached b's cache");
    }

    #[tokio::test]
    async fn persistence_across_reopen() {
        let (database, store) = open().await;
        let written = super::check_persistence_write(&store).await;
        store.close().await;
        let store = PgStore::open(database.url(), &key(), 4)
            .await
            .expect("reopen");
        super::check_persistence_read(&store, written).await;
    }
}
