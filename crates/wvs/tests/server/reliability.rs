//! Delivery in a hostile world: receivers that fail in every way, retry times, auto-disable
//! through the API, isolation of a hanging receiver, ordered hooks, the rate limit, and loop
//! protection.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use wvs_events::samples;

use crate::scripted::{self, Reply, Scripted};
use crate::setup::{hook, registry};
use crate::support::{Server, retarget};

fn push() -> &'static [u8] {
    samples::find("push").unwrap().json.as_bytes()
}

/// A server with short timeouts; `extra` adds settings or overrides these.
fn server(extra: &[&str]) -> Server {
    let mut args = extra.to_vec();
    for (flag, value) in [
        ("--delivery-timeout", "500ms"),
        ("--poll-interval", "100ms"),
    ] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    Server::start(&args)
}

async fn project_hook(server: &Server, project: i64, body: Value) -> i64 {
    hook(server, &format!("/projects/{project}"), body).await
}

async fn post_events(server: &Server, project: i64, count: usize) -> Vec<String> {
    let mut uuids = Vec::new();
    for _ in 0..count {
        let (status, answer) = server
            .ingest(&format!("/projects/{project}/events"), push())
            .await;
        assert_eq!(status, 202, "{answer}");
        uuids.push(answer["event_uuid"].as_str().unwrap().to_owned());
    }
    uuids
}

/// The hook's log, oldest first.
async fn log(server: &Server, project: i64, hook_id: i64) -> Vec<Value> {
    let path = format!("/projects/{project}/hooks/{hook_id}/events?per_page=100");
    let mut rows = server.expect(200, "GET", &path, None).await;
    let rows = rows.as_array_mut().unwrap();
    rows.reverse();
    rows.clone()
}

