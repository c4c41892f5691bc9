//! The bench's figures: one JSON object with `--json` (field names carry their unit), or
//! lines for a reader.

use std::fmt::Write;

use serde::Serialize;

use super::soak::SizeOverTime;

/// What was run, in every report.
#[derive(Debug, Serialize)]
pub struct Setup {
    /// `sqlite`, `postgres`, or `unknown` (a --server whose database was not given).
    pub store: &'static str,
    /// Servers on the one store (`--nodes`; 1 for a --server).
    pub nodes: u32,
    pub events: u64,
    /// Hooks per project.
    pub hooks: u32,
    /// Projects the events were spread over.
    pub projects: u32,
    /// The size of each posted event body.
    pub payload_bytes: u64,
    /// The steady posting rate asked for (events/s), or null for as fast as possible.
    pub rate: Option<f64>,
    /// Concurrent posters (null with a rate).
    pub posters: Option<u32>,
    pub receiver_delay_ms: f64,
    /// Each hook's max_in_flight, or null for the server's default.
    pub max_in_flight: Option<u32>,
    /// `events × hooks`.
    pub expected_deliveries: u64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// `spawned` (started by the bench) or `external` (--server).
    pub server: &'static str,
    #[serde(flatten)]
    pub setup: Setup,
    /// Distinct (event, hook) pairs the receiver got.
    pub deliveries: u64,
    /// Requests beyond the first for one (event, hook).
    pub duplicates: u64,
    /// Hooks that received at least one delivery (every hook of every project, when the
    /// events were spread over all of them).
    pub hooks_reached: u64,
    /// Successful attempts in the hooks' delivery logs at the end.
    pub recorded: u64,
    /// From the first post to the last acknowledgement.
    pub ingest_seconds: f64,
    pub ingest_events_per_second: f64,
    /// From the first post to the last delivery received.
    pub delivery_seconds: f64,
    pub deliveries_per_second: f64,
    /// From the first post to the delivery log showing every delivery (polled every 100 ms).
    pub recorded_seconds: f64,
    pub recorded_deliveries_per_second: f64,
    /// From each event's acknowledgement (its 202 read) to each receipt.
    pub latency_ms: Latency,
    /// The (first) server's process id.
    pub server_pid: Option<u32>,
    /// The server's user + system CPU time from just before the first post to the end (with
    /// --nodes, summed over the nodes, as are the two figures below).
    pub server_cpu_seconds: Option<f64>,
    /// The server's peak resident set size (VmHWM) over its life.
    pub server_peak_rss_bytes: Option<u64>,
    /// The server's resident set size at the end.
    pub server_rss_bytes: Option<u64>,
    /// Each server the bench started (one per node) with its own figures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_nodes: Vec<NodeFigures>,
    /// This process's CPU time over the same span (posters and receiver share the machine).
    pub bench_cpu_seconds: f64,
    pub store_size: Option<StoreSize>,
    /// With --size-every: the store's size sampled during the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_size_over_time: Option<SizeOverTime>,
    pub load_average_before: Option<f64>,
    pub load_average_after: Option<f64>,
}

/// One node's share of the server figures.
#[derive(Debug, Serialize)]
pub struct NodeFigures {
    pub pid: u32,
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
    pub rss_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
    /// Deliveries timed.
    pub samples: u64,
    /// Deliveries that arrived before their event's 202 was read (timed as 0).
    pub before_ack: u64,
    /// Deliveries whose event UUID was not one the bench posted (not timed).
    pub unmatched: u64,
}

#[derive(Debug, Serialize)]
pub struct StoreSize {
    /// Before the first post (after the hooks were made).
    pub before_bytes: u64,
    /// Once every delivery was recorded, the server still running (SQLite: with its WAL for
    /// a server the bench started, checkpointed for a --server).
    pub after_bytes: u64,
    /// After the bench stopped the server it started and checkpointed a SQLite WAL into the
    /// file (`wal_checkpoint(TRUNCATE)`); null for a server it did not start.
    pub settled_bytes: Option<u64>,
    /// `settled_bytes` (or else `after_bytes`) less `before_bytes`; the per-delivery and
    /// per-event figures divide this.
    pub growth_bytes: i64,
    pub bytes_per_delivery: f64,
    pub bytes_per_event: f64,
}

