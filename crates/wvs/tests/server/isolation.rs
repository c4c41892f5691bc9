//! The isolation figure (BENCHMARKS.md): 9 healthy hooks and 1 that never answers, 1,000
//! events each; the healthy hooks' delivery latency (ingest acknowledgement to receipt) p99
//! against a run without the bad hook. A measurement, not a pass/fail test: run it with
//! `cargo test --release -p wvs --test server -- --ignored isolation --nocapture`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use wvs_events::samples;

use crate::scripted::{Reply, Scripted};
use crate::setup::{hook, registry};
use crate::support::Server;

const EVENTS: usize = 1_000;
const HEALTHY: usize = 9;

/// Healthy hooks' latencies in milliseconds, sorted, with or without a hanging tenth hook.
async fn latencies(with_bad_hook: bool) -> Vec<f64> {
    let server = Server::start(&["--delivery-timeout", "10s"]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let mut healthy = Vec::new();
    for _ in 0..HEALTHY {
        let receiver = Scripted::start(|_| Reply::Status(200)).await;
        hook(&server, &owner, json!({ "url": receiver.url })).await;
        healthy.push(receiver);
    }
    let bad = Scripted::start(|_| Reply::Hang).await;
    if with_bad_hook {
        hook(&server, &owner, json!({ "url": bad.url })).await;
    }
    let body = samples::find("push").unwrap().json.as_bytes();
    let mut acked: HashMap<String, Instant> = HashMap::with_capacity(EVENTS);
    for _ in 0..EVENTS {
        let (status, answer) = server.ingest(&format!("{owner}/events"), body).await;
        assert_eq!(status, 202);
        acked.insert(
            answer["event_uuid"].as_str().unwrap().to_owned(),
            Instant::now(),
        );
    }
    let mut latencies = Vec::with_capacity(EVENTS * HEALTHY);
    for receiver in &healthy {
        for arrival in receiver.wait_for(EVENTS, Duration::from_secs(120)).await {
            let acked_at = acked[&arrival.event_uuid];
            let latency = arrival.at.saturating_duration_since(acked_at);
            latencies.push(latency.as_secs_f64() * 1_000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for BENCHMARKS.md; run with --ignored"]
async fn isolation_figure() {
    let baseline = latencies(false).await;
    let with_bad = latencies(true).await;
    for (name, run) in [
        ("9 healthy", &baseline),
        ("9 healthy + 1 hanging", &with_bad),
    ] {
        println!(
            "isolation: {name:<22} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} deliveries)",
            percentile(run, 50.0),
            percentile(run, 99.0),
            run.last().unwrap(),
            run.len()
        );
    }
    println!(
        "isolation: p99 ratio {:.2}",
        percentile(&with_bad, 99.0) / percentile(&baseline, 99.0)
    );
}
