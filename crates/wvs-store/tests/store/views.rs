//! The Deliveries pages' reads, and project and group search.

use super::*;

/// The event uuids of a listing, in order.
pub(crate) fn uuids(listed: &Paged<DeliveryRecord>) -> Vec<&str> {
    listed.items.iter().map(|d| d.event_uuid.as_str()).collect()
}

pub(crate) async fn check_deliveries_view(store: &dyn Store) {
    let a = hook_with(store, HookOwner::System, ROOMY).await;
    let b = hook_with(store, HookOwner::System, ROOMY).await;
    for (uuid, hook, at) in [
        ("e1", a.id, 1_000),
        ("e2", a.id, 2_000),
        ("e3", b.id, 3_000),
        ("e4", a.id, 4_000),
    ] {
        enqueue(store, uuid, hook, 1, Millis(at)).await;
    }
    let claimed = claim(store, "n1", Millis(5_000), 10).await;
    assert_eq!(claimed.len(), 4);
    // e1 is given up, e2 waits for its retry, e3 succeeds, e4 stays in flight.
    for (claim, outcome) in claimed.iter().zip([
        Outcome::Failed,
        Outcome::RetryAt(Millis(9_000)),
        Outcome::Succeeded,
    ]) {
        record(
            store,
            "n1",
            std::slice::from_ref(claim),
            outcome,
            Millis(5_000),
        )
        .await;
    }
    // e5 is held by its disabled hook; e6 waits for its first attempt.
    enqueue(store, "e5", b.id, 1, Millis(6_000)).await;
    let resting = HookHealth {
        recent_failures: 4,
        backoff_count: 1,
        disabled_until: Some(Millis(100_000)),
        permanently_disabled: false,
    };
    store.set_hook_health(b.id, resting).await.unwrap();
    enqueue(store, "e6", a.id, 1, Millis(6_500)).await;

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
        store
            .list_deliveries(filter, Millis(now), page)
            .await
            .unwrap()
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
    assert_eq!(retrying.next_attempt_at, Millis(9_000));
    assert_eq!(retrying.trigger, "push_hooks");
    assert_eq!(retrying.event_at, Millis(2_000));
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
        from: Some(Millis(2_000)),
        to: Some(Millis(4_000)),
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
    let ids: Vec<DeliveryId> = listed.items.iter().map(|d| d.id).collect();
    let mut asked = vec![ids[5], ids[2], DeliveryId(999_999)];
    asked.sort_unstable();
    let states = store.delivery_states(&asked, Millis(now)).await.unwrap();
    let mut expected = vec![(ids[5], Failed), (ids[2], InFlight)];
    expected.sort_unstable_by_key(|(id, _)| *id);
    assert_eq!(states, expected);
    assert!(InFlight.will_be_sent() && Held.will_be_sent() && !Failed.will_be_sent());
    // Once the hook sends again, what it held is pending.
    let later = store
        .list_deliveries(&of_b, Millis(100_000), PAGE)
        .await
        .unwrap();
    assert_eq!(later.items[0].state, Pending);
}

pub(crate) async fn check_search_projects_and_groups(store: &dyn Store) {
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
