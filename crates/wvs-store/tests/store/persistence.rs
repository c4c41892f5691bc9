//! What a store keeps across a close and a reopen.

use super::*;

/// What [`check_persistence_write`] left behind, for [`check_persistence_read`].
pub(crate) struct Written {
    group: Group,
    project: Project,
    hook: Hook,
    event: Inserted,
}

pub(crate) async fn check_persistence_write(store: &dyn Store) -> Written {
    store.set_setting("instance", "wvs-1").await.unwrap();
    let group = group(store, Some(GroupId(5)), "persist", None).await;
    let project = project(store, "p", Some(group.id), None).await;
    let hook = hook(store, HookOwner::Project(project.id)).await;
    let event = enqueue(store, "durable", hook.id, 1, Millis(1_000)).await;
    Written {
        group,
        project,
        hook,
        event,
    }
}

pub(crate) async fn check_persistence_read(store: &dyn Store, written: Written) {
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
            Millis(1_000),
            Millis(60_000),
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
