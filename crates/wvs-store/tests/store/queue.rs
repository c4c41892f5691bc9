//! Events and the delivery queue: ingest, idempotency, claims, leases and records.

use super::*;

pub(crate) async fn check_insert_event_idempotency(store: &dyn Store) {
    let system = hook(store, HookOwner::System).await;
    let deliveries = |n: usize| (0..n).map(|i| delivery(system.id, i)).collect::<Vec<_>>();

    let first = store
        .insert_event(new_event("e1", Some("k1")), deliveries(2), Millis(10))
        .await
        .unwrap();
    assert_eq!(
        (first.event_uuid.as_str(), first.deliveries, first.duplicate),
        ("e1", 2, false)
    );
    let again = store
        .insert_event(new_event("e2", Some("k1")), deliveries(3), Millis(11))
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
        .insert_event(other_body("e2b", "k1"), deliveries(1), Millis(11))
        .await;
    assert!(
        matches!(reused, Err(StoreError::IdempotencyKeyReused)),
        "{reused:?}"
    );
    assert_eq!(counts(store).await.pending, 2);

    // No key: every post is a new event. A reused event uuid is refused.
    let a = store
        .insert_event(new_event("e3", None), deliveries(1), Millis(12))
        .await
        .unwrap();
    let b = store
        .insert_event(new_event("e4", None), deliveries(1), Millis(12))
        .await
        .unwrap();
    assert_ne!(a.event_id, b.event_id);
    assert!(!a.duplicate && !b.duplicate);
    let reused = store
        .insert_event(new_event("e4", None), deliveries(1), Millis(12))
        .await;
    assert!(
        matches!(reused, Err(StoreError::Conflict("event"))),
        "{reused:?}"
    );
    assert_eq!(counts(store).await.pending, 4);

    // No deliveries at all is a valid event; a delivery for a hook deleted since routing is
    // dropped, not an error.
    let quiet = store
        .insert_event(new_event("e5", Some("k2")), Vec::new(), Millis(13))
        .await
        .unwrap();
    assert_eq!(quiet.deliveries, 0);
    let gone = self::hook(store, HookOwner::System).await;
    store.delete_hook(gone.id).await.unwrap();
    let partial = store
        .insert_event(
            new_event("e6", None),
            vec![delivery(system.id, 0), delivery(gone.id, 0)],
            Millis(14),
        )
        .await
        .unwrap();
    assert_eq!(partial.deliveries, 1);

    // A large fan-out spans several multi-row statements.
    let big = store
        .insert_event(new_event("e7", None), deliveries(1_234), Millis(15))
        .await
        .unwrap();
    assert_eq!(big.deliveries, 1_234);
    assert_eq!(counts(store).await.pending, 4 + 1 + 1_234);
}

pub(crate) async fn check_latest_event(store: &dyn Store) {
    let g = group(store, None, "g", None).await;
    let p = project(store, "p", Some(g.id), None).await;
    let event = |uuid: &str, kind: &str, project_id| NewEvent {
        kind: kind.into(),
        project_id,
        ..new_event(uuid, None)
    };
    assert_eq!(store.latest_event(Some(p.id), "push").await.unwrap(), None);
    store
        .insert_event(event("a", "push", Some(p.id)), Vec::new(), Millis(1))
        .await
        .unwrap();
    store
        .insert_event(event("b", "push", Some(p.id)), Vec::new(), Millis(2))
        .await
        .unwrap();
    store
        .insert_event(event("c", "issue", Some(p.id)), Vec::new(), Millis(3))
        .await
        .unwrap();
    store
        .insert_event(event("d", "push", None), Vec::new(), Millis(4))
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
    assert_eq!(latest.created_at, Millis(2));
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
pub(crate) async fn check_new_deliveries_bring_their_hook_forward(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "later", h.id, 1, Millis(5_000)).await;
    assert_eq!(
        store.next_due_at(Millis(0)).await.unwrap(),
        Some(Millis(5_000))
    );
    enqueue(store, "sooner", h.id, 1, Millis(2_000)).await;
    assert_eq!(
        store.next_due_at(Millis(0)).await.unwrap(),
        Some(Millis(2_000))
    );
    enqueue(store, "after", h.id, 1, Millis(3_000)).await;
    assert_eq!(
        store.next_due_at(Millis(0)).await.unwrap(),
        Some(Millis(2_000))
    );
    let claimed = store
        .claim_due(
            "n1",
            Millis(2_000),
            Millis(60_000),
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].event_uuid, "sooner");
}

