//! The request headers of the delivery log: stored once per header set, read back exactly as
//! logged (rows from before header sets too).

use wvs_events::headers::WEBHOOK_SIGNATURE;
use wvs_events::{DeliveryHeaders, Flavor, SigningSecret};

use super::*;

/// What a check reads or writes behind the store's back.
pub(crate) enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    pub(crate) async fn header_sets(&self) -> i64 {
        const SQL: &str = "SELECT count(*) FROM header_sets";
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
            Raw::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
        }
        .expect("count header sets")
    }

    /// Logs a row as the store did before header sets: every header in `request_headers`.
    async fn old_row(&self, hook_id: HookId, request_headers: &str) -> AttemptId {
        const SQL: &str = "INSERT INTO attempts (hook_id, trigger, url, request_headers, \
             response_headers, response_body, execution_duration, created_at) \
             VALUES ($1, 'push_hooks', 'https://example.com/hook', $2, '[]', '', 0.5, 7) \
             RETURNING id";
        match self {
            Raw::Sqlite(pool) => {
                sqlx::query_scalar(SQL)
                    .bind(hook_id)
                    .bind(request_headers)
                    .fetch_one(pool)
                    .await
            }
            Raw::Postgres(pool) => {
                sqlx::query_scalar(SQL)
                    .bind(hook_id)
                    .bind(request_headers)
                    .fetch_one(pool)
                    .await
            }
        }
        .expect("old row")
    }
}

/// The headers the sender logs for one attempt: the delivery headers of a signed hook with a
/// token (a new webhook UUID for each, as the server makes), secrets redacted, then two
/// custom headers of one name.
pub(crate) fn sent(
    hook: &Hook,
    instance: &str,
    event_uuid: &str,
    at: i64,
) -> Vec<(String, String)> {
    let secret = SigningSecret::generate();
    let key = format!("{event_uuid}-{}", hook.uuid);
    let webhook_uuid = uuid::Uuid::new_v4().to_string();
    let delivery = DeliveryHeaders {
        flavor: Flavor::Gitlab,
        event_header: "Push Hook",
        token: Some("tok"),
        event_uuid,
        webhook_uuid: &webhook_uuid,
        instance,
        idempotency_key: &key,
        signing_secrets: std::slice::from_ref(&secret),
        timestamp: at,
        version: "17.0",
    };
    let redacted = |name: &str| name == WEBHOOK_SIGNATURE || name == Flavor::Gitlab.token();
    delivery
        .build(b"{}")
        .into_iter()
        .map(|(name, value)| match redacted(name) {
            true => (name.to_owned(), "[REDACTED]".to_owned()),
            false => (name.to_owned(), value),
        })
        .chain([
            ("X-Extra".to_owned(), "[REDACTED]".to_owned()),
            ("X-Extra".to_owned(), "[REDACTED]".to_owned()),
        ])
        .collect()
}

fn with_headers(mut attempt: Attempt, headers: Vec<(String, String)>) -> Attempt {
    attempt.request_headers = headers;
    attempt
}

/// Headers logged through both write paths (a claimed delivery's record, a test's log) read
/// back identical, in order; so do an attempt with none and one of the old shape.
pub(crate) async fn check_request_headers_read_back_as_logged(store: &dyn Store) {
    let h = hook(store, HookOwner::System).await;
    enqueue(store, "e1", h.id, 2, Millis(1_000)).await;
    let claimed = claim(store, "n1", Millis(1_000), 10).await;
    let recorded: Vec<_> = claimed
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let headers = sent(
                &h,
                "https://a.example",
                &format!("ev-{n}"),
                1_000 + n as i64,
            );
            let attempt = attempt_for(c, Outcome::Succeeded, Some(200), Millis(1_100));
            with_headers(attempt, headers)
        })
        .collect();
    store
        .record_attempts("n1", recorded.clone(), &KeepHealth)
        .await
        .unwrap();
    let tested = with_headers(
        answered(h.id, Millis(1_200)),
        sent(&h, "https://a.example", "ev-test", 1_200),
    );
    let unsent = with_headers(
        attempt(h.id, None, None, Outcome::Failed, None, Millis(1_300)),
        Vec::new(),
    );
    for logged in [&tested, &unsent] {
        store
            .log_attempt(logged.clone(), &KeepHealth)
            .await
            .unwrap();
    }
    let page = store
        .list_attempts(h.id, StatusFilter::All, PAGE)
        .await
        .unwrap();
    let read: Vec<_> = page
        .items
        .iter()
        .rev()
        .map(|a| &a.request_headers)
        .collect();
    let written: Vec<_> = recorded
        .iter()
        .chain([&tested, &unsent])
        .map(|a| &a.request_headers)
        .collect();
    assert_eq!(read, written);
    let one = store
        .attempt(h.id, page.items[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.request_headers, tested.request_headers);
}

