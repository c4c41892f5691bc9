//! Retention: old log rows and settled events pruned, the rest kept.

use super::*;

/// What retention leaves, at a cutoff of 100 s.
pub(crate) const CUTOFF: Millis = Millis(100_000);

/// Prunes the whole log before `cutoff`, `limit` rows a batch; the rows deleted per batch.
pub(crate) async fn prune_whole_log(store: &dyn Store, cutoff: Millis, limit: u32) -> Vec<u64> {
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
pub(crate) async fn prune_all_events(store: &dyn Store, cutoff: Millis, limit: u32) -> u64 {
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

pub(crate) async fn check_retention_prunes_what_is_settled_and_old(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    let held = hook(store, HookOwner::System).await;
    let mut events = HashMap::new();
    for uuid in ["succeeded", "failed-old", "failed-recently", "retrying"] {
        let key = format!("key-{uuid}");
        let inserted = store
            .insert_event(
                new_event(uuid, Some(&key)),
                vec![delivery(h.id, 0)],
                Millis(1_000),
            )
            .await
            .unwrap();
        events.insert(inserted.event_id, uuid);
    }
    enqueue(store, "held", held.id, 1, Millis(1_000)).await;
    let dead = HookHealth {
        permanently_disabled: true,
        ..HookHealth::default()
    };
    store.set_hook_health(held.id, dead).await.unwrap();

    let claimed = claim(store, "n1", Millis(1_000), 10).await;
    assert_eq!(claimed.len(), 4);
    let attempts = claimed
        .iter()
        .map(|c| match events[&c.event_id] {
            "succeeded" => attempt_for(c, Outcome::Succeeded, Some(200), Millis(2_000)),
            "failed-old" => attempt_for(c, Outcome::Failed, Some(500), Millis(3_000)),
            "failed-recently" => attempt_for(c, Outcome::Failed, Some(500), Millis(200_000)),
            _ => attempt_for(
                c,
                Outcome::RetryAt(Millis(10_000_000)),
                Some(500),
                Millis(4_000),
            ),
        })
        .collect();
    store
        .record_attempts("n1", attempts, &KeepHealth)
        .await
        .unwrap();
    // A new event, after the cutoff, still pending; a hook test after it (the newest log row,
    // which is never pruned: the others are written in no particular order).
    enqueue(store, "fresh", h.id, 1, Millis(150_000)).await;
    log_newest_test(store, h.id).await;

    let log = store
        .list_attempts(h.id, StatusFilter::All, PAGE)
        .await
        .unwrap()
        .items;
    let (old, recent): (Vec<_>, Vec<_>) = log.iter().partition(|a| a.created_at < CUTOFF);
    assert_eq!((old.len(), recent.len()), (3, 2));
    let resendable = recent
        .iter()
        .find(|a| a.created_at == Millis(200_000))
        .unwrap()
        .id;

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
    assert!(
        !store
            .attempt_pruned(AttemptId(resendable.0 + 1_000))
            .await
            .unwrap()
    );

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
            Millis(300_000),
        )
        .await
        .expect("a pruned event's key is free");
    assert!(!again.duplicate);
    let kept_key = store
        .insert_event(
            new_event("x", Some("key-retrying")),
            vec![],
            Millis(300_000),
        )
        .await
        .unwrap();
    assert!(kept_key.duplicate);

    // However late the cutoff, what is pending or held stays.
    prune_all_events(store, Millis::MAX, 10).await;
    assert_eq!(counts(store).await.pending, 3);
}

/// Settled events and their log, `n` of each, all older than [`CUTOFF`], and a newer event.
pub(crate) async fn settled_history(store: &dyn Store, n: usize) {
    let h = hook(store, HookOwner::System).await;
    for i in 0..n {
        enqueue(store, &format!("old-{i}"), h.id, 1, Millis(1_000)).await;
    }
    // The hook's in-flight limit is ROOMY's 100: claimed and recorded a hundred at a time.
    let mut settled = 0;
    while settled < n {
        let claimed = claim(store, "n1", Millis(1_000), 100).await;
        assert!(!claimed.is_empty());
        settled += claimed.len();
        let attempts = claimed
            .iter()
            .map(|c| attempt_for(c, Outcome::Succeeded, Some(200), Millis(2_000)))
            .collect();
        store
            .record_attempts("n1", attempts, &KeepHealth)
            .await
            .unwrap();
    }
    enqueue(store, "fresh", h.id, 1, Millis(150_000)).await;
    // The newest log row, never pruned.
    log_newest_test(store, h.id).await;
}

/// Logs a hook test at 250 s: the newest log row, which pruning never removes.
async fn log_newest_test(store: &dyn Store, hook: HookId) {
    let test = attempt(
        hook,
        None,
        None,
        Outcome::Succeeded,
        Some(200),
        Millis(250_000),
    );
    store.log_attempt(test, &KeepHealth).await.unwrap();
}

/// Two nodes prune one database at once, in small batches: together they delete every
/// old row once, and neither fails.
pub(crate) async fn check_two_nodes_prune_side_by_side(a: &dyn Store, b: &dyn Store) {
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
