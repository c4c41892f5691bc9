//! Delivery limits: per-hook caps, ordered hooks, health, rate limits and namespace shares.

use super::*;
use std::time::Duration;

pub(crate) async fn hook_with(store: &dyn Store, owner: HookOwner, limits: DeliveryLimits) -> Hook {
    store
        .create_hook(
            NewHook {
                owner,
                url: "https://example.com/hook".into(),
                secrets: HookSecrets::default(),
                settings: json!({}),
                limits,
            },
            Millis(1),
        )
        .await
        .expect("create hook")
}

pub(crate) async fn claim(store: &dyn Store, owner: &str, now: Millis, limit: u32) -> Vec<Claimed> {
    store
        .claim_due(
            owner,
            now,
            now + Duration::from_secs(60),
            limit,
            RateLimit::UNLIMITED,
            &HashMap::new(),
        )
        .await
        .expect("claim")
}

/// Claims up to 100 deliveries due at `now` as `owner`, leased until `until`, under `rate`.
pub(crate) async fn claim_under(
    store: &dyn Store,
    owner: &str,
    now: Millis,
    until: Millis,
    rate: RateLimit,
) -> Vec<Claimed> {
    store
        .claim_due(owner, now, until, 100, rate, &HashMap::new())
        .await
        .unwrap()
}

