//! `--log-retention`: with a retention of two seconds, old log rows and settled events are
//! deleted (a resend of a pruned attempt answers 404 saying so, an idempotency key is free
//! again), while a delivery held by a disabled hook survives however old and a failed one
//! stays resendable until it is older than the retention. On SQLite and on PostgreSQL.
//! `wvs vacuum` gives the space pruned from a stopped SQLite store back to the disk.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wvs_events::samples;
use wvs_store::testing::TestDatabase;

use crate::setup::{hook, registry};
use crate::support::{Receiver, Server, retarget};

/// Three attempts (the first and two retries), so that one failed delivery does not disable
/// its hook (the fourth failure in a row does) and a disabled hook holds what it has for an
/// hour.
const ARGS: &[&str] = &[
    "--log-retention",
    "2s",
    "--retry-schedule",
    "100ms,100ms",
    "--auto-disable-backoff",
    "1h",
    "--poll-interval",
    "100ms",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_the_old_and_settled_on_sqlite() {
    prunes_the_old_and_settled(&Server::start(ARGS)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_the_old_and_settled_on_postgres() {
    let database = TestDatabase::create("retention").await;
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let mut args = ARGS.to_vec();
    args.extend(["--secret-key", key]);
    prunes_the_old_and_settled(&Server::start_node(database.url(), &args)).await;
}

fn raw(kind: &str) -> &'static [u8] {
    samples::find(kind).unwrap().json.as_bytes()
}

/// A sample event, retargeted to `events`, as JSON.
fn sample(events: &str, kind: &str) -> Value {
    serde_json::from_slice(&retarget(events, raw(kind))).unwrap()
}

/// Posts `body` to `events` with an `Idempotency-Key`; status and answer.
async fn post_keyed(server: &Server, events: &str, key: &str, body: &Value) -> (u16, Value) {
    let (status, _, answer) = server
        .api_raw(
            "POST",
            events,
            Some(body.clone()),
            &[("Idempotency-Key", key)],
        )
        .await;
    (
        status,
        serde_json::from_slice(&answer).unwrap_or(Value::Null),
    )
}

/// Waits (up to 20 s) until `done` holds of the answer to GET `path`; that answer.
async fn wait_until(server: &Server, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = server.expect(200, "GET", path, None).await;
        if done(&answer) {
            return answer;
        }
        assert!(Instant::now() < deadline, "{path}: still {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn prunes_the_old_and_settled(server: &Server) {
    let ids = registry(server).await;
    let owner = format!("/projects/{}", ids.project);
    let events = format!("{owner}/events");
    let (ok, failing, held) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    failing.set_status(500);
    held.set_status(500);
    let ok_hook = hook(server, &owner, json!({"url": ok.url, "push_events": true})).await;
    let failing_hook = hook(
        server,
        &owner,
        json!({"url": failing.url, "push_events": false, "tag_push_events": true}),
    )
    .await;
    let held_hook = hook(
        server,
        &owner,
        json!({"url": held.url, "push_events": false, "issues_events": true}),
    )
    .await;
    let log = |id: i64| format!("{owner}/hooks/{id}/events");

    // A push delivered at once, its Idempotency-Key taken.
    let push = sample(&events, "push");
    let (status, answer) = post_keyed(server, &events, "kept-with-its-event", &push).await;
    assert_eq!(status, 202, "{answer}");
    let delivered = server.wait_for_log(&log(ok_hook), 1).await;
    let pruned_attempt = delivered[0]["id"].as_i64().unwrap();
    let mut other = push.clone();
    other["ref"] = json!("refs/heads/other");
    let (status, _) = post_keyed(server, &events, "kept-with-its-event", &other).await;
    assert_eq!(status, 422, "the key is taken while its event is kept");

    // A tag push that fails for good (three attempts).
    let (status, _) = server.ingest(&events, raw("tag_push")).await;
    assert_eq!(status, 202);
    server.wait_for_log(&log(failing_hook), 3).await;

    // Two issues: the first fails three times, the second's first attempt is the hook's
    // fourth failure in a row, which disables it: that delivery is held, pending.
    let issue = raw("issue");
    assert_eq!(server.ingest(&events, issue).await.0, 202);
    server.wait_for_log(&log(held_hook), 3).await;
    let (status, answer) = server.ingest(&events, issue).await;
    assert_eq!(status, 202);
    let held_uuid = answer["event_uuid"].as_str().unwrap().to_owned();
    wait_until(server, &format!("{owner}/hooks/{held_hook}"), |hook| {
        hook["alert_status"] == "temporarily_disabled"
    })
    .await;

    // Two seconds on, the log of the delivered push and of the failed tag push is gone...
    for id in [ok_hook, failing_hook] {
        wait_until(server, &log(id), |rows| rows.as_array().unwrap().is_empty()).await;
    }
    // ...a resend of a pruned attempt says why it is not found...
    let (status, answer) = server
        .api(
            "POST",
            &format!("{}/{pruned_attempt}/resend", log(ok_hook)),
            None,
        )
        .await;
    assert_eq!(status, 404, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("removed by retention"), "{message}");
    // ...and the push's event went with its key: the key takes another body now.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, answer) = post_keyed(server, &events, "kept-with-its-event", &other).await;
        if status == 202 {
            break;
        }
        assert_eq!(status, 422, "{answer}");
        assert!(
            Instant::now() < deadline,
            "the pruned event's key is still taken"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A merge request that fails now, while older ones are pruned, stays resendable.
    let recent = Receiver::start().await;
    recent.set_status(500);
    let recent_hook = hook(
        server,
        &owner,
        json!({"url": recent.url, "push_events": false, "merge_requests_events": true}),
    )
    .await;
    assert_eq!(server.ingest(&events, raw("merge_request")).await.0, 202);
    let failed = server.wait_for_log(&log(recent_hook), 3).await;
    recent.set_status(200);
    let resent = server
        .expect(
            201,
            "POST",
            &format!("{}/{}/resend", log(recent_hook), failed[0]["id"]),
            None,
        )
        .await;
    assert_eq!(resent["response_status"], 200, "{resent}");

    // The held delivery outlived the retention: once its hook is enabled it goes out.
    held.clear();
    held.set_status(200);
    server
        .expect(
            200,
            "POST",
            &format!("{owner}/hooks/{held_hook}/enable"),
            None,
        )
        .await;
    let received = held.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(
        received[0].header("X-WVS-Event-UUID"),
        Some(held_uuid.as_str())
    );
}

/// Runs `wvs vacuum` on the SQLite file `database`.
fn vacuum_at(database: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wvs"))
        .arg("vacuum")
        .arg("--database-url")
        .arg(database)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vacuum_gives_the_pruned_space_back_once_the_server_stopped() {
    const EVENTS: usize = 60;
    let server = Server::start(&["--log-retention", "1s"]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let events = format!("{owner}/events");
    let receiver = Receiver::start().await;
    let id = hook(&server, &owner, json!({"url": receiver.url})).await;
    // Payloads of 100 KB that do not compress: the store holds about 6 MB until retention
    // prunes them.
    let mut push = sample(&events, "push");
    push["pad"] = json!(incompressible(100_000));
    let body = serde_json::to_vec(&push).unwrap();
    for _ in 0..EVENTS {
        assert_eq!(server.ingest(&events, &body).await.0, 202);
    }
    receiver.wait_for(EVENTS, Duration::from_secs(30)).await;
    // The newest row is always kept; the rest goes after a second, its events with it.
    wait_until(&server, &format!("{owner}/hooks/{id}/events"), |rows| {
        rows.as_array().unwrap().len() <= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Refused while the server holds the file.
    let refused = vacuum_at(&server.dir.join("wvs.db"));
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("already served"), "{stderr}");

    let database = server.dir.join("wvs.db");
    let dir = server.dir.clone();
    assert!(server.terminate().success());
    let before = on_disk(&database);
    assert!(
        before > 5_000_000,
        "the pruned pages stay on disk: {before} B"
    );
    let output = vacuum_at(&database);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = on_disk(&database);
    assert!(after < before / 4, "{before} B -> {after} B");
    // The store still serves.
    let server = Server::start_in(&dir, &[]);
    server
        .expect(200, "GET", &format!("{owner}/hooks/{id}"), None)
        .await;
}

/// The bytes of the SQLite store `database`: its file and its write-ahead log.
fn on_disk(database: &std::path::Path) -> u64 {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::fs::metadata(wal).map_or(0, |metadata| metadata.len());
    std::fs::metadata(database).unwrap().len() + wal
}

/// `len` hexadecimal digits without repetition a compressor could use.
fn incompressible(len: usize) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from_digit((state % 16) as u32, 16).unwrap()
        })
        .collect()
}
