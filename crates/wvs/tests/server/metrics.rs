//! `GET /metrics` parses as the Prometheus text format and its counters move as events come
//! in and deliveries are made; `GET /-/ready` answers while the store does.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use wvs_events::samples;

use crate::setup::{hook, registry};
use crate::support::{Receiver, Server};

/// Every sample of the exposition: `name{labels}` (labels sorted) to value.
async fn scrape(server: &Server) -> HashMap<String, f64> {
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format");
    scrape
        .samples
        .into_iter()
        .filter_map(|sample| {
            let value = match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                // Histograms: their count, under the metric's name.
                prometheus_parse::Value::Histogram(buckets) => buckets.last()?.count,
                prometheus_parse::Value::Summary(_) => return None,
            };
            let mut labels: Vec<String> = sample
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            labels.sort();
            Some((format!("{}{{{}}}", sample.metric, labels.join(",")), value))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_with_deliveries() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ready = reqwest::get(format!("{}/-/ready", server.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let ids = registry(&server).await;
    hook(
        &server,
        &format!("/projects/{}", ids.project),
        json!({"url": format!("{}/hook", receiver.url)}),
    )
    .await;
    let before = scrape(&server).await;
    assert_eq!(before.get("wvs_hooks{alert=executable}"), Some(&1.0));

    let push = samples::find("push").unwrap().json.as_bytes();
    let events = format!("/projects/{}/events", ids.project);
    for _ in 0..3 {
        let (status, _) = server.ingest(&events, push).await;
        assert_eq!(status, 202);
    }
    let (status, _) = server.ingest(&events, b"{not json").await;
    assert_eq!(status, 400);
    receiver.wait_for(3, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let after = scrape(&server).await;
    let get = |key: &str| after.get(key).copied().unwrap_or(0.0);
    assert_eq!(get("wvs_events_ingested_total{scope=project}"), 3.0);
    assert_eq!(get("wvs_ingest_errors_total{status=400}"), 1.0);
    assert_eq!(
        get("wvs_deliveries_total{outcome=succeeded,scope=project}"),
        3.0
    );
    assert_eq!(
        get("wvs_attempt_duration_seconds{scope=project}"),
        3.0,
        "a histogram with buckets: {after:?}"
    );
    assert_eq!(get("wvs_backlog{state=succeeded}"), 3.0);
    assert_eq!(get("wvs_backlog{state=pending}"), 0.0);
}