pub(crate) async fn record(
    store: &dyn Store,
    owner: &str,
    claimed: &[Claimed],
    outcome: Outcome,
    at: Millis,
) {
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

pub(crate) fn hooks_of(claimed: &[Claimed]) -> Vec<HookId> {
    claimed.iter().map(|c| c.hook_id).collect()
}

pub(crate) async fn check_in_flight_limit_over_every_owner(store: &dyn Store) {
    let h = hook_with(store, HookOwner::System, DeliveryLimits::default()).await;
    enqueue(store, "e1", h.id, 10, Millis(1_000)).await;
    assert_eq!(claim(store, "n1", Millis(1_000), 3).await.len(), 3);
    let second = claim(store, "n2", Millis(1_000), 10).await;
    assert_eq!(second.len(), 1, "4 in flight at most, whoever claims");
    assert!(claim(store, "n1", Millis(1_000), 10).await.is_empty());
    // Two finish: two slots free up.
    record(store, "n2", &second, Outcome::Succeeded, Millis(1_100)).await;
    assert_eq!(claim(store, "n1", Millis(1_200), 10).await.len(), 1);
    // A lease that expires frees its slot too (and the delivery is claimed again).
    assert_eq!(claim(store, "n3", Millis(70_000), 10).await.len(), 4);
}

pub(crate) async fn check_hook_caps_hold_a_hook_below_its_limit(store: &dyn Store) {
    let limits = DeliveryLimits {
        max_in_flight: 6,
        ordered: false,
    };
    let capped = hook_with(store, HookOwner::System, limits).await;
    let over = hook_with(store, HookOwner::System, limits).await;
    let free = hook_with(store, HookOwner::System, limits).await;
    for h in [&capped, &over, &free] {
        enqueue(store, &format!("e{}", h.id), h.id, 10, Millis(1_000)).await;
    }
    // A cap below max_in_flight binds; one above it does not raise it; an unlisted hook
    // keeps its max_in_flight.
    let caps = HashMap::from([(capped.id, 2), (over.id, 50)]);
    let claim_capped = async |owner: &str, now: Millis| {
        store
            .claim_due(
                owner,
                now,
                now + Duration::from_secs(60),
                100,
                RateLimit::UNLIMITED,
                &caps,
            )
            .await
            .expect("claim")
    };
    let first = claim_capped("n1", Millis(1_000)).await;
    let per_hook =
        |claimed: &[Claimed], id: HookId| claimed.iter().filter(|c| c.hook_id == id).count();
    assert_eq!(per_hook(&first, capped.id), 2, "held at its cap");
    assert_eq!(
        per_hook(&first, over.id),
        6,
        "a cap never passes max_in_flight"
    );
    assert_eq!(per_hook(&first, free.id), 6);
    // Over every owner, and counted against what is already in flight.
    assert!(claim_capped("n2", Millis(1_000)).await.is_empty());
    let done: Vec<Claimed> = first
        .into_iter()
        .filter(|c| c.hook_id == capped.id)
        .take(1)
        .collect();
    record(store, "n1", &done, Outcome::Succeeded, Millis(1_100)).await;
    assert_eq!(
        hooks_of(&claim_capped("n2", Millis(1_200)).await),
        vec![capped.id]
    );
    // Without the cap, the hook has its max_in_flight again.
    assert_eq!(claim(store, "n2", Millis(1_300), 100).await.len(), 4);
}

pub(crate) async fn check_a_full_hook_does_not_block_others(store: &dyn Store) {
    let stuck = hook_with(store, HookOwner::System, DeliveryLimits::default()).await;
    let healthy = hook_with(store, HookOwner::System, DeliveryLimits::default()).await;
    enqueue(store, "backlog", stuck.id, 500, Millis(1_000)).await;
    assert_eq!(
        hooks_of(&claim(store, "n1", Millis(1_000), 256).await),
        vec![stuck.id; 4]
    );
    enqueue(store, "later", healthy.id, 1, Millis(2_000)).await;
    let next = claim(store, "n1", Millis(2_000), 256).await;
    assert_eq!(hooks_of(&next), vec![healthy.id]);
    assert_eq!(
        store.next_due_at(Millis(2_000)).await.unwrap(),
        Some(Millis(61_001)),
        "a full hook waits for a free slot (or its leases), not the clock"
    );
}

pub(crate) async fn check_ordered_hook(store: &dyn Store) {
    let ordered = DeliveryLimits {
        max_in_flight: 4,
        ordered: true,
    };
    let h = hook_with(store, HookOwner::System, ordered).await;
    let first = enqueue(store, "first", h.id, 1, Millis(1_000)).await;
    enqueue(store, "second", h.id, 1, Millis(1_000)).await;
    enqueue(store, "third", h.id, 1, Millis(1_001)).await;
    let head = claim(store, "n1", Millis(2_000), 10).await;
    assert_eq!(head.len(), 1, "one in flight");
    assert_eq!(head[0].event_id, first.event_id);
    assert!(claim(store, "n2", Millis(2_000), 10).await.is_empty());
    // It fails: nothing behind it passes until it is retried.
    record(
        store,
        "n1",
        &head,
        Outcome::RetryAt(Millis(5_000)),
        Millis(2_100),
    )
    .await;
    assert!(claim(store, "n1", Millis(4_999), 10).await.is_empty());
    assert_eq!(
        store.next_due_at(Millis(2_100)).await.unwrap(),
        Some(Millis(5_000))
    );
    let again = claim(store, "n1", Millis(5_000), 10).await;
    assert_eq!(ids(&again), ids(&head));
    record(store, "n1", &again, Outcome::Succeeded, Millis(5_100)).await;
    let uuids: Vec<String> = [claim(store, "n1", Millis(5_200), 10).await]
        .iter()
        .flatten()
        .map(|c| c.event_uuid.clone())
        .collect();
    assert_eq!(uuids, vec!["second"]);
}

pub(crate) async fn check_disabled_hooks_hold_their_deliveries(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 2, Millis(1_000)).await;
    let resting = HookHealth {
        recent_failures: 4,
        backoff_count: 1,
        disabled_until: Some(Millis(61_000)),
        permanently_disabled: false,
    };
    store.set_hook_health(h.id, resting).await.unwrap();
    assert!(claim(store, "n1", Millis(60_999), 10).await.is_empty());
    assert_eq!(
        store.next_due_at(Millis(1_000)).await.unwrap(),
        Some(Millis(61_000))
    );
    // Events that arrive meanwhile wait too.
    enqueue(store, "e2", h.id, 1, Millis(30_000)).await;
    assert!(claim(store, "n1", Millis(30_000), 10).await.is_empty());
    assert_eq!(claim(store, "n1", Millis(61_000), 10).await.len(), 3);
    store.release_claims("n1", Millis(61_000)).await.unwrap();

    let dead = HookHealth {
        recent_failures: 40,
        permanently_disabled: true,
        ..HookHealth::default()
    };
    store.set_hook_health(h.id, dead).await.unwrap();
    enqueue(store, "e3", h.id, 1, Millis(62_000)).await;
    assert!(claim(store, "n1", Millis(10_000_000), 10).await.is_empty());
    assert_eq!(
        store.next_due_at(Millis(0)).await.unwrap(),
        None,
        "held, not due"
    );
    assert_eq!(counts(store).await.pending, 4, "nothing dropped");
    store
        .set_hook_health(h.id, HookHealth::default())
        .await
        .unwrap();
    assert_eq!(claim(store, "n1", Millis(10_000_000), 10).await.len(), 4);
}

