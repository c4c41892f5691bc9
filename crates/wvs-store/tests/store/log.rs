//! The delivery log: attempts listed, and their bodies kept as sent and received.

use super::*;

pub(crate) async fn check_list_attempts(store: &dyn Store) {
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
                attempt(
                    h.id,
                    None,
                    None,
                    Outcome::Succeeded,
                    status,
                    Millis(n as i64),
                ),
                &KeepHealth,
            )
            .await
            .unwrap();
        logged.push(id);
    }
    store
        .log_attempt(
            attempt(
                other.id,
                None,
                None,
                Outcome::Succeeded,
                Some(404),
                Millis(0),
            ),
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
        ("push_hooks", Millis(5), h.id)
    );
}

pub(crate) async fn check_attempt_body(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    let other = hook(store, HookOwner::System).await;
    let inserted = enqueue(store, "e1", h.id, 1, Millis(1_000)).await;
    let payload = new_event("e1", None).payload;

    // The event's payload, joined; not copied into the log.
    let claimed = store
        .claim_due(
            "n1",
            Millis(1_000),
            Millis(60_000),
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
                Millis(1_100),
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
            Millis(1_200),
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
            attempt(h.id, None, None, Outcome::Succeeded, None, Millis(1_300)),
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
    assert_eq!(store.attempt(h.id, AttemptId(9999)).await.unwrap(), None);
}

/// A receiver's reply is stored as the bytes it sent: NUL, invalid UTF-8, binary (PostgreSQL's
/// `text` refuses the first two, which once stopped a node's recording).
pub(crate) async fn check_foreign_reply_bytes_are_kept(store: &dyn Store) {
    let hook = hook_with(store, HookOwner::System, ROOMY).await;
    enqueue(store, "e1", hook.id, 1, Millis(1_000)).await;
    let claimed = claim(store, "n1", Millis(1_000), 10).await;
    let reply = b"ok\0nul \xff\xfe not UTF-8 \x89PNG\r\n\x1a\n".to_vec();
    let mut attempt = attempt_for(&claimed[0], Outcome::Succeeded, Some(200), Millis(1_001));
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
