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

/// On SQLite, a record of successes only is answered without waiting for the WAL's sync
/// (a power cut may lose it: its deliveries are pending again and sent again), while a
/// record with a failure in it (which counts towards auto-disable) waits for the sync.
pub(crate) async fn check_only_failures_wait_for_the_disk(
    store: &dyn Store,
    gate: &wvs_store::testing::SyncGate,
) {
    const PATIENCE: Duration = Duration::from_secs(10);
    let hook = hook(store, HookOwner::System).await;
    enqueue(store, "two", hook.id, 2, Millis(1_000)).await;
    let claimed = claim(store, "n1", Millis(1_000), 10).await;
    assert_eq!(claimed.len(), 2);
    let record = |claimed: &Claimed, outcome, status| {
        let mut attempt = attempt_for(claimed, outcome, status, Millis(1_100));
        attempt.health = match status {
            Some(200) => HealthEffect::Success,
            _ => HealthEffect::Failure,
        };
        store.record_attempts("n1", vec![attempt], &KeepHealth)
    };

    gate.set_open(false);
    tokio::time::timeout(PATIENCE, record(&claimed[0], Outcome::Succeeded, Some(200)))
        .await
        .expect("a success is answered while the sync is held")
        .unwrap();
    let failure = record(&claimed[1], Outcome::Failed, Some(500));
    tokio::pin!(failure);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut failure)
            .await
            .is_err(),
        "a failure is answered only once synced"
    );
    gate.set_open(true);
    tokio::time::timeout(PATIENCE, failure)
        .await
        .expect("answered once the sync passed")
        .unwrap();
    assert_eq!(counts(store).await.succeeded, 1);
}