/// Disables a hook after two failures in a row; any success heals it.
pub(crate) struct TwoStrikes;

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
                    disabled_until: (failures >= 2).then_some(now + Duration::from_secs(10)),
                    ..health.clone()
                }
            }
        }
    }
}

/// A failed attempt retried later, whose failure also changes its hook's health, leaves the
/// hook due at the retry (the health write makes the hook due as its deliveries say, and
/// the delivery retried is one of them).
pub(crate) async fn check_a_retry_that_changes_health_is_due(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 1, Millis(1_000)).await;
    let claimed = claim(store, "n1", Millis(1_000), 10).await;
    let mut retry = attempt_for(
        &claimed[0],
        Outcome::RetryAt(Millis(4_000)),
        Some(500),
        Millis(1_100),
    );
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
    assert_eq!(
        store.next_due_at(Millis(1_100)).await.unwrap(),
        Some(Millis(4_000))
    );
    assert_eq!(
        ids(&claim(store, "n1", Millis(4_000), 10).await),
        ids(&claimed)
    );
}

pub(crate) async fn check_health_is_folded_in_as_attempts_are_recorded(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 3, Millis(1_000)).await;
    let claimed = claim(store, "n1", Millis(1_000), 2).await;
    let failed = |c: &Claimed, at| Attempt {
        health: HealthEffect::Failure,
        ..attempt_for(c, Outcome::RetryAt(Millis(2_000)), Some(500), at)
    };
    let attempts = vec![
        failed(&claimed[0], Millis(1_100)),
        failed(&claimed[1], Millis(1_200)),
    ];
    store
        .record_attempts("n1", attempts, &TwoStrikes)
        .await
        .unwrap();
    let health = store.hook(h.id).await.unwrap().unwrap().health;
    assert_eq!(
        (health.recent_failures, health.disabled_until),
        (2, Some(Millis(11_200))),
        "both attempts of the batch counted, in order"
    );
    assert!(
        claim(store, "n1", Millis(5_000), 10).await.is_empty(),
        "held"
    );
    // A successful test (outside the queue) heals it and the backlog flows again.
    let test = Attempt {
        health: HealthEffect::Success,
        ..attempt(
            h.id,
            None,
            None,
            Outcome::Succeeded,
            Some(200),
            Millis(5_000),
        )
    };
    store.log_attempt(test, &TwoStrikes).await.unwrap();
    assert_eq!(
        store.hook(h.id).await.unwrap().unwrap().health,
        HookHealth::default()
    );
    assert_eq!(claim(store, "n1", Millis(5_000), 10).await.len(), 3);
}

pub(crate) async fn check_rate_limit_per_namespace(store: &dyn Store) {
    let a = hook(store, HookOwner::System).await;
    let b = hook(store, HookOwner::System).await;
    let system = hook(store, HookOwner::System).await;
    let keyed = |hook_id, n, key: Option<RateKey>| NewDelivery {
        rate_key: key,
        ..delivery(hook_id, n)
    };
    for n in 0..3 {
        let deliveries = vec![
            keyed(a.id, n, Some(RateKey::Group(GroupId(1)))),
            keyed(b.id, n, Some(RateKey::Group(GroupId(1)))),
            keyed(system.id, n, None),
        ];
        store
            .insert_event(new_event(&format!("e{n}"), None), deliveries, Millis(1_000))
            .await
            .unwrap();
    }
    let rate = RateLimit {
        calls: 4,
        window: Duration::from_secs(60),
        in_flight: 0,
    };
    let first = claim_under(store, "n1", Millis(1_000), Millis(100_000), rate).await;
    let limited = first.iter().filter(|c| c.hook_id != system.id).count();
    assert_eq!(
        (first.len(), limited),
        (7, 4),
        "4 calls for group:1, system hooks unlimited"
    );
    assert!(first.iter().all(|c| !c.rate_limited));
    assert!(
        claim_under(store, "n1", Millis(59_999), Millis(100_000), rate)
            .await
            .is_empty()
    );
    assert_eq!(
        store.next_due_at(Millis(1_000)).await.unwrap(),
        Some(Millis(60_000))
    );
    let next = claim_under(store, "n1", Millis(60_000), Millis(100_000), rate).await;
    assert_eq!(next.len(), 2, "waited for the next window, not dropped");
    assert!(
        next.iter().all(|c| c.rate_limited),
        "and say they were delayed"
    );
}

