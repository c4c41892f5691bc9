//! Hooks: create, read, change, delete, and which hooks an event may reach.

use super::*;

pub(crate) async fn check_hooks_crud(store: &dyn Store) {
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
    assert_eq!(first.created_at, Millis(1));
    assert_eq!(first.uuid.len(), 36);
    assert_ne!(first.uuid, second.uuid);
    assert_eq!(store.hook(first.id).await.unwrap(), Some(first.clone()));

    let missing_owner = store
        .create_hook(
            NewHook {
                owner: HookOwner::Project(ProjectId(9999)),
                url: "https://x".into(),
                secrets: HookSecrets::default(),
                settings: json!({}),
                limits: DeliveryLimits::default(),
            },
            Millis(1),
        )
        .await;
    assert!(
        matches!(missing_owner, Err(StoreError::NotFound("project"))),
        "{missing_owner:?}"
    );
    let missing_group = store
        .create_hook(
            NewHook {
                owner: HookOwner::Group(GroupId(9999)),
                url: "https://x".into(),
                secrets: HookSecrets::default(),
                settings: json!({}),
                limits: DeliveryLimits::default(),
            },
            Millis(1),
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
            Millis(20),
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
        store.update_hook(HookId(9999), change, Millis(20)).await,
        Err(StoreError::NotFound(_))
    ));

    let health = HookHealth {
        recent_failures: 4,
        backoff_count: 2,
        disabled_until: Some(Millis(120_000)),
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
        store.set_hook_health(HookId(9999), dead).await,
        Err(StoreError::NotFound(_))
    ));

    let found = store
        .hooks_by_ids(&[system.id, HookId(9999), first.id, first.id])
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

pub(crate) fn ids_of(hooks: &[Hook]) -> Vec<HookId> {
    hooks.iter().map(|h| h.id).collect()
}

pub(crate) async fn check_candidate_hooks(store: &dyn Store) {
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
pub(crate) async fn check_routing_reads_follow_every_change(store: &dyn Store) {
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
    assert_eq!(candidates().await, Vec::<HookId>::new());
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
    store
        .update_hook(added.id, change, Millis(2))
        .await
        .unwrap();
    let routed = store.candidate_hooks(Some(p.id), &[sub.id]).await.unwrap();
    assert_eq!(routed[0].settings["push_events"], false);
    store.delete_hook(added.id).await.unwrap();
    assert_eq!(candidates().await, Vec::<HookId>::new());

    let moved = GroupUpdate {
        parent_id: Some(Some(top.id)),
        ..GroupUpdate::default()
    };
    store.update_group(sub.id, moved, Millis(3)).await.unwrap();
    assert_eq!(store.group_ancestry(sub.id).await.unwrap().len(), 2);
    let renamed = ProjectUpdate {
        name: Some("renamed".into()),
        ..ProjectUpdate::default()
    };
    store
        .update_project(p.id, renamed, Millis(4))
        .await
        .unwrap();
    assert_eq!(store.project(p.id).await.unwrap().unwrap().name, "renamed");
    store.set_setting("k", "v").await.unwrap();
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("v"));
    store.delete_project(p.id).await.unwrap();
    assert_eq!(store.project(p.id).await.unwrap(), None);
}