/// Many rows of one hook share one header set; so does another hook whose headers have the
/// same shape. A hook with other custom headers, or another instance URL (a setting changed
/// between attempts), is another set.
pub(crate) async fn check_rows_share_their_header_set(store: &dyn Store, raw: &Raw) {
    let a = hook(store, HookOwner::System).await;
    let b = hook(store, HookOwner::System).await;
    let before = raw.header_sets().await;
    enqueue(store, "e1", a.id, 20, Millis(1_000)).await;
    let claimed = claim(store, "n1", Millis(1_000), 20).await;
    let attempts = claimed
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let headers = sent(&a, "https://a.example", &format!("ev-{n}"), n as i64);
            with_headers(
                attempt_for(c, Outcome::Succeeded, Some(200), Millis(1_100)),
                headers,
            )
        })
        .collect();
    store
        .record_attempts("n1", attempts, &KeepHealth)
        .await
        .unwrap();
    let log = async |hook: &Hook, headers: Vec<(String, String)>| {
        let logged = with_headers(answered(hook.id, Millis(1_200)), headers);
        store.log_attempt(logged, &KeepHealth).await.unwrap();
    };
    for n in 0..5 {
        log(&a, sent(&a, "https://a.example", &format!("test-{n}"), n)).await;
    }
    log(&b, sent(&b, "https://a.example", "ev-b", 1)).await;
    assert_eq!(raw.header_sets().await, before + 1, "one set for 26 rows");

    let mut more_custom = sent(&b, "https://a.example", "ev-b2", 1);
    more_custom.push(("X-Other".to_owned(), "[REDACTED]".to_owned()));
    log(&b, more_custom).await;
    log(&a, sent(&a, "https://moved.example", "ev-moved", 1)).await;
    assert_eq!(raw.header_sets().await, before + 3);
}

/// A row logged before header sets (every header in the row) reads back as it was.
pub(crate) async fn check_an_old_row_reads_back(store: &dyn Store, raw: &Raw) {
    let h = hook(store, HookOwner::System).await;
    let headers = sent(&h, "https://a.example", "ev-old", 1);
    let id = raw
        .old_row(h.id, &serde_json::to_string(&headers).unwrap())
        .await;
    let read = store.attempt(h.id, id).await.unwrap().expect("old row");
    assert_eq!(read.request_headers, headers);
    let listed = store
        .list_attempts(h.id, StatusFilter::All, PAGE)
        .await
        .unwrap();
    assert_eq!(listed.items[0].request_headers, headers);
}

/// Two nodes logging attempts of a new header set at the same moment add it once, without
/// an error, and both read back their headers.
pub(crate) async fn check_two_nodes_add_a_set_once(a: &dyn Store, b: &dyn Store, raw: &Raw) {
    let h = hook(a, HookOwner::System).await;
    let before = raw.header_sets().await;
    const ROUNDS: usize = 10;
    for round in 0..ROUNDS {
        let instance = format!("https://{round}.example");
        let on = |store: &'static str, n: usize| {
            with_headers(
                answered(h.id, Millis(1_000)),
                sent(&h, &instance, &format!("{store}-{round}-{n}"), 1),
            )
        };
        let batch = |store| (0..4).map(|n| on(store, n)).collect::<Vec<_>>();
        let (one, other) = tokio::join!(
            a.record_attempts("n1", batch("a"), &KeepHealth),
            b.record_attempts("n2", batch("b"), &KeepHealth),
        );
        one.unwrap();
        other.unwrap();
    }
    assert_eq!(raw.header_sets().await, before + ROUNDS as i64);
    let logged = a
        .list_attempts(
            h.id,
            StatusFilter::All,
            Page {
                page: 1,
                per_page: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(logged.total, (ROUNDS * 8) as u64);
    assert!(
        logged
            .items
            .iter()
            .all(|row| row.request_headers.len() == 13),
        "every row reads back its headers"
    );
}

/// A test's or resend's attempt (no delivery, no event) that was answered 200.
fn answered(hook: HookId, at: Millis) -> Attempt {
    attempt(hook, None, None, Outcome::Succeeded, Some(200), at)
}