pub(crate) async fn check_chain_hooks(store: &dyn Store) {
    let a = hook(store, HookOwner::System).await;
    let b = hook(store, HookOwner::System).await;
    let chained = |uuid: &str| NewEvent {
        chain_uuid: "chain".into(),
        ..new_event(uuid, None)
    };
    assert!(store.chain_hooks("chain").await.unwrap().is_empty());
    store
        .insert_event(chained("one"), vec![delivery(a.id, 0)], Millis(1))
        .await
        .unwrap();
    let second = store
        .insert_event(chained("two"), vec![delivery(b.id, 0)], Millis(2))
        .await
        .unwrap();
    assert_eq!(
        second.event_uuid, "chain",
        "the chain's uuid is the event's public uuid"
    );
    assert_eq!(store.chain_hooks("chain").await.unwrap(), vec![a.id, b.id]);
    assert!(store.chain_hooks("one").await.unwrap().is_empty());
}

/// No top-level namespace has more than its share in flight (over every owner); the system
/// hooks have a share of their own; a tenant's recorded attempts free its share.
pub(crate) async fn check_namespace_share(store: &dyn Store) {
    let a = group(store, None, "a", None).await;
    let sub = group(store, None, "sub", Some(a.id)).await;
    let b = group(store, None, "b", None).await;
    let deep = project(store, "p", Some(sub.id), None).await;
    let other = project(store, "q", Some(b.id), None).await;
    let mut busy = Vec::new();
    for n in 0..3 {
        busy.push(hook_with(store, HookOwner::Project(deep.id), ROOMY).await);
        enqueue(store, &format!("a{n}"), busy[n].id, 2, Millis(1_000)).await;
    }
    let group_hook = hook_with(store, HookOwner::Group(a.id), ROOMY).await;
    enqueue(store, "ag", group_hook.id, 2, Millis(1_000)).await;
    let quiet = hook_with(store, HookOwner::Project(other.id), ROOMY).await;
    enqueue(store, "b", quiet.id, 2, Millis(1_000)).await;
    let system = hook_with(store, HookOwner::System, ROOMY).await;
    enqueue(store, "s", system.id, 3, Millis(1_000)).await;
    let share = RateLimit {
        in_flight: 2,
        ..RateLimit::UNLIMITED
    };
    let tenant_a: HashSet<HookId> = busy.iter().chain([&group_hook]).map(|h| h.id).collect();
    let of_a = |claimed: &[Claimed]| {
        claimed
            .iter()
            .filter(|c| tenant_a.contains(&c.hook_id))
            .count()
    };
    let first = claim_under(store, "n1", Millis(1_000), Millis(60_000), share).await;
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
    let second = claim_under(store, "n2", Millis(1_000), Millis(60_000), share).await;
    assert_eq!(second.len(), 0, "{:?}", hooks_of(&second));
    // What a records frees its share, and only its own.
    let of_a_claimed: Vec<Claimed> = first
        .into_iter()
        .filter(|c| tenant_a.contains(&c.hook_id))
        .collect();
    record(
        store,
        "n1",
        &of_a_claimed,
        Outcome::Succeeded,
        Millis(1_001),
    )
    .await;
    let third = claim_under(store, "n2", Millis(1_001), Millis(60_000), share).await;
    assert_eq!((of_a(&third), third.len()), (2, 2));
}

