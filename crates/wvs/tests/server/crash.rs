//! Crash recovery under load: `kill -9` three times at random moments while events keep
//! coming; every acknowledged event still reaches its hook, duplicates carry the same
//! Idempotency-Key, and there are no more of them than deliveries that can be in flight.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wvs_events::samples;

use crate::setup::{hook, registry};
use crate::support::{ADMIN_TOKEN, Receiver, Server, retarget};

const KILLS: usize = 3;
const POSTERS: usize = 4;
const MAX_IN_FLIGHT: usize = 4;
const FAST: &[&str] = &[
    "--lease",
    "2s",
    "--poll-interval",
    "100ms",
    "--retry-schedule",
    "0s,200ms,500ms,1s,1s,1s,1s,1s,1s,1s",
];

/// A pause of 300 to 1,500 ms, different on every call.
fn random_pause() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Duration::from_millis(300 + u64::from(nanos % 1_200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_three_times_under_load_loses_nothing() {
    let receiver = Receiver::start().await;
    let mut server = Server::start(FAST);
    let dir = server.dir.clone();
    let ids = registry(&server).await;
    hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/hook", receiver.url), "max_in_flight": MAX_IN_FLIGHT}),
    )
    .await;

    // Emitters post as fast as the server answers; only a 202 counts as acknowledged.
    let url = Arc::new(RwLock::new(server.url.clone()));
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut posters = tokio::task::JoinSet::new();
    for _ in 0..POSTERS {
        let (url, acknowledged, stop) = (url.clone(), acknowledged.clone(), stop.clone());
        let path = format!("/api/v4/projects/{}/events", ids.project);
        posters.spawn(async move {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let body = retarget(&path, samples::find("push").unwrap().json.as_bytes());
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let base = url.read().unwrap().clone();
                let sent = client
                    .post(format!("{base}{path}"))
                    .header("PRIVATE-TOKEN", ADMIN_TOKEN)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().as_u16() == 202 => {
                        let answer: Value = response.json().await.unwrap();
                        let uuid = answer["event_uuid"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().insert(uuid);
                    }
                    // The server is down or going down: nothing was acknowledged.
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
    }

    for _ in 0..KILLS {
        tokio::time::sleep(random_pause()).await;
        server.kill();
        server = Server::start_in(&dir, FAST);
        *url.write().unwrap() = server.url.clone();
    }
    tokio::time::sleep(random_pause()).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    while posters.join_next().await.is_some() {}

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 100,
        "a steady load: {}",
        acknowledged.len()
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let (received, keys) = loop {
        let mut received: HashMap<String, usize> = HashMap::new();
        let mut keys: HashMap<String, HashSet<String>> = HashMap::new();
        for request in receiver.received() {
            let uuid = request.header("X-WVS-Event-UUID").unwrap().to_owned();
            *received.entry(uuid.clone()).or_default() += 1;
            let key = request.header("Idempotency-Key").unwrap().to_owned();
            keys.entry(uuid).or_default().insert(key);
        }
        if acknowledged.iter().all(|uuid| received.contains_key(uuid)) {
            break (received, keys);
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged events never delivered",
            acknowledged
                .iter()
                .filter(|u| !received.contains_key(*u))
                .count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let duplicates: usize = received.values().map(|n| n - 1).sum();
    assert!(
        keys.values().all(|keys| keys.len() == 1),
        "every copy of an event carries the same Idempotency-Key"
    );
    // Only deliveries claimed but not yet recorded at a kill can go out twice: at most the
    // hook's in-flight limit per kill.
    assert!(
        duplicates <= KILLS * MAX_IN_FLIGHT,
        "{duplicates} duplicates for {} events",
        acknowledged.len()
    );
    println!(
        "crash test: {} events acknowledged, all delivered, {duplicates} duplicates",
        acknowledged.len()
    );
}
