//! Nothing acknowledged is lost: a backlog for a receiver that is down survives `kill -9`
//! and is delivered once the receiver is back; a node started with `--deliver false` keeps
//! what it ingests for a delivering node.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wvs_events::samples;

use crate::setup::{hook, registry};
use crate::support::{Receiver, Server};

const EVENTS: usize = 5_000;
/// Short retries and leases so the test runs in seconds, not hours.
const FAST: &[&str] = &[
    "--retry-schedule",
    "0s,200ms,500ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
    "--lease",
    "2s",
    "--poll-interval",
    "200ms",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_survives_kill_9_and_is_delivered() {
    // Take a free port for the receiver, then close it: the receiver is down.
    let receiver = Receiver::start().await;
    let address = receiver.url.trim_start_matches("http://").to_owned();
    let url = receiver.url.clone();
    receiver.stop();

    let server = Server::start(FAST);
    let ids = registry(&server).await;
    let hook_id = hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{url}/hook")}),
    )
    .await;
    let server = Arc::new(server);
    let body = samples::find("push").unwrap().json.as_bytes();
    let events = format!("/projects/{}/events", ids.project);
    let mut acknowledged = HashSet::new();
    // Eight emitters at once.
    for chunk in 0..EVENTS / 250 {
        let mut posts = tokio::task::JoinSet::new();
        for _ in 0..250 {
            let (server, events) = (server.clone(), events.clone());
            posts.spawn(async move { server.ingest(&events, body).await });
            if posts.len() >= 8 {
                let (status, answer) = posts.join_next().await.unwrap().unwrap();
                assert_eq!(status, 202, "chunk {chunk}: {answer}");
                acknowledged.insert(answer["event_uuid"].as_str().unwrap().to_owned());
            }
        }
        while let Some(result) = posts.join_next().await {
            let (status, answer) = result.unwrap();
            assert_eq!(status, 202, "{answer}");
            acknowledged.insert(answer["event_uuid"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(acknowledged.len(), EVENTS);

    let dir = server.dir.clone();
    Arc::into_inner(server).expect("no other owner").kill();
    let server = Server::start_in(&dir, FAST);
    let receiver = Receiver::start_at(&address).await;
    // The hook failed while the receiver was down and may be auto-disabled: its deliveries
    // are held; the operator re-enables it once the receiver is back.
    server
        .expect(
            200,
            "POST",
            &format!("/projects/{}/hooks/{hook_id}/enable", ids.project),
            None,
        )
        .await;

    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let delivered = loop {
        let delivered: HashSet<String> = receiver
            .received()
            .iter()
            .filter_map(|r| r.header("X-WVS-Event-UUID").map(str::to_owned))
            .collect();
        if delivered.len() >= EVENTS || std::time::Instant::now() > deadline {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let missing = acknowledged.difference(&delivered).count();
    assert_eq!(
        missing, 0,
        "{missing} acknowledged events were never delivered"
    );

    // The log shows them: one successful attempt per event at least.
    let path = format!(
        "/projects/{}/hooks/{hook_id}/events?status=successful&per_page=1",
        ids.project
    );
    let (status, headers, _) = server.api_raw("GET", &path, None, &[]).await;
    assert_eq!(status, 200);
    let total: usize = headers["x-total"].to_str().unwrap().parse().unwrap();
    assert!(total >= EVENTS, "the log shows {total} successful attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_delivery_off_keeps_the_backlog_for_a_delivering_one() {
    const HELD: usize = 3;
    let receiver = Receiver::start().await;
    let mut args = FAST.to_vec();
    args.extend(["--deliver", "false"]);
    let server = Server::start(&args);
    let ids = registry(&server).await;
    let hook_id = hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/hook", receiver.url)}),
    )
    .await;
    let body = samples::find("push").unwrap().json.as_bytes();
    let mut acknowledged = HashSet::new();
    for _ in 0..HELD {
        let (status, answer) = server
            .ingest(&format!("/projects/{}/events", ids.project), body)
            .await;
        assert_eq!(status, 202, "{answer}");
        acknowledged.insert(answer["event_uuid"].as_str().unwrap().to_owned());
    }
    // Several poll intervals (200 ms): a dispatcher would have delivered by now.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        receiver.received().is_empty(),
        "a node with delivery off delivered"
    );
    let log = format!("/projects/{}/hooks/{hook_id}/events", ids.project);
    assert_eq!(server.expect(200, "GET", &log, None).await, json!([]));

    let dir = server.dir.clone();
    server.kill();
    let server = Server::start_in(&dir, FAST);
    let received = receiver.wait_for(HELD, Duration::from_secs(30)).await;
    let delivered: HashSet<String> = received
        .iter()
        .filter_map(|r| r.header("X-WVS-Event-UUID").map(str::to_owned))
        .collect();
    assert_eq!(delivered, acknowledged);
    server.wait_for_log(&log, HELD).await;
    // Nothing more than one delivery per event.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), HELD);
}
