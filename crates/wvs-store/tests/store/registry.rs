//! Settings, groups and projects: create, read, change, move and delete.

use super::*;

pub(crate) async fn check_settings(store: &dyn Store) {
    assert_eq!(store.setting("admin_token").await.unwrap(), None);
    store.set_setting("admin_token", "hash-1").await.unwrap();
    store.set_setting("admin_token", "hash-2").await.unwrap();
    assert_eq!(
        store.setting("admin_token").await.unwrap().as_deref(),
        Some("hash-2")
    );
}

pub(crate) async fn check_registry_crud(store: &dyn Store) {
    // Given ids are kept; others are assigned.
    let acme = group(store, Some(GroupId(42)), "acme", None).await;
    assert_eq!(
        (acme.id, acme.full_path.as_str(), acme.name.as_str()),
        (GroupId(42), "acme", "ACME")
    );
    let tools = group(store, None, "tools", Some(GroupId(42))).await;
    assert_ne!(tools.id, GroupId(42));
    assert_eq!(tools.full_path, "acme/tools");
    assert_eq!(tools.parent_id, Some(GroupId(42)));

    let duplicate_id = store
        .create_group(
            NewGroup {
                id: Some(GroupId(42)),
                name: "x".into(),
                path: "x".into(),
                ..NewGroup::default()
            },
            Millis(1),
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
                parent_id: Some(GroupId(42)),
                ..NewGroup::default()
            },
            Millis(1),
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
                parent_id: Some(GroupId(9999)),
                ..NewGroup::default()
            },
            Millis(1),
        )
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");

    assert_eq!(store.group(GroupId(42)).await.unwrap(), Some(acme.clone()));
    assert_eq!(
        store.group_by_path("acme/tools").await.unwrap(),
        Some(tools.clone())
    );
    assert_eq!(store.group_by_path("acme/nope").await.unwrap(), None);
    assert_eq!(store.group(GroupId(9999)).await.unwrap(), None);

    let updated = store
        .update_group(
            GroupId(42),
            GroupUpdate {
                name: Some("Acme Inc".into()),
                description: Some(Some("the company".into())),
                visibility: Some(Some("public".into())),
                ..GroupUpdate::default()
            },
            Millis(5),
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "Acme Inc");
    assert_eq!(updated.description.as_deref(), Some("the company"));
    assert_eq!(
        (updated.created_at, updated.updated_at),
        (Millis(1), Millis(5))
    );
    let cleared = store
        .update_group(
            GroupId(42),
            GroupUpdate {
                description: Some(None),
                ..GroupUpdate::default()
            },
            Millis(6),
        )
        .await
        .unwrap();
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.visibility.as_deref(), Some("public"));
    assert!(matches!(
        store
            .update_group(GroupId(9999), GroupUpdate::default(), Millis(6))
            .await,
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
    assert_eq!(groups.items[0].id, tools.id.max(GroupId(42)));

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
                id: Some(ProjectId(7)),
                name: "API".into(),
                path: "api".into(),
                namespace_id: Some(tools.id),
                namespace_path: Some("ignored".into()),
                attributes: attributes.clone(),
            },
            Millis(1),
        )
        .await
        .unwrap();
    assert_eq!(api.id, ProjectId(7));
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
            Millis(1),
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
            Millis(1),
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
                namespace_id: Some(GroupId(9999)),
                ..NewProject::default()
            },
            Millis(1),
        )
        .await;
    assert!(matches!(lost, Err(StoreError::NotFound(_))), "{lost:?}");

    assert_eq!(
        store.project(ProjectId(7)).await.unwrap(),
        Some(api.clone())
    );
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
            ProjectId(7),
            ProjectUpdate {
                path: Some("api-v2".into()),
                ..ProjectUpdate::default()
            },
            Millis(9),
        )
        .await
        .unwrap();
    assert_eq!(renamed.path_with_namespace, "acme/tools/api-v2");
    assert_eq!(renamed.attributes, attributes);
    assert_eq!(renamed.updated_at, Millis(9));
    assert_eq!(store.project_by_path("acme/tools/api").await.unwrap(), None);
    let moved = store
        .update_project(
            ProjectId(7),
            ProjectUpdate {
                namespace_id: Some(Some(GroupId(42))),
                ..ProjectUpdate::default()
            },
            Millis(9),
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.namespace_id, moved.path_with_namespace.as_str()),
        (Some(GroupId(42)), "acme/api-v2")
    );
    let to_user = store
        .update_project(
            ProjectId(7),
            ProjectUpdate {
                namespace_id: Some(None),
                namespace_path: Some("bob".into()),
                ..ProjectUpdate::default()
            },
            Millis(9),
        )
        .await
        .unwrap();
    assert_eq!(
        (to_user.namespace_id, to_user.path_with_namespace.as_str()),
        (None, "bob/api-v2")
    );
    let user_renamed = store
        .update_project(
            ProjectId(7),
            ProjectUpdate {
                namespace_path: Some("robert".into()),
                ..ProjectUpdate::default()
            },
            Millis(9),
        )
        .await
        .unwrap();
    assert_eq!(user_renamed.path_with_namespace, "robert/api-v2");
    let clash = store
        .update_project(
            ProjectId(7),
            ProjectUpdate {
                namespace_path: Some("alice".into()),
                path: Some("dotfiles".into()),
                ..ProjectUpdate::default()
            },
            Millis(9),
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
            ProjectId(7),
            ProjectUpdate {
                attributes: Some(new_attributes.clone()),
                ..ProjectUpdate::default()
            },
            Millis(9),
        )
        .await
        .unwrap();
    assert_eq!(reattributed.attributes, new_attributes);

    let projects = store.list_projects(PAGE).await.unwrap();
    assert_eq!(projects.total, 2);
    assert_eq!(projects.items.iter().map(|p| p.id).collect::<Vec<_>>(), {
        let mut ids = vec![ProjectId(7), dotfiles.id];
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
        store.delete_group(GroupId(9999)).await,
        Err(StoreError::NotFound(_))
    ));
}

pub(crate) async fn check_group_move_rewrites_paths(store: &dyn Store) {
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
            Millis(2),
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
            Millis(3),
        )
        .await
        .unwrap();
    assert_eq!(path(platform.id).await, "other/platform");
    assert_eq!(path(infra.id).await, "other/platform/infra");
    assert_eq!(project_path(api.id).await, "other/platform/infra/api");
    assert_eq!(project_path(web.id).await, "other/platform/web");
    assert_eq!(path(acme.id).await, "acme-corp");
    let ancestry: Vec<GroupId> = store
        .group_ancestry(infra.id)
        .await
        .unwrap()
        .iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(ancestry, vec![infra.id, platform.id, other.id]);
    assert_eq!(
        store.group_ancestry(GroupId(9999)).await.unwrap(),
        Vec::new()
    );

    // Renaming "other" leaves "other-x" alone.
    store
        .update_group(
            other.id,
            GroupUpdate {
                path: Some("else".into()),
                ..GroupUpdate::default()
            },
            Millis(4),
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
                Millis(5),
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
            Millis(6),
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
            Millis(7),
        )
        .await
        .unwrap();
    assert_eq!((top.full_path.as_str(), top.parent_id), ("platform", None));
    assert_eq!(project_path(api.id).await, "platform/infra/api");
    assert_eq!(store.group_ancestry(infra.id).await.unwrap().len(), 2);
}

pub(crate) async fn check_cascade_delete(store: &dyn Store) {
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
        .insert_event(new_event("e1", None), deliveries, Millis(10))
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
                Millis(11),
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
    let left: Vec<HookId> = store
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
