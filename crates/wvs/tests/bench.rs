//! `wvs bench` end to end: it starts its own server on a temporary SQLite file (or nodes on a
//! PostgreSQL database) and its own receiver, and its JSON report carries every figure. The
//! figures' values are machine dependent and are not asserted (BENCHMARKS.md records them);
//! the counts are.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The whole run, server start included, on a slow debug build and a busy machine.
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `wvs bench` with `args` and `--json`, and returns its report.
fn bench(args: &[&str]) -> Value {
    let (status, stdout, stderr) = run_bench(args);
    assert!(status.success(), "wvs bench failed: {stderr}");
    serde_json::from_str(&stdout).expect("stdout is one JSON object")
}

/// Runs `wvs bench` with `args` and `--json` within the [`DEADLINE`]; returns how it ended,
/// its stdout and its stderr.
fn run_bench(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wvs"))
        .arg("bench")
        .args(args)
        .args(["--json", "--timeout", "100s"])
        .env_remove("WVS_ADMIN_TOKEN")
        .env_remove("WVS_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wvs bench starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wvs bench did not finish within {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

/// Asserts that the figure at `path` is a number above zero.
fn positive(report: &Value, path: &[&str]) {
    let value = path.iter().fold(report, |value, key| &value[*key]);
    let number = value
        .as_f64()
        .unwrap_or_else(|| panic!("{} is not a number: {report:#}", path.join(".")));
    assert!(number > 0.0, "{} is {number}: {report:#}", path.join("."));
}

#[test]
fn bench_reports_every_figure_for_200_events_to_2_hooks_of_2_projects() {
    let report = bench(&["--events", "200", "--hooks", "2", "--projects", "2"]);

    assert_eq!(report["store"], "sqlite");
    assert_eq!(report["server"], "spawned");
    assert_eq!(report["events"], 200);
    assert_eq!(report["hooks"], 2);
    assert_eq!(report["projects"], 2);
    assert_eq!(report["expected_deliveries"], 400);
    assert_eq!(
        report["hooks_reached"], 4,
        "events go to both projects: {report:#}"
    );
    assert_eq!(report["deliveries"], 400, "{report:#}");
    assert_eq!(report["duplicates"], 0, "{report:#}");
    assert_eq!(report["recorded"], 400, "{report:#}");
    assert_eq!(report["latency_ms"]["samples"], 400, "{report:#}");
    assert_eq!(report["latency_ms"]["unmatched"], 0, "{report:#}");

    for figure in [
        &["payload_bytes"][..],
        &["ingest_seconds"],
        &["ingest_events_per_second"],
        &["delivery_seconds"],
        &["deliveries_per_second"],
        &["recorded_seconds"],
        &["recorded_deliveries_per_second"],
        &["latency_ms", "p50"],
        &["latency_ms", "p90"],
        &["latency_ms", "p99"],
        &["latency_ms", "max"],
        &["latency_ms", "mean"],
        &["server_pid"],
        &["server_cpu_seconds"],
        &["server_peak_rss_bytes"],
        &["server_rss_bytes"],
        &["store_size", "before_bytes"],
        &["store_size", "after_bytes"],
        &["store_size", "settled_bytes"],
        &["store_size", "growth_bytes"],
        &["store_size", "bytes_per_delivery"],
        &["store_size", "bytes_per_event"],
    ] {
        positive(&report, figure);
    }
    // Percentiles are ordered; the time to record follows the time to receive.
    let latency = &report["latency_ms"];
    let ms = |key: &str| latency[key].as_f64().unwrap();
    assert!(ms("p50") <= ms("p90") && ms("p90") <= ms("p99") && ms("p99") <= ms("max"));
    assert!(
        report["recorded_seconds"].as_f64().unwrap()
            >= report["delivery_seconds"].as_f64().unwrap()
    );
    for key in [
        "bench_cpu_seconds",
        "load_average_before",
        "load_average_after",
    ] {
        assert!(report[key].is_number(), "{key}: {report:#}");
    }
}

#[test]
fn backlog_is_delivered_exactly_once_after_a_kill_and_restart() {
    let report = bench(&["--backlog", "--events", "200", "--hooks", "5"]);

    assert_eq!(report["store"], "sqlite");
    assert_eq!(report["expected_deliveries"], 1000);
    assert_eq!(report["backlog"]["pending_deliveries"], 1000, "{report:#}");
    assert_eq!(report["restart"]["deliveries"], 1000, "{report:#}");
    assert_eq!(report["restart"]["duplicates"], 0, "{report:#}");
    assert_eq!(report["restart"]["recorded"], 1000, "{report:#}");
    for figure in [
        &["payload_bytes"][..],
        &["backlog", "ingest_seconds"],
        &["backlog", "ingest_events_per_second"],
        &["backlog", "server_rss_bytes"],
        &["backlog", "server_peak_rss_bytes"],
        &["backlog", "store_before_bytes"],
        &["backlog", "store_bytes"],
        &["restart", "server_pid"],
        &["restart", "ready_seconds"],
        &["restart", "first_delivery_seconds"],
        &["restart", "last_delivery_seconds"],
        &["restart", "recorded_seconds"],
        &["restart", "deliveries_per_second"],
        &["restart", "server_cpu_seconds"],
        &["restart", "server_peak_rss_bytes"],
        &["restart", "server_rss_bytes"],
        &["restart", "store_drained_bytes"],
    ] {
        positive(&report, figure);
    }
    // The server starts, then delivers; the store grew by the backlog and its log. (The
    // backlog's size includes SQLite's WAL, up to 4 MiB: at this scale not below the drained
    // and checkpointed store.)
    let figure = |path: [&str; 2]| report[path[0]][path[1]].as_f64().unwrap();
    assert!(figure(["restart", "ready_seconds"]) <= figure(["restart", "last_delivery_seconds"]));
    assert!(
        figure(["restart", "first_delivery_seconds"])
            <= figure(["restart", "last_delivery_seconds"])
    );
    assert!(figure(["backlog", "store_bytes"]) > figure(["backlog", "store_before_bytes"]));
    assert!(figure(["restart", "store_drained_bytes"]) > figure(["backlog", "store_before_bytes"]));
}

#[tokio::test]
async fn two_nodes_on_postgresql_deliver_every_event_exactly_once() {
    let database = wvs_store::testing::TestDatabase::create("bench_nodes").await;
    let url = database.url().to_owned();
    let report = tokio::task::spawn_blocking(move || {
        bench(&["--nodes", "2", "--database-url", &url, "--events", "300"])
    })
    .await
    .unwrap();

    assert_eq!(report["store"], "postgres");
    assert_eq!(report["nodes"], 2);
    assert_eq!(report["deliveries"], 300, "{report:#}");
    assert_eq!(report["duplicates"], 0, "{report:#}");
    assert_eq!(report["recorded"], 300, "{report:#}");
    assert_eq!(report["latency_ms"]["unmatched"], 0, "{report:#}");
    let nodes = report["server_nodes"]
        .as_array()
        .expect("each node's figures");
    assert_eq!(nodes.len(), 2, "{report:#}");
    // The sums cover both nodes: each node's CPU is part of the whole.
    let node_cpu = |node: usize| nodes[node]["cpu_seconds"].as_f64().unwrap();
    assert!(node_cpu(0) > 0.0 && node_cpu(1) > 0.0, "{report:#}");
    let total = report["server_cpu_seconds"].as_f64().unwrap();
    assert!(
        (total - node_cpu(0) - node_cpu(1)).abs() < 1e-9,
        "{report:#}"
    );
    assert_ne!(nodes[0]["pid"], nodes[1]["pid"]);
}

#[test]
fn several_nodes_on_sqlite_are_refused() {
    let (status, stdout, stderr) = run_bench(&["--nodes", "2", "--events", "10"]);
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("--nodes 2 needs a PostgreSQL --database-url"),
        "{stderr}"
    );
}
