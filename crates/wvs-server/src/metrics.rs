//! Prometheus metrics, `GET /metrics` in the text format.
//!
//! Counted as things happen: `wvs_deliveries_total{scope,outcome}` (each attempt's outcome:
//! `succeeded`, `retrying`, `failed`), `wvs_attempt_duration_seconds{scope}` (a histogram
//! with buckets), `wvs_events_ingested_total{scope}` and `wvs_ingest_errors_total{status}`.
//! Read from the store at each scrape, so that every node of a shared database reports the
//! same: `wvs_backlog{state}` (deliveries per state) and `wvs_hooks{alert}` (hooks per
//! auto-disable status). Read from this node's dispatcher at each scrape:
//! `wvs_hook_concurrency_limit{hook_id}` (each hook's adaptive in-flight limit, before its
//! own `max_in_flight`).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use wvs_events::Scope;
use wvs_store::{HookId, Millis, Outcome, Store};

/// Attempt durations, in seconds: from a fast loopback answer to a receiver timing out.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("wvs_attempt_duration_seconds".into()),
                &DURATION_BUCKETS,
            )
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Only fails when a recorder is installed already (a program embedding the
        // server): then the counters go to that one.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Installs the recorder, so that counts start at the first event.
pub fn install() {
    handle();
}

/// One delivery attempt and its outcome.
pub fn attempt(scope: Scope, outcome: &Outcome, seconds: f64) {
    let outcome = match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::RetryAt(_) => "retrying",
        Outcome::Failed => "failed",
    };
    let scope = scope.as_str();
    metrics::counter!("wvs_deliveries_total", "scope" => scope, "outcome" => outcome).increment(1);
    metrics::histogram!("wvs_attempt_duration_seconds", "scope" => scope).record(seconds);
}

/// One event accepted by an ingest endpoint.
pub fn ingested(scope: Scope) {
    metrics::counter!("wvs_events_ingested_total", "scope" => scope.as_str()).increment(1);
}

/// One ingest request refused with `status`.
pub fn ingest_error(status: u16) {
    metrics::counter!("wvs_ingest_errors_total", "status" => status.to_string()).increment(1);
}

/// The text exposition, with the store's gauges read now and each hook's current
/// in-flight limit on this node (`hook_limits`).
pub async fn render(
    store: &dyn Store,
    hook_limits: Vec<(HookId, u32)>,
) -> wvs_store::Result<String> {
    let backlog = store.delivery_counts().await?;
    for (state, count) in [
        ("pending", backlog.pending),
        ("in_flight", backlog.in_flight),
        ("succeeded", backlog.succeeded),
        ("failed", backlog.failed),
    ] {
        metrics::gauge!("wvs_backlog", "state" => state).set(count as f64);
    }
    let hooks = store.hook_alert_counts(Millis::now()).await?;
    for (alert, count) in [
        ("executable", hooks.executable),
        ("temporarily_disabled", hooks.temporarily_disabled),
        ("disabled", hooks.disabled),
    ] {
        metrics::gauge!("wvs_hooks", "alert" => alert).set(count as f64);
    }
    for (hook, limit) in hook_limits {
        metrics::gauge!("wvs_hook_concurrency_limit", "hook_id" => hook.to_string())
            .set(f64::from(limit));
    }
    let handle = handle();
    // Histograms keep raw samples until upkeep folds them into their buckets.
    handle.run_upkeep();
    Ok(handle.render())
}