/// A project moved to another namespace counts towards its new namespace's share from the
/// next claim on, what it already has in flight included (a store that remembers each
/// hook's namespace forgets it at the move).
pub(crate) async fn check_namespace_share_follows_a_transfer(store: &dyn Store) {
    let a = group(store, None, "a", None).await;
    let b = group(store, None, "b", None).await;
    let p = project(store, "p", Some(a.id), None).await;
    let q = project(store, "q", Some(b.id), None).await;
    let r = project(store, "r", Some(b.id), None).await;
    let of_p = hook_with(store, HookOwner::Project(p.id), ROOMY).await;
    let of_q = hook_with(store, HookOwner::Project(q.id), ROOMY).await;
    let of_r = hook_with(store, HookOwner::Project(r.id), ROOMY).await;
    enqueue(store, "p", of_p.id, 2, Millis(1_000)).await;
    enqueue(store, "q", of_q.id, 4, Millis(1_000)).await;
    enqueue(store, "r", of_r.id, 2, Millis(1_000)).await;
    let share = RateLimit {
        in_flight: 2,
        ..RateLimit::UNLIMITED
    };
    let claim = async |owner: &str| {
        let claimed = claim_under(store, owner, Millis(1_000), Millis(60_000), share).await;
        hooks_of(&claimed)
    };
    // a: p's 2; b: 2 of q's (q is due first), none of r's.
    let first = claim("n1").await;
    assert_eq!(
        (first.len(), first.iter().filter(|h| **h == of_q.id).count()),
        (4, 2)
    );
    store
        .update_project(
            q.id,
            ProjectUpdate {
                namespace_id: Some(Some(a.id)),
                ..ProjectUpdate::default()
            },
            Millis(1_000),
        )
        .await
        .unwrap();
    // a has 4 in flight now (p's and q's), b none: r gets b's share, q nothing more.
    assert_eq!(claim("n2").await, vec![of_r.id, of_r.id]);
}

/// A namespace's share binds only while another namespace has due work: alone, one tenant
/// takes every slot it can; once another tenant's deliveries fall due, that one gets its
/// share and the first nothing more until it is back under its own.
pub(crate) async fn check_namespace_share_binds_only_with_other_due_work(store: &dyn Store) {
    let a = group(store, None, "a", None).await;
    let b = group(store, None, "b", None).await;
    let busy = project(store, "p", Some(a.id), None).await;
    let other = project(store, "q", Some(b.id), None).await;
    let share = RateLimit {
        in_flight: 2,
        ..RateLimit::UNLIMITED
    };
    let claim_shared =
        async |now: Millis| claim_under(store, "n1", now, Millis(60_000), share).await;
    let mut tenant_a = Vec::new();
    for n in 0..3 {
        let hook = hook_with(store, HookOwner::Project(busy.id), ROOMY).await;
        enqueue(store, &format!("a{n}"), hook.id, 2, Millis(1_000)).await;
        tenant_a.push(hook.id);
    }
    assert_eq!(
        claim_shared(Millis(1_000)).await.len(),
        6,
        "alone: past its share of 2"
    );

    enqueue(store, "a-more", tenant_a[0], 2, Millis(1_001)).await;
    let quiet = hook_with(store, HookOwner::Project(other.id), ROOMY).await;
    enqueue(store, "b", quiet.id, 3, Millis(1_001)).await;
    let next = claim_shared(Millis(1_001)).await;
    assert_eq!(
        hooks_of(&next),
        vec![quiet.id; 2],
        "b has work: b gets its share, a (over its own) nothing"
    );
    assert!(
        claim_shared(Millis(1_002)).await.is_empty(),
        "both at their share and both with due work"
    );
}

/// The dispatcher's caps: a listed hook has at most the smaller of its cap and its
/// `max_in_flight` in flight; an unlisted one its `max_in_flight`.
pub(crate) async fn check_hook_caps(store: &dyn Store) {
    let capped = hook_with(store, HookOwner::System, ROOMY).await;
    let strict = hook_with(store, HookOwner::System, DeliveryLimits::default()).await;
    let unlisted = hook_with(store, HookOwner::System, ROOMY).await;
    for (n, hook) in [&capped, &strict, &unlisted].into_iter().enumerate() {
        enqueue(store, &format!("e{n}"), hook.id, 10, Millis(1_000)).await;
    }
    let count =
        |claimed: &[Claimed], hook: &Hook| claimed.iter().filter(|c| c.hook_id == hook.id).count();
    let claim_capped = async |caps: &HashMap<HookId, u32>| {
        store
            .claim_due(
                "n1",
                Millis(1_000),
                Millis(60_000),
                100,
                RateLimit::UNLIMITED,
                caps,
            )
            .await
            .unwrap()
    };
    let first = claim_capped(&HashMap::from([(capped.id, 3), (strict.id, 50)])).await;
    assert_eq!(count(&first, &capped), 3, "its cap");
    assert_eq!(
        count(&first, &strict),
        4,
        "its max_in_flight, under the cap"
    );
    assert_eq!(count(&first, &unlisted), 10, "its max_in_flight");
    // The cap rises: the difference is free.
    let second = claim_capped(&HashMap::from([(capped.id, 5), (strict.id, 50)])).await;
    assert_eq!(hooks_of(&second), vec![capped.id; 2]);
}