impl StoreSize {
    pub fn new(
        before: u64,
        after: u64,
        settled: Option<u64>,
        deliveries: u64,
        events: u64,
    ) -> Self {
        let growth = settled.unwrap_or(after) as i64 - before as i64;
        StoreSize {
            before_bytes: before,
            after_bytes: after,
            settled_bytes: settled,
            growth_bytes: growth,
            bytes_per_delivery: growth as f64 / deliveries.max(1) as f64,
            bytes_per_event: growth as f64 / events.max(1) as f64,
        }
    }
}

impl Report {
    /// The figures for a reader.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let rate = self.setup.rate.map_or_else(
            || format!("{} posters", self.setup.posters.unwrap_or(0)),
            |r| format!("{r}/s"),
        );
        let nodes = match self.setup.nodes {
            1 => String::new(),
            nodes => format!(", {nodes} nodes"),
        };
        let _ = writeln!(
            out,
            "wvs bench: {} events over {} project(s) x {} hooks, {} B payload, {rate}, {} store ({} server{nodes})",
            self.setup.events,
            self.setup.projects,
            self.setup.hooks,
            self.setup.payload_bytes,
            self.setup.store,
            self.server
        );
        let _ = writeln!(
            out,
            "ingest      {:>10.0} events/s     ({} events in {:.2} s)",
            self.ingest_events_per_second, self.setup.events, self.ingest_seconds
        );
        let _ = writeln!(
            out,
            "delivered   {:>10.0} deliveries/s ({} of {} received in {:.2} s, {} duplicates)",
            self.deliveries_per_second,
            self.deliveries,
            self.setup.expected_deliveries,
            self.delivery_seconds,
            self.duplicates
        );
        let _ = writeln!(
            out,
            "recorded    {:>10.0} deliveries/s ({} in the delivery log after {:.2} s)",
            self.recorded_deliveries_per_second, self.recorded, self.recorded_seconds
        );
        let l = &self.latency_ms;
        let _ = writeln!(
            out,
            "latency     p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (ack to receipt, {} timed, {} before the ack)",
            l.p50, l.p90, l.p99, l.max, l.samples, l.before_ack
        );
        match (self.server_cpu_seconds, self.server_peak_rss_bytes) {
            (Some(cpu), Some(peak)) => {
                let _ = writeln!(
                    out,
                    "server      {cpu:.2} CPU s ({:.1} µs/delivery), peak RSS {:.1} MiB, RSS at end {:.1} MiB",
                    cpu * 1e6 / self.deliveries.max(1) as f64,
                    mib(peak),
                    mib(self.server_rss_bytes.unwrap_or(0))
                );
            }
            _ => {
                let _ = writeln!(out, "server      not measured (not started by the bench)");
            }
        }
        let _ = writeln!(out, "bench       {:.2} CPU s", self.bench_cpu_seconds);
        match &self.store_size {
            Some(size) => {
                let _ = writeln!(
                    out,
                    "store       {:.1} MiB -> {:.1} MiB running, {} stopped: {:.0} B/delivery, {:.0} B/event",
                    mib(size.before_bytes),
                    mib(size.after_bytes),
                    size.settled_bytes.map_or_else(
                        || "not".to_owned(),
                        |bytes| format!("{:.1} MiB", mib(bytes))
                    ),
                    size.bytes_per_delivery,
                    size.bytes_per_event
                );
            }
            None => {
                let _ = writeln!(out, "store       size not measured (pass --database-url)");
            }
        }
        if let Some(over_time) = &self.store_size_over_time {
            let _ = writeln!(
                out,
                "soak        {} samples every {:.0} s: {:.1} MiB at half-way, at most {:.1} MiB after ({:+.1}%)",
                over_time.samples.len(),
                over_time.every_seconds,
                mib(over_time.at_half_bytes),
                mib(over_time.max_last_half_bytes),
                over_time.last_half_growth * 100.0
            );
        }
        let _ = writeln!(
            out,
            "load avg    {} before, {} after",
            load(self.load_average_before),
            load(self.load_average_after)
        );
        out
    }
}

