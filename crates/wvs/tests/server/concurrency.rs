//! Adaptive per-hook concurrency and the namespace share, end to end: a hook's limit rises
//! against a receiver that answers, falls against one that times out or answers 503, never
//! passes an explicit `max_in_flight`, stays at one for an ordered hook, and shows in the
//! hook's JSON and `/metrics`; one namespace alone may use every worker, and is held to its
//! share while another has work.

use std::time::{Duration, Instant};

use serde_json::json;
use wvs_events::samples;
use wvs_store::testing::TestDatabase;

use crate::scripted::{Reply, Scripted};
use crate::setup::{hook, registry};
use crate::support::Server;

fn push() -> &'static [u8] {
    samples::find("push").unwrap().json.as_bytes()
}

/// A server on SQLite with short timeouts and quick retries, plus `extra`.
fn server(extra: &[&str]) -> Server {
    Server::start(&server_args(extra))
}

/// Short timeouts and quick retries, plus `extra`.
fn server_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--poll-interval",
        "50ms",
        "--retry-schedule",
        "50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms",
    ];
    if !extra.contains(&"--delivery-timeout") {
        args.extend(["--delivery-timeout", "300ms"]);
    }
    args.extend(extra);
    args
}

/// The same settings on a node of a fresh PostgreSQL database.
fn postgres_node(database: &TestDatabase) -> Server {
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let args = server_args(&["--secret-key", key]);
    Server::start_node(database.url(), &args)
}

async fn post_events(server: &Server, owner: &str, count: usize) {
    for _ in 0..count {
        let (status, answer) = server.ingest(&format!("{owner}/events"), push()).await;
        assert_eq!(status, 202, "{answer}");
    }
}

async fn current_limit(server: &Server, owner: &str, hook_id: i64) -> u64 {
    u64::from(server.get_hook(owner, hook_id).await.current_limit)
}