pub(crate) async fn check_claim_and_record(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    assert_eq!(store.next_due_at(Millis(0)).await.unwrap(), None);
    let inserted = enqueue(store, "e1", h.id, 3, Millis(1_000)).await;
    assert_eq!(
        store.next_due_at(Millis(0)).await.unwrap(),
        Some(Millis(1_000))
    );

    // Not due before its time.
    assert!(
        store
            .claim_due(
                "n1",
                Millis(999),
                Millis(60_000),
                10,
                RateLimit::UNLIMITED,
                &HashMap::new()
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_due(
                "n1",
                Millis(1_000),
                Millis(60_000),
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
            Millis(1_000),
            Millis(60_000),
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
                Millis(1_000),
                Millis(60_000),
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
                attempt_for(&claimed[0], Outcome::Succeeded, Some(200), Millis(1_100)),
                attempt_for(
                    &claimed[1],
                    Outcome::RetryAt(Millis(5_000)),
                    Some(500),
                    Millis(1_100),
                ),
                attempt_for(&claimed[2], Outcome::Failed, None, Millis(1_100)),
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
    assert_eq!(
        store.next_due_at(Millis(0)).await.unwrap(),
        Some(Millis(5_000))
    );
    assert!(
        store
            .claim_due(
                "n1",
                Millis(4_999),
                Millis(60_000),
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
            Millis(5_000),
            Millis(60_000),
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
                Millis(5_100),
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
    assert_eq!(store.next_due_at(Millis(0)).await.unwrap(), None);
    assert!(
        store
            .claim_due(
                "n1",
                Millis(i64::MAX - 1),
                Millis::MAX,
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

pub(crate) async fn check_claim_order_and_limit(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "late", h.id, 2, Millis(3_000)).await;
    enqueue(store, "early", h.id, 2, Millis(1_000)).await;
    enqueue(store, "middle", h.id, 2, Millis(2_000)).await;
    let first = store
        .claim_due(
            "n1",
            Millis(10_000),
            Millis(60_000),
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
            Millis(10_000),
            Millis(60_000),
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    let uuids: Vec<&str> = rest.iter().map(|c| c.event_uuid.as_str()).collect();
    assert_eq!(uuids, vec!["middle", "late", "late"]);
}

pub(crate) async fn check_lease_expiry(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 1, Millis(1_000)).await;
    let first = store
        .claim_due(
            "n1",
            Millis(1_000),
            Millis(2_000),
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        store.next_due_at(Millis(0)).await.unwrap(),
        Some(Millis(2_001)),
        "claimable once the lease has expired"
    );
    assert!(
        store
            .claim_due(
                "n2",
                Millis(2_000),
                Millis(9_000),
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
            Millis(2_001),
            Millis(9_000),
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
            vec![attempt_for(
                &first[0],
                Outcome::Succeeded,
                Some(200),
                Millis(2_500),
            )],
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
                Outcome::RetryAt(Millis(3_000)),
                Some(502),
                Millis(2_600),
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
            Millis(3_000),
            Millis(9_000),
            10,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 1, "only the owner's attempt counted");
}

pub(crate) async fn check_release_claims(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 3, Millis(1_000)).await;
    let mine = store
        .claim_due(
            "n1",
            Millis(1_000),
            Millis(60_000),
            2,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    let theirs = store
        .claim_due(
            "n2",
            Millis(1_000),
            Millis(60_000),
            2,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .unwrap();
    assert_eq!((mine.len(), theirs.len()), (2, 1));

    assert_eq!(store.release_claims("n1", Millis(1_500)).await.unwrap(), 2);
    assert_eq!(store.release_claims("n1", Millis(1_500)).await.unwrap(), 0);
    assert_eq!(
        counts(store).await,
        DeliveryCounts {
            pending: 2,
            in_flight: 1,
            ..DeliveryCounts::default()
        }
    );
    assert_eq!(
        store.next_due_at(Millis(0)).await.unwrap(),
        Some(Millis(1_500))
    );
    assert!(
        store
            .claim_due(
                "n3",
                Millis(1_499),
                Millis(60_000),
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
            Millis(1_500),
            Millis(60_000),
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
            vec![attempt_for(
                &mine[0],
                Outcome::Failed,
                Some(500),
                Millis(1_600),
            )],
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

pub(crate) async fn check_record_after_hook_deleted(store: &dyn Store) {
    let kept = hook(store, HookOwner::System).await;
    let doomed = hook(store, HookOwner::System).await;
    enqueue(store, "e1", kept.id, 1, Millis(1_000)).await;
    enqueue(store, "e2", doomed.id, 1, Millis(1_000)).await;
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
    assert_eq!(claimed.len(), 2);
    store.delete_hook(doomed.id).await.unwrap();
    let attempts = claimed
        .iter()
        .map(|c| attempt_for(c, Outcome::Succeeded, Some(200), Millis(1_100)))
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
            attempt(
                doomed.id,
                None,
                None,
                Outcome::Succeeded,
                Some(200),
                Millis(1),
            ),
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
pub(crate) async fn check_concurrent_claimers(a: &dyn Store, b: &dyn Store) {
    let h = hook(a, HookOwner::System).await;
    for n in 0..4 {
        enqueue(a, &format!("e{n}"), h.id, 500, Millis(1_000)).await;
    }
    let drain = async |store: &dyn Store, owner: &str| {
        let mut seen = Vec::new();
        loop {
            let delivered = deliver_due(store, owner, Millis(2_000), 37).await;
            if delivered.is_empty() {
                return seen;
            }
            seen.extend(delivered);
        }
    };
    let (from_a, from_b) = tokio::join!(drain(a, "node-a"), drain(b, "node-b"));
    let all: HashSet<DeliveryId> = from_a.iter().chain(&from_b).copied().collect();
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

/// Claims up to `limit` deliveries due at `now` as `owner` and records each as delivered;
/// their ids.
async fn deliver_due(store: &dyn Store, owner: &str, now: Millis, limit: u32) -> Vec<DeliveryId> {
    let claimed = store
        .claim_due(
            owner,
            now,
            Millis(600_000),
            limit,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .expect("claim");
    if claimed.is_empty() {
        return Vec::new();
    }
    let attempts = claimed
        .iter()
        .map(|c| attempt_for(c, Outcome::Succeeded, Some(200), now))
        .collect();
    store
        .record_attempts(owner, attempts, &KeepHealth)
        .await
        .expect("record");
    ids(&claimed)
}

/// Events keep arriving while two claimers drain the hook: each claim reads one moment of
/// the queue while ingests commit around it, and no delivery may be stranded (pending with
/// its hook not due) or claimed twice.
pub(crate) async fn check_ingest_beside_claims(a: &dyn Store, b: &dyn Store) {
    const EVENTS: usize = 300;
    let h = hook(a, HookOwner::System).await;
    let ingest = async {
        for n in 0..EVENTS {
            let now = Millis(1_000 + i64::try_from(n).unwrap());
            let store = if n % 2 == 0 { a } else { b };
            enqueue(store, &format!("beside-{n}"), h.id, 2, now).await;
            if n % 10 == 0 {
                tokio::task::yield_now().await;
            }
        }
    };
    let drain = async |store: &dyn Store, owner: &str| {
        let mut seen = Vec::new();
        // Bounded: every delivery is in by then, or the check fails below.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            let delivered = deliver_due(store, owner, Millis(10_000), 7).await;
            if delivered.is_empty() {
                if counts(store).await.succeeded >= 2 * EVENTS as u64 {
                    return seen;
                }
                // The rest is still being ingested (a stranded delivery, pending with its
                // hook not due, waits here until the deadline, and fails the count below).
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                continue;
            }
            seen.extend(delivered);
        }
        seen
    };
    let ((), from_a, from_b) = tokio::join!(ingest, drain(a, "node-a"), drain(b, "node-b"));
    let all: HashSet<DeliveryId> = from_a.iter().chain(&from_b).copied().collect();
    assert_eq!(
        all.len(),
        from_a.len() + from_b.len(),
        "a delivery was claimed twice"
    );
    assert_eq!(
        counts(a).await,
        DeliveryCounts {
            succeeded: 2 * EVENTS as u64,
            ..DeliveryCounts::default()
        },
        "every delivery was claimed and recorded"
    );
}

/// Concurrent inserts share commits (group commit): every one is stored once and answered
/// with its own outcome; a repeated idempotency key within the same burst is a duplicate of
/// the first; an event that cannot be stored (its uuid is taken) fails alone.
pub(crate) async fn check_concurrent_inserts_are_each_answered(store: &dyn Store) {
    let hook = hook(store, HookOwner::System).await;
    enqueue(store, "taken", hook.id, 1, Millis(1)).await;
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
                .insert_event(event, vec![delivery(hook.id, n)], Millis(2))
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
            store.insert_event(event, routed, Millis(3)).await.unwrap()
        }
    });
    // Within the burst, a key stored before and a key of this burst, each with another
    // body: refused alone, whichever commit they join.
    let reused = ["same-key", "twice-in-burst"].map(|key| async move {
        let routed = vec![delivery(hook.id, 99)];
        store
            .insert_event(other_body(&format!("reused-{key}"), key), routed, Millis(3))
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

/// Payloads over a MiB are stored in parts and read back whole wherever a payload is read:
/// by a claim, as the latest event of its kind, and as the body a log row shows.
pub(crate) async fn check_large_payloads_are_read_back_whole(store: &dyn Store) {
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
            .insert_event(event, vec![delivery(hook.id, n)], Millis(1_000))
            .await
            .unwrap();
        let claimed = claim(store, "n1", Millis(1_000), 10).await;
        assert_eq!(claimed.len(), 1);
        assert!(
            claimed[0].payload == payload,
            "claimed payload of {size} bytes"
        );
        let latest = store.latest_event(None, "push").await.unwrap().unwrap();
        assert!(latest.payload == payload, "latest event of {size} bytes");
        let mut attempt = attempt_for(&claimed[0], Outcome::Succeeded, Some(200), Millis(1_001));
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