/// The figures of `wvs bench --backlog`.
#[derive(Debug, Serialize)]
pub struct BacklogReport {
    /// `expected_deliveries` is the backlog.
    #[serde(flatten)]
    pub setup: Setup,
    /// Phase 1: the server with delivery off, once it took every event.
    pub backlog: Backlog,
    /// Phase 2: the delivering server started on the same store after the first was killed.
    pub restart: Restart,
    /// This process's CPU time over both phases.
    pub bench_cpu_seconds: f64,
    pub load_average_before: Option<f64>,
    pub load_average_after: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Backlog {
    /// From the first post to the last acknowledgement.
    pub ingest_seconds: f64,
    pub ingest_events_per_second: f64,
    /// `wvs_backlog{state="pending"}` of the server's `/metrics` once every event was taken.
    pub pending_deliveries: u64,
    /// The server's RSS (VmRSS) with the whole backlog pending.
    pub server_rss_bytes: u64,
    /// The server's peak RSS (VmHWM) over its life, ingest included.
    pub server_peak_rss_bytes: u64,
    /// Before the first post (after the hooks were made), checkpointed.
    pub store_before_bytes: Option<u64>,
    /// With the whole backlog, as the kill leaves it (SQLite: file, WAL and shared memory;
    /// the WAL, up to about 4 MiB at SQLite's auto-checkpoint, is not moved into the file).
    pub store_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Restart {
    pub server_pid: u32,
    /// From the spawn to `/-/ready` answering 200: cold start to serving.
    pub ready_seconds: f64,
    /// From the spawn to the first delivery received.
    pub first_delivery_seconds: f64,
    /// From the spawn to the last delivery received.
    pub last_delivery_seconds: f64,
    /// From the spawn to the delivery logs showing every delivery (polled every 100 ms).
    pub recorded_seconds: f64,
    /// Distinct (event, hook) pairs the receiver got.
    pub deliveries: u64,
    /// Requests beyond the first for one (event, hook).
    pub duplicates: u64,
    /// Successful attempts in the hooks' delivery logs at the end.
    pub recorded: u64,
    /// Deliveries / (first receipt → last receipt).
    pub deliveries_per_second: f64,
    /// The server's user + system CPU time over its life (start and drain).
    pub server_cpu_seconds: f64,
    /// The server's peak RSS (VmHWM) over its life.
    pub server_peak_rss_bytes: u64,
    /// The server's RSS once every delivery was recorded.
    pub server_rss_bytes: u64,
    /// After the bench stopped the server, checkpointed (SQLite): the backlog and its log.
    pub store_drained_bytes: Option<u64>,
}

impl BacklogReport {
    /// The figures for a reader.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let b = &self.backlog;
        let r = &self.restart;
        let _ = writeln!(
            out,
            "wvs bench --backlog: {} events x {} hooks = {} deliveries, {} B payload, {} store",
            self.setup.events,
            self.setup.hooks,
            self.setup.expected_deliveries,
            self.setup.payload_bytes,
            self.setup.store
        );
        let _ = writeln!(
            out,
            "ingest      {:>10.0} events/s     ({} events in {:.2} s, delivery off)",
            b.ingest_events_per_second, self.setup.events, b.ingest_seconds
        );
        let _ = writeln!(
            out,
            "backlog     {} pending: server RSS {:.1} MiB (peak {:.1} MiB), store {} -> {}",
            b.pending_deliveries,
            mib(b.server_rss_bytes),
            mib(b.server_peak_rss_bytes),
            size(b.store_before_bytes),
            size(b.store_bytes)
        );
        let _ = writeln!(
            out,
            "restart     after SIGKILL: ready in {:.3} s, first delivery after {:.3} s",
            r.ready_seconds, r.first_delivery_seconds
        );
        let _ = writeln!(
            out,
            "drain       {:>10.0} deliveries/s ({} of {} received, {} duplicates; last after {:.2} s, recorded after {:.2} s)",
            r.deliveries_per_second,
            r.deliveries,
            self.setup.expected_deliveries,
            r.duplicates,
            r.last_delivery_seconds,
            r.recorded_seconds
        );
        let _ = writeln!(
            out,
            "server      {:.2} CPU s ({:.1} µs/delivery), peak RSS {:.1} MiB, RSS at end {:.1} MiB; store drained {}",
            r.server_cpu_seconds,
            r.server_cpu_seconds * 1e6 / r.deliveries.max(1) as f64,
            mib(r.server_peak_rss_bytes),
            mib(r.server_rss_bytes),
            size(r.store_drained_bytes)
        );
        let _ = writeln!(out, "bench       {:.2} CPU s", self.bench_cpu_seconds);
        let _ = writeln!(
            out,
            "load avg    {} before, {} after",
            load(self.load_average_before),
            load(self.load_average_after)
        );
        out
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

fn size(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "?".to_owned(), |bytes| format!("{:.1} MiB", mib(bytes)))
}

fn load(value: Option<f64>) -> String {
    value.map_or_else(|| "?".to_owned(), |v| format!("{v:.2}"))
}