/// Waits until the hook's current limit satisfies `wanted`; returns it.
async fn limit_until(
    server: &Server,
    owner: &str,
    hook_id: i64,
    wanted: impl Fn(u64) -> bool,
) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let limit = current_limit(server, owner, hook_id).await;
        if wanted(limit) {
            return limit;
        }
        assert!(Instant::now() < deadline, "current_limit stays at {limit}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The hook's gauge in `/metrics`.
async fn limit_metric(server: &Server, hook_id: i64) -> Option<f64> {
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wanted = format!("wvs_hook_concurrency_limit{{hook_id=\"{hook_id}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&wanted))
        .map(|value| value.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_rises_against_a_receiver_that_answers() {
    limit_rises(&server(&[])).await;
}

/// A hook made without `max_in_flight` has no cap of its own on PostgreSQL either (the
/// column's default, 4, is the cap of hooks made before the limits adapted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_rises_against_a_receiver_that_answers_on_postgres() {
    let database = TestDatabase::create("limit_rises").await;
    limit_rises(&postgres_node(&database)).await;
}

async fn limit_rises(server: &Server) {
    let owner = format!("/projects/{}", registry(server).await.project);
    // Steady, whatever the load, and slow enough that events posted one after another
    // (100 a second or more) need more than 4 at once to keep up with them.
    let receiver = Scripted::start(|_| Reply::Late(Duration::from_millis(100), 200)).await;
    let hook_id = hook(server, &owner, json!({ "url": receiver.url })).await;
    assert_eq!(current_limit(server, &owner, hook_id).await, 4, "the start");
    post_events(server, &owner, 200).await;
    receiver.wait_for(200, Duration::from_secs(60)).await;
    let limit = current_limit(server, &owner, hook_id).await;
    assert!(limit > 4, "current_limit {limit}");
    assert!(
        receiver.most_in_flight() > 4,
        "more than the old fixed 4 at once: {}",
        receiver.most_in_flight()
    );
    assert_eq!(limit_metric(server, hook_id).await, Some(limit as f64));
    let stored = server.get_hook(&owner, hook_id).await.max_in_flight;
    assert_eq!(stored, 1000, "no cap of its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_falls_against_a_receiver_that_times_out() {
    let server = server(&[]);
    let owner = format!("/projects/{}", registry(&server).await.project);
    let receiver = Scripted::start(|_| Reply::Hang).await;
    let hook_id = hook(&server, &owner, json!({ "url": receiver.url })).await;
    post_events(&server, &owner, 20).await;
    let limit = limit_until(&server, &owner, hook_id, |limit| limit < 4).await;
    assert!(
        receiver.most_in_flight() <= 4,
        "{}",
        receiver.most_in_flight()
    );
    assert_eq!(limit_metric(&server, hook_id).await, Some(limit as f64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_falls_against_a_receiver_that_answers_503() {
    let server = server(&[
        // Not paused by auto-disable for long: the failures go on.
        "--auto-disable-backoff",
        "5ms",
        "--auto-disable-max-backoff",
        "20ms",
    ]);
    let owner = format!("/projects/{}", registry(&server).await.project);
    let receiver = Scripted::start(|_| Reply::Status(503)).await;
    let hook_id = hook(&server, &owner, json!({ "url": receiver.url })).await;
    post_events(&server, &owner, 20).await;
    limit_until(&server, &owner, hook_id, |limit| limit == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_max_in_flight_is_never_exceeded() {
    explicit_cap_holds(&server(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_max_in_flight_is_never_exceeded_on_postgres() {
    let database = TestDatabase::create("explicit_cap").await;
    explicit_cap_holds(&postgres_node(&database)).await;
}

async fn explicit_cap_holds(server: &Server) {
    let owner = format!("/projects/{}", registry(server).await.project);
    let receiver = Scripted::start(|_| Reply::Late(Duration::from_millis(20), 200)).await;
    let hook_id = hook(
        server,
        &owner,
        json!({ "url": receiver.url, "max_in_flight": 3 }),
    )
    .await;
    post_events(server, &owner, 150).await;
    receiver.wait_for(150, Duration::from_secs(60)).await;
    assert_eq!(receiver.most_in_flight(), 3, "up to its cap, never past it");
    let hook = server.get_hook(&owner, hook_id).await;
    assert_eq!((hook.max_in_flight, hook.current_limit), (3, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_hook_stays_at_one() {
    let server = server(&[]);
    let owner = format!("/projects/{}", registry(&server).await.project);
    let receiver = Scripted::start(|_| Reply::Late(Duration::from_millis(5), 200)).await;
    let hook_id = hook(
        &server,
        &owner,
        json!({ "url": receiver.url, "ordered": true }),
    )
    .await;
    post_events(&server, &owner, 40).await;
    receiver.wait_for(40, Duration::from_secs(60)).await;
    assert_eq!(receiver.most_in_flight(), 1);
    assert_eq!(current_limit(&server, &owner, hook_id).await, 1);
}

/// With 8 workers the default share is 2; a namespace with nothing beside it takes more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_namespace_alone_may_pass_its_share() {
    let server = server(&["--workers", "8"]);
    let owner = format!("/projects/{}", registry(&server).await.project);
    let receiver = Scripted::start(|_| Reply::Late(Duration::from_millis(100), 200)).await;
    hook(&server, &owner, json!({ "url": receiver.url })).await;
    post_events(&server, &owner, 20).await;
    receiver.wait_for(20, Duration::from_secs(30)).await;
    assert!(
        receiver.most_in_flight() > 2,
        "past the share of 2: {}",
        receiver.most_in_flight()
    );
}

/// While another namespace has due work, one whose 20 hooks never answer holds its share (2
/// of 8 workers) and no more: the other's deliveries all go out long before the hung
/// requests' 30 s timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_with_hung_receivers_keeps_to_its_share_while_another_has_work() {
    let server = server(&["--workers", "8", "--delivery-timeout", "30s"]);
    let noisy = format!("/projects/{}", registry(&server).await.project);
    let hung = Scripted::start(|_| Reply::Hang).await;
    for _ in 0..20 {
        hook(&server, &noisy, json!({ "url": hung.url })).await;
    }
    server
        .expect(
            201,
            "POST",
            "/groups",
            Some(json!({ "name": "Quiet", "path": "quiet" })),
        )
        .await;
    let quiet = server
        .expect(
            201,
            "POST",
            "/projects",
            Some(json!({ "name": "Calm", "path": "calm", "namespace_path": "quiet" })),
        )
        .await;
    let quiet = format!("/projects/{}", quiet["id"]);
    // Two at a time, 200 ms each: its 40 deliveries stay due for about 4 s.
    let steady = Scripted::start(|_| Reply::Late(Duration::from_millis(200), 200)).await;
    hook(
        &server,
        &quiet,
        json!({ "url": steady.url, "max_in_flight": 2 }),
    )
    .await;
    post_events(&server, &quiet, 40).await;
    post_events(&server, &noisy, 30).await;
    // The quiet namespace still has due work at its 30th delivery.
    steady.wait_for(30, Duration::from_secs(20)).await;
    assert!(hung.most_in_flight() <= 2, "{}", hung.most_in_flight());
    steady.wait_for(40, Duration::from_secs(20)).await;
}