/// Waits until the hook's log has `count` rows.
async fn log_of(server: &Server, project: i64, hook_id: i64, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = log(server, project, hook_id).await;
        if rows.len() >= count {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "hook {hook_id}: {} of {count} log rows: {rows:#?}",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn millis(row: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(row["created_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn gaps(rows: &[Value]) -> Vec<i64> {
    rows.windows(2)
        .map(|w| millis(&w[1]) - millis(&w[0]))
        .collect()
}

async fn hook_json(server: &Server, project: i64, hook_id: i64) -> Value {
    server
        .expect(
            200,
            "GET",
            &format!("/projects/{project}/hooks/{hook_id}"),
            None,
        )
        .await
}

/// What a log row of one failure case must show.
type RowCheck = dyn Fn(&Value) -> bool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_failure_is_logged_retried_on_schedule_then_failed() {
    // Four attempts: at once, then after 0-300 ms, then after 300-600 ms; then failed.
    let server = server(&[
        "--retry-schedule",
        "0s,300ms,600ms",
        "--auto-disable-backoff",
        "1ms",
        "--auto-disable-max-backoff",
        "1ms",
    ]);
    let ids = registry(&server).await;
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    let hanging = Scripted::start(|_| Reply::Hang).await;
    let late = Scripted::start(|_| Reply::Late(Duration::from_millis(900), 200)).await;
    let garbage = scripted::raw(|mut stream| async move {
        let _ = stream.write_all(b"this is not HTTP at all\r\n\r\n").await;
    })
    .await;
    // The connection closes in the middle of the status line.
    let reset = scripted::raw(|mut stream| async move {
        let _ = stream.write_all(b"HTTP/1.1 5").await;
        drop(stream);
    })
    .await;
    let failing = Scripted::start(|_| Reply::Status(500)).await;
    let cases: Vec<(&str, String, Box<RowCheck>)> = vec![
        (
            "refused",
            refused,
            Box::new(|row| {
                row["internal_error_message"]
                    .as_str()
                    .unwrap()
                    .contains("refused")
            }),
        ),
        (
            "hanging",
            hanging.url.clone(),
            Box::new(|row| {
                row["internal_error_message"]
                    .as_str()
                    .unwrap()
                    .contains("timed out")
            }),
        ),
        (
            "late",
            late.url.clone(),
            Box::new(|row| {
                row["internal_error_message"]
                    .as_str()
                    .unwrap()
                    .contains("timed out")
            }),
        ),
        (
            "garbage",
            garbage,
            Box::new(|row| row["response_status"] == "internal error"),
        ),
        (
            "reset",
            reset,
            Box::new(|row| {
                row["response_status"] == "internal error"
                    && !row["internal_error_message"].is_null()
            }),
        ),
        (
            "500",
            failing.url.clone(),
            Box::new(|row| row["response_status"] == "500"),
        ),
    ];
    let mut hooks = Vec::new();
    for (name, url, _) in &cases {
        let id = project_hook(&server, ids.project, json!({ "url": url, "name": name })).await;
        hooks.push(id);
    }
    post_events(&server, ids.project, 1).await;
    for ((name, _, expected), hook_id) in cases.iter().zip(&hooks) {
        let rows = log_of(&server, ids.project, *hook_id, 4).await;
        assert_eq!(rows.len(), 4, "{name}: four attempts");
        for row in &rows {
            assert!(expected(row), "{name}: {row:#}");
            assert_eq!(row["trigger"], "push_hooks");
        }
        let gaps = gaps(&rows);
        assert!(
            gaps[1] >= 0 && gaps[2] >= 300,
            "{name}: retry gaps {gaps:?}"
        );
    }
    // Given up: nothing more comes, whatever the wait.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for ((name, _, _), hook_id) in cases.iter().zip(&hooks) {
        assert_eq!(log(&server, ids.project, *hook_id).await.len(), 4, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_a_huge_body_is_read_only_in_part() {
    let server = server(&["--retry-schedule", "0s,0s"]);
    let ids = registry(&server).await;
    let limited = Scripted::start(|n| match n {
        0 => Reply::WithHeaders(429, vec![("retry-after", "2".into())]),
        _ => Reply::Status(200),
    })
    .await;
    let huge = scripted::raw(|stream| scripted::huge_body(stream, 100 * 1024 * 1024)).await;
    let limited_hook = project_hook(&server, ids.project, json!({ "url": limited.url })).await;
    let huge_hook = project_hook(&server, ids.project, json!({ "url": huge })).await;
    post_events(&server, ids.project, 1).await;

    let rows = log_of(&server, ids.project, limited_hook, 2).await;
    assert_eq!(rows[0]["response_status"], "429");
    assert_eq!(rows[1]["response_status"], "200");
    assert!(
        gaps(&rows)[0] >= 2_000,
        "the schedule said at once; the receiver said 2 s: {:?}",
        gaps(&rows)
    );

    let rows = log_of(&server, ids.project, huge_hook, 1).await;
    assert_eq!(rows[0]["response_status"], "200");
    assert_eq!(rows[0]["response_body"].as_str().unwrap().len(), 8 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_disable_holds_deliveries_and_a_test_re_enables() {
    let server = server(&["--retry-schedule", "0s,0s,0s,0s,0s,0s,0s,0s"]);
    let ids = registry(&server).await;
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healthy.clone();
    let receiver = Scripted::start(move |_| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::Status(200)
        } else {
            Reply::Status(500)
        }
    })
    .await;
    let hook_id = project_hook(&server, ids.project, json!({ "url": receiver.url })).await;
    assert_eq!(
        hook_json(&server, ids.project, hook_id).await["alert_status"],
        "executable"
    );
    post_events(&server, ids.project, 1).await;
    receiver.wait_for(4, Duration::from_secs(10)).await;
    // The fourth failure is recorded a moment after the receiver answered it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let hook = loop {
        let hook = hook_json(&server, ids.project, hook_id).await;
        if hook["alert_status"] != "executable" || std::time::Instant::now() > deadline {
            break hook;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(hook["alert_status"], "temporarily_disabled", "{hook:#}");
    let until = chrono::DateTime::parse_from_rfc3339(hook["disabled_until"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    let in_a_minute = chrono::Utc::now().timestamp_millis() + 60_000;
    assert!((in_a_minute - until).abs() < 5_000, "disabled for a minute");

    // Held, not dropped: new events wait, the failing one gets no more attempts.
    post_events(&server, ids.project, 2).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.arrivals().len(), 4);

    // The receiver is fixed; a successful test re-enables the hook and the backlog flows.
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    let tested = server
        .expect(
            201,
            "POST",
            &format!("/projects/{}/hooks/{hook_id}/test/push_events", ids.project),
            None,
        )
        .await;
    assert_eq!(tested["response_status"], 200, "{tested}");
    assert_eq!(
        hook_json(&server, ids.project, hook_id).await["alert_status"],
        "executable"
    );
    // 4 failures + the test + the 3 held events.
    receiver.wait_for(8, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_failures_disable_for_good_until_an_operator_enables() {
    let schedule = vec!["0s"; 60].join(",");
    let server = server(&[
        "--retry-schedule",
        &schedule,
        "--auto-disable-backoff",
        "5ms",
        "--auto-disable-max-backoff",
        "20ms",
    ]);
    let ids = registry(&server).await;
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healthy.clone();
    let receiver = Scripted::start(move |_| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::Status(200)
        } else {
            Reply::Status(502)
        }
    })
    .await;
    let hook_id = project_hook(&server, ids.project, json!({ "url": receiver.url })).await;
    post_events(&server, ids.project, 1).await;
    receiver.wait_for(40, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hook = hook_json(&server, ids.project, hook_id).await;
    assert_eq!(hook["alert_status"], "disabled", "{hook:#}");
    assert_eq!(hook["disabled_until"], Value::Null);
    assert_eq!(
        receiver.arrivals().len(),
        40,
        "not one attempt after the 40th"
    );

    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    post_events(&server, ids.project, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.arrivals().len(), 40, "held while disabled");
    let enabled = server
        .expect(
            200,
            "POST",
            &format!("/projects/{}/hooks/{hook_id}/enable", ids.project),
            None,
        )
        .await;
    assert_eq!(enabled["alert_status"], "executable");
    receiver.wait_for(42, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_holds_four_workers_at_most_and_slows_no_one() {
    // One tenant's two hooks: its share of the pool is the whole pool here (with the default
    // quarter, 2 of 8 workers, the hanging hook would fill it; shares are tested in faults).
    let server = server(&[
        "--delivery-timeout",
        "5s",
        "--workers",
        "8",
        "--namespace-share",
        "1",
    ]);
    let ids = registry(&server).await;
    let hanging = Scripted::start(|_| Reply::Hang).await;
    let healthy = Scripted::start(|_| Reply::Status(200)).await;
    project_hook(&server, ids.project, json!({ "url": hanging.url })).await;
    project_hook(&server, ids.project, json!({ "url": healthy.url })).await;
    post_events(&server, ids.project, 40).await;
    // Forty deliveries go through 4 free workers while the other 4 wait on the timeout.
    healthy.wait_for(40, Duration::from_secs(4)).await;
    assert_eq!(hanging.most_in_flight(), 4, "the per-hook limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_hook_gets_one_at_a_time_in_event_order_and_a_failure_blocks() {
    let server = server(&["--retry-schedule", "300ms,300ms"]);
    let ids = registry(&server).await;
    let receiver = Scripted::start(|n| match n {
        0 => Reply::Status(500),
        _ => Reply::Status(200),
    })
    .await;
    project_hook(
        &server,
        ids.project,
        json!({ "url": receiver.url, "ordered": true }),
    )
    .await;
    let sent = post_events(&server, ids.project, 5).await;
    let arrivals = receiver.wait_for(6, Duration::from_secs(10)).await;
    let order: Vec<&str> = arrivals.iter().map(|a| a.event_uuid.as_str()).collect();
    let mut expected = vec![sent[0].as_str()];
    expected.extend(sent.iter().map(String::as_str));
    assert_eq!(order, expected, "the failed first event blocks the others");
    assert_eq!(receiver.most_in_flight(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_delays_deliveries_and_the_log_says_so() {
    let server = server(&["--web-hook-calls", "3", "--rate-limit-window", "2s"]);
    let ids = registry(&server).await;
    let receiver = Scripted::start(|_| Reply::Status(200)).await;
    let hook_id = project_hook(&server, ids.project, json!({ "url": receiver.url })).await;
    // Nine deliveries at 3 per 2 s window take three windows, however the posts fall.
    post_events(&server, ids.project, 9).await;
    let all = receiver.wait_for(9, Duration::from_secs(15)).await;
    let span = all.last().unwrap().at.duration_since(all[0].at);
    assert!(
        span >= Duration::from_millis(1_900),
        "spread over windows: {span:?}"
    );
    let rows = log_of(&server, ids.project, hook_id, 9).await;
    let delayed = rows.iter().filter(|r| r["rate_limited"] == true).count();
    assert!(delayed >= 3, "the delayed deliveries say so: {rows:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_that_comes_back_to_a_hook_is_stopped_and_logged() {
    let server = server(&[]);
    let ids = registry(&server).await;
    let receiver = Scripted::start(|_| Reply::Status(200)).await;
    let hook_id = project_hook(&server, ids.project, json!({ "url": receiver.url })).await;
    let events = format!("/projects/{}/events", ids.project);
    let chain = "0190a5b2-6a1e-7c3d-9e8f-0123456789ab";
    let post = |uuid: &'static str| {
        let body = retarget(&events, push());
        let server = &server;
        let events = events.clone();
        async move {
            let (status, _, answer) = server
                .api_raw(
                    "POST",
                    &events,
                    Some(serde_json::from_slice(&body).unwrap()),
                    &[("X-Gitlab-Event-UUID", uuid)],
                )
                .await;
            (status, serde_json::from_slice::<Value>(&answer).unwrap())
        }
    };
    let (status, first) = post(chain).await;
    assert_eq!((status, first["deliveries"].as_i64()), (202, Some(1)));
    assert_eq!(
        first["event_uuid"], chain,
        "the event keeps its cause's UUID"
    );
    let arrivals = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(arrivals[0].event_uuid, chain);

    // The receiver calls back with the same UUID: the chain would reach the hook again.
    let (status, second) = post(chain).await;
    assert_eq!((status, second["deliveries"].as_i64()), (202, Some(0)));
    let rows = log_of(&server, ids.project, hook_id, 2).await;
    let stopped = rows.last().unwrap();
    assert_eq!(stopped["response_status"], "internal error");
    assert!(
        stopped["internal_error_message"]
            .as_str()
            .unwrap()
            .starts_with("loop stopped"),
        "{stopped:#}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.arrivals().len(), 1);

    let (status, bad) = post("not-a-uuid").await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("x-gitlab-event-uuid")
    );
}

/// Every request carries a new `X-WVS-Webhook-UUID`, retries included, as GitLab's
/// WebHookService does; the event UUID and the Idempotency-Key stay those of the delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_has_its_own_webhook_uuid() {
    let server = server(&["--retry-schedule", "100ms,100ms"]);
    let ids = registry(&server).await;
    // Three failures (one fewer than auto-disable's threshold), then success: 100 requests.
    let receiver = Scripted::start(|n| Reply::Status(if n < 3 { 500 } else { 200 })).await;
    project_hook(&server, ids.project, json!({ "url": receiver.url })).await;
    post_events(&server, ids.project, 97).await;
    let arrivals = receiver.wait_for(100, Duration::from_secs(30)).await;
    let webhook_uuids: std::collections::HashSet<&str> =
        arrivals.iter().map(|a| a.webhook_uuid.as_str()).collect();
    assert_eq!(webhook_uuids.len(), 100, "one per request");
    let deliveries: std::collections::HashSet<(&str, &str)> = arrivals
        .iter()
        .map(|a| (a.event_uuid.as_str(), a.idempotency_key.as_str()))
        .collect();
    assert_eq!(deliveries.len(), 97, "a retry keeps its event UUID and key");
}

/// Bulk recovery: the failed deliveries since a time go out once more with their own
/// Idempotency-Key, the deliveries a disabled hook holds are released, and a delivery that
/// failed before that time is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_sends_the_failed_deliveries_since_a_time_and_the_held_ones() {
    let server = server(&["--retry-schedule", "100ms"]);
    let ids = registry(&server).await;
    // Four failures: two attempts each of the first two events (the fourth in a row
    // disables the hook), then success.
    let receiver = Scripted::start(|n| Reply::Status(if n < 4 { 500 } else { 200 })).await;
    let hook_id = project_hook(&server, ids.project, json!({ "url": receiver.url })).await;
    let hook_path = format!("/projects/{}/hooks/{hook_id}", ids.project);
    let early = post_events(&server, ids.project, 1).await;
    receiver.wait_for(2, Duration::from_secs(10)).await;
    log_of(&server, ids.project, hook_id, 2).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let failed = post_events(&server, ids.project, 1).await;
    receiver.wait_for(4, Duration::from_secs(10)).await;
    log_of(&server, ids.project, hook_id, 4).await;
    let held = post_events(&server, ids.project, 1).await;
    let disabled = server.expect(200, "GET", &hook_path, None).await;
    assert_eq!(
        disabled["alert_status"], "temporarily_disabled",
        "{disabled}"
    );

    let (status, _) = server
        .api(
            "POST",
            &format!("{hook_path}/recover"),
            Some(json!({ "since": "yesterday" })),
        )
        .await;
    assert_eq!(status, 400);
    let answer = server
        .expect(
            200,
            "POST",
            &format!("{hook_path}/recover"),
            Some(json!({ "since": since })),
        )
        .await;
    assert_eq!(
        (answer["requeued"].as_u64(), answer["released"].as_bool()),
        (Some(1), Some(true))
    );
    let arrivals = receiver.wait_for(6, Duration::from_secs(10)).await;
    let sent_again: Vec<&str> = arrivals[4..]
        .iter()
        .map(|a| a.event_uuid.as_str())
        .collect();
    assert!(sent_again.contains(&failed[0].as_str()), "{sent_again:?}");
    assert!(sent_again.contains(&held[0].as_str()), "{sent_again:?}");
    let keys = |uuid: &str| -> Vec<&str> {
        arrivals
            .iter()
            .filter(|a| a.event_uuid == uuid)
            .map(|a| a.idempotency_key.as_str())
            .collect()
    };
    let failed_keys = keys(&failed[0]);
    assert_eq!(failed_keys.len(), 3);
    assert!(
        failed_keys.iter().all(|key| *key == failed_keys[0]),
        "the original key"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.arrivals().len(),
        6,
        "the delivery failed before `since` stays failed"
    );
    assert_eq!(keys(&early[0]).len(), 2);
}
