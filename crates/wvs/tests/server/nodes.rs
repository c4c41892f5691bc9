//! Several `wvs serve` nodes on one PostgreSQL database (`WVS_TEST_DATABASE_URL`, a fresh
//! database per test): the work is shared, every delivery is made once (twice at most for
//! what a killed node had in flight), per-hook in-flight limits hold over all nodes, and an
//! outage of the database pauses ingest (503) and delivery until it is back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use wvs_events::samples;
use wvs_store::testing::TestDatabase;

use crate::setup::{Registry, hook, registry};
use crate::support::{ADMIN_TOKEN, Server, retarget};

/// The at-rest key every node of a database shares.
const SECRET_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const NODES: usize = 3;
const HOOKS: usize = 50;
/// Push events posted; each goes to every hook: 20,000 deliveries.
const EVENTS: usize = 400;
const MAX_IN_FLIGHT: usize = 2;
const WORKERS: usize = 16;

/// The settings of node `n`: its own instance URL (sent as `X-WVS-Instance`, so the receiver
/// knows who delivered) and short timings so that a dead node's claims expire soon.
fn node_args(n: usize, lease: &str) -> Vec<String> {
    [
        "--secret-key",
        SECRET_KEY,
        "--instance-url",
        &format!("http://node-{n}"),
        "--lease",
        lease,
        "--poll-interval",
        "200ms",
        "--workers",
        &WORKERS.to_string(),
        "--retry-schedule",
        "0s,200ms,500ms,1s,1s,1s,1s,1s,1s,1s",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn start_node(database: &TestDatabase, n: usize, lease: &str) -> Server {
    let args = node_args(n, lease);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_node(database.url(), &args)
}

/// One request as the tally saw it.
#[derive(Clone)]
struct Delivery {
    hook: usize,
    key: String,
    event_uuid: String,
    node: String,
}

#[derive(Clone, Default)]
struct TallyState {
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    /// Requests in flight per hook, and the most there ever were.
    in_flight: Arc<Mutex<HashMap<usize, usize>>>,
    most_in_flight: Arc<AtomicUsize>,
}

/// A receiver for many hooks (`/hook/<n>`) that takes a few milliseconds per request, so
/// that requests overlap, and counts requests in flight per hook.
struct Tally {
    url: String,
    state: TallyState,
}

impl Tally {
    async fn start() -> Tally {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = TallyState::default();
        let app = Router::new().fallback(tally).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Tally { url, state }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.state.deliveries.lock().unwrap().clone()
    }

    fn most_in_flight(&self) -> usize {
        self.state.most_in_flight.load(Ordering::SeqCst)
    }

    /// Waits until `done` holds for the deliveries so far (panics after `timeout`).
    async fn wait_until(&self, timeout: Duration, done: impl Fn(&[Delivery]) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            let deliveries = self.deliveries();
            if done(&deliveries) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not done within {timeout:?}: {} deliveries",
                deliveries.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn tally(State(state): State<TallyState>, uri: Uri, headers: HeaderMap) -> StatusCode {
    let hook: usize = uri
        .path()
        .strip_prefix("/hook/")
        .and_then(|n| n.parse().ok())
        .expect("a /hook/<n> path");
    let _in_flight = InFlight::begin(&state, hook);
    tokio::time::sleep(Duration::from_millis(3)).await;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    state.deliveries.lock().unwrap().push(Delivery {
        hook,
        key: header("Idempotency-Key"),
        event_uuid: header("X-WVS-Event-UUID"),
        node: header("X-WVS-Instance"),
    });
    StatusCode::OK
}

/// One request counted in flight until it ends, answered or not: a node killed mid-request
/// closes its connection, and the server then drops the request's handler part-way.
struct InFlight {
    state: TallyState,
    hook: usize,
}

impl InFlight {
    fn begin(state: &TallyState, hook: usize) -> InFlight {
        let mut in_flight = state.in_flight.lock().unwrap();
        let now = in_flight.entry(hook).or_default();
        *now += 1;
        state.most_in_flight.fetch_max(*now, Ordering::SeqCst);
        InFlight {
            state: state.clone(),
            hook,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(now) = self.state.in_flight.lock().unwrap().get_mut(&self.hook) {
            *now -= 1;
        }
    }
}

/// `HOOKS` project hooks, `/hook/0` to `/hook/<HOOKS-1>` of the tally.
async fn hooks(server: &Server, ids: &Registry, tally: &Tally, count: usize) {
    for n in 0..count {
        hook(
            server,
            &format!("/projects/{}", ids.project),
            json!({
                "url": format!("{}/hook/{n}", tally.url),
                "push_events": true,
                "max_in_flight": MAX_IN_FLIGHT,
            }),
        )
        .await;
    }
}

/// Posts `events` push events, spread over the nodes in turn.
async fn post_events(nodes: &[Server], project: i64, events: usize) {
    let body = samples::find("push").unwrap().json.as_bytes();
    for n in 0..events {
        let (status, answer) = nodes[n % nodes.len()]
            .ingest(&format!("/projects/{project}/events"), body)
            .await;
        assert_eq!(status, 202, "{answer}");
    }
}

/// Deliveries per idempotency key.
fn copies(deliveries: &[Delivery]) -> HashMap<&str, Vec<&Delivery>> {
    let mut copies: HashMap<&str, Vec<&Delivery>> = HashMap::new();
    for delivery in deliveries {
        copies.entry(&delivery.key).or_default().push(delivery);
    }
    copies
}

fn per_node(deliveries: &[Delivery]) -> HashMap<&str, usize> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for delivery in deliveries {
        *per_node.entry(&delivery.node).or_default() += 1;
    }
    per_node
}

const TOTAL: usize = HOOKS * EVENTS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_the_work_and_deliver_each_once() {
    let database = TestDatabase::create("nodes").await;
    let tally = Tally::start().await;
    let nodes: Vec<Server> = (0..NODES)
        .map(|n| start_node(&database, n, "10s"))
        .collect();
    let ids = registry(&nodes[0]).await;
    hooks(&nodes[1], &ids, &tally, HOOKS).await;

    post_events(&nodes, ids.project, EVENTS).await;
    tally
        .wait_until(Duration::from_secs(300), |d| copies(d).len() == TOTAL)
        .await;
    // Anything sent twice would have arrived by now.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let deliveries = tally.deliveries();
    assert_eq!(deliveries.len(), TOTAL, "every delivery exactly once");
    let per_node = per_node(&deliveries);
    assert_eq!(per_node.len(), NODES, "every node delivered: {per_node:?}");
    assert!(
        tally.most_in_flight() <= MAX_IN_FLIGHT,
        "{} in flight to one hook",
        tally.most_in_flight()
    );
    let hooks_reached: std::collections::HashSet<usize> =
        deliveries.iter().map(|d| d.hook).collect();
    assert_eq!(hooks_reached.len(), HOOKS);
    println!("three nodes: {TOTAL} deliveries, once each, per node {per_node:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_load_loses_nothing() {
    let database = TestDatabase::create("kill").await;
    let tally = Tally::start().await;
    let mut nodes: Vec<Server> = (0..NODES).map(|n| start_node(&database, n, "5s")).collect();
    let ids = registry(&nodes[0]).await;
    hooks(&nodes[0], &ids, &tally, HOOKS).await;

    post_events(&nodes, ids.project, EVENTS).await;
    tally
        .wait_until(Duration::from_secs(300), |d| d.len() >= TOTAL / 3)
        .await;
    let killed = nodes.pop().unwrap();
    killed.kill();
    let killed_node = format!("http://node-{}", NODES - 1);

    tally
        .wait_until(Duration::from_secs(300), |d| copies(d).len() == TOTAL)
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let deliveries = tally.deliveries();
    let copies = copies(&deliveries);
    assert_eq!(copies.len(), TOTAL, "nothing lost");
    let duplicated: Vec<&Vec<&Delivery>> = copies.values().filter(|c| c.len() > 1).collect();
    // Only what the killed node had claimed (at most its workers) can go out twice: first
    // from it, then from a survivor once its lease expired.
    assert!(
        duplicated.len() <= WORKERS,
        "{} deliveries made twice",
        duplicated.len()
    );
    for copies in &duplicated {
        assert_eq!(copies.len(), 2);
        assert_eq!(
            copies[0].node, killed_node,
            "a duplicate began on the killed node"
        );
    }
    assert!(
        tally.most_in_flight() <= MAX_IN_FLIGHT,
        "{} in flight to one hook",
        tally.most_in_flight()
    );
    let per_node = per_node(&deliveries);
    assert_eq!(per_node.len(), NODES, "every node delivered: {per_node:?}");
    println!(
        "node killed: {TOTAL} deliveries, none lost, {} twice, per node {per_node:?}",
        duplicated.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_pauses_ingest_and_delivery_until_it_is_back() {
    const OUTAGE_HOOKS: usize = 10;
    let database = TestDatabase::create("outage").await;
    let tally = Tally::start().await;
    let nodes: Vec<Server> = (0..2).map(|n| start_node(&database, n, "30s")).collect();
    let ids = registry(&nodes[0]).await;
    hooks(&nodes[0], &ids, &tally, OUTAGE_HOOKS).await;

    // Emitters post all along; only a 202 counts as acknowledged.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut posters = tokio::task::JoinSet::new();
    for node in &nodes {
        let path = format!("/api/v4/projects/{}/events", ids.project);
        let url = format!("{}{path}", node.url);
        let body = retarget(&path, samples::find("push").unwrap().json.as_bytes());
        let (acknowledged, refused, stop) = (acknowledged.clone(), refused.clone(), stop.clone());
        posters.spawn(async move {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            while !stop.load(Ordering::SeqCst) {
                let response = client
                    .post(&url)
                    .header("PRIVATE-TOKEN", ADMIN_TOKEN)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .expect("the node answers, even without its database");
                let status = response.status().as_u16();
                let answer: Value = response.json().await.unwrap_or(Value::Null);
                match status {
                    202 => acknowledged
                        .lock()
                        .unwrap()
                        .push(answer["event_uuid"].as_str().unwrap().to_owned()),
                    503 => refused.lock().unwrap().push(answer["message"].to_string()),
                    other => panic!("unexpected {other}: {answer}"),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    database.set_reachable(false).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let during: Vec<String> = refused.lock().unwrap().clone();
    database.set_reachable(true).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    while let Some(poster) = posters.join_next().await {
        poster.expect("a poster");
    }

    assert!(
        !during.is_empty(),
        "ingest answered 503 while the database was away"
    );
    assert!(
        during.iter().all(|message| message.contains("database")),
        "the 503 says why: {during:?}"
    );
    let acknowledged = acknowledged.lock().unwrap().clone();
    let expected = acknowledged.len() * OUTAGE_HOOKS;
    tally
        .wait_until(Duration::from_secs(120), |d| {
            let reached: std::collections::HashSet<(&str, usize)> =
                d.iter().map(|d| (d.event_uuid.as_str(), d.hook)).collect();
            acknowledged
                .iter()
                .all(|uuid| (0..OUTAGE_HOOKS).all(|hook| reached.contains(&(uuid.as_str(), hook))))
        })
        .await;
    let duplicates = tally.deliveries().len().saturating_sub(expected);
    // Both nodes came through it, and ingest works again.
    for node in &nodes {
        let (status, _) = node
            .ingest(
                &format!("/projects/{}/events", ids.project),
                samples::find("push").unwrap().json.as_bytes(),
            )
            .await;
        assert_eq!(status, 202);
    }
    println!(
        "outage: {} events acknowledged, {} refused with 503, all {expected} deliveries made \
         ({duplicates} more after)",
        acknowledged.len(),
        during.len()
    );
}

/// The date `days` from today (UTC), as `expires_at` takes it.
fn days_ahead(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(days.unsigned_abs())).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_access_token_is_told_once_over_every_node() {
    let database = TestDatabase::create("token_expiry").await;
    let receiver = crate::support::Receiver::start().await;
    let first = start_node(&database, 0, "10s");
    let ids = registry(&first).await;
    let subscribed = |path: &str| json!({"url": format!("{}{path}", receiver.url), "resource_access_token_events": true});
    hook(
        &first,
        &format!("/projects/{}", ids.project),
        subscribed("/project"),
    )
    .await;
    hook(
        &first,
        &format!("/groups/{}", ids.low),
        subscribed("/group"),
    )
    .await;
    let token = |owner: String, days: i64| {
        let first = &first;
        async move {
            first
                .expect(
                    201,
                    "POST",
                    &format!("{owner}/access_tokens"),
                    Some(json!({"name": format!("in-{days}-days"), "scopes": ["api"], "expires_at": days_ahead(days)})),
                )
                .await["id"]
                .as_i64()
                .unwrap()
        }
    };
    let project_token = token(format!("/projects/{}", ids.project), 6).await;
    let group_token = token(format!("/groups/{}", ids.low), 6).await;
    token(format!("/projects/{}", ids.project), 30).await;
    // Two more nodes start meanwhile, and look at once; a fourth looks later.
    let mut nodes: Vec<Server> = (1..NODES)
        .map(|n| start_node(&database, n, "10s"))
        .collect();
    nodes.push(first);
    let told = |path: &str| -> Vec<i64> {
        receiver
            .received()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| {
                let body = r.json();
                assert_eq!(body["object_kind"], "access_token");
                assert_eq!(body["event_name"], "expiring_access_token");
                assert_eq!(r.header("X-WVS-Event"), Some("Resource Access Token Hook"));
                body["object_attributes"]["id"].as_i64().unwrap()
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while told("/group").len() < 2 {
        assert!(
            Instant::now() < deadline,
            "notices not sent: {:?}",
            told("/group")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    nodes.push(start_node(&database, NODES, "10s"));
    // Anything told twice would have arrived by now.
    tokio::time::sleep(Duration::from_secs(3)).await;

    assert_eq!(
        told("/project"),
        vec![project_token],
        "the project's hook: its token once"
    );
    let mut group = told("/group");
    group.sort_unstable();
    assert_eq!(
        group,
        vec![project_token, group_token],
        "the group's hook: both, once each"
    );
    let notice = receiver
        .received()
        .into_iter()
        .find(|r| r.path == "/project")
        .unwrap()
        .json();
    assert_eq!(notice["project"]["id"], ids.project);
    assert_eq!(notice["object_attributes"]["expires_at"], days_ahead(6));
}
