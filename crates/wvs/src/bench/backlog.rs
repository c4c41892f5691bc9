//! `wvs bench --backlog`: the server with every delivery still to make.
//!
//! 1. A server with delivery off (`--deliver false`) takes `--events` events for `--hooks`
//!    hooks, so that `events × hooks` deliveries wait in the store. With all of them pending,
//!    the bench reads the server's RSS and the store's size, then kills the server (SIGKILL:
//!    the backlog must survive it).
//! 2. A delivering server starts on the same store. The bench times its cold start (spawn to
//!    `/-/ready` answering 200) and its first delivery, lets it drain the whole backlog
//!    (within `--timeout`), and reports the drain rate, the server's CPU and peak RSS.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::receiver::Receiver;
use super::report::{Backlog, BacklogReport, Restart};
use super::target::{self, Target};
use super::{
    Api, Args, Progress, Registered, distinct_deliveries, expected_deliveries, last_ack,
    per_second, post_events, register, seconds, server_stats, settled_size, setup, start_receiver,
    stop_spawned, wait_for_receipts, wait_until_recorded,
};

/// How often `/-/ready` is asked while the restarted server starts.
const READY_POLL: Duration = Duration::from_millis(2);

pub async fn run(args: &Args) -> Result<BacklogReport> {
    let load_before = target::load_average();
    let mut serve_args = args.serve_args.clone();
    serve_args.extend(["--deliver".to_owned(), "false".to_owned()]);
    let mut target = target::spawn(
        args.serve_binary.as_deref(),
        args.database_url.as_deref(),
        &serve_args,
        1,
    )?;
    let result = measure(args, &mut target, load_before).await;
    stop_spawned(&mut target, result.is_err());
    let mut report = result?;
    report.restart.store_drained_bytes = settled_size(&target.store).await?;
    Ok(report)
}

async fn measure(
    args: &Args,
    target: &mut Target,
    load_before: Option<f64>,
) -> Result<BacklogReport> {
    let deadline = Instant::now() + args.timeout;
    let bench_before = target::process_stats("self")?;
    let receiver = start_receiver(args).await?;
    let posted = Arc::new(AtomicU64::new(0));
    let progress = Progress::start(
        expected_deliveries(args),
        args.events,
        posted.clone(),
        &receiver,
    );
    let (backlog, registered, payloads) =
        build_backlog(args, target, &receiver, posted, deadline).await?;
    // The start is timed from the spawn: block this worker only, not the receiver's tasks.
    tokio::task::block_in_place(|| target.restart(&args.serve_args))?;
    let restart = drain(args, target, &receiver, &registered, deadline).await?;
    progress.finish(receiver.count());
    receiver.stop();
    Ok(BacklogReport {
        setup: setup(args, target, &payloads),
        backlog,
        restart,
        bench_cpu_seconds: target::process_stats("self")?.cpu_seconds - bench_before.cpu_seconds,
        load_average_before: load_before,
        load_average_after: target::load_average(),
    })
}

/// Phase 1: registers the hooks and posts every event to the server with delivery off, then
/// measures it and the store with the whole backlog pending.
async fn build_backlog(
    args: &Args,
    target: &Target,
    receiver: &Receiver,
    posted: Arc<AtomicU64>,
    deadline: Instant,
) -> Result<(Backlog, Registered, Vec<Vec<u8>>)> {
    let api = Api::new(target)?;
    let registered = register(&api, receiver, args).await?;
    let payloads = registered.payloads(args.payload_bytes)?;
    let size_before = settled_size(&target.store).await?;
    let started = Instant::now();
    let acks = post_events(
        api.clone(),
        &target.urls(),
        registered.events_paths(),
        payloads.clone(),
        args,
        posted,
        deadline,
    )
    .await?;
    let ingest_seconds = seconds(started, last_ack(&acks, started));
    if receiver.count() > 0 {
        bail!("the server delivered although it was started with --deliver false");
    }
    let pending_deliveries = pending_deliveries(&api.client, &target.url).await?;
    let held = *server_stats(target)?
        .first()
        .context("the bench started no server")?;
    // Not checkpointed: the store exactly as the kill will leave it (WAL included).
    let size = target.store.size().await?;
    let backlog = Backlog {
        ingest_seconds,
        ingest_events_per_second: per_second(args.events, ingest_seconds),
        pending_deliveries,
        server_rss_bytes: held.rss_bytes,
        server_peak_rss_bytes: held.peak_rss_bytes,
        store_before_bytes: size_before,
        store_bytes: size,
    };
    Ok((backlog, registered, payloads))
}

/// Phase 2: times the restarted server's start and first delivery, and waits until it has
/// delivered and recorded the whole backlog.
async fn drain(
    args: &Args,
    target: &Target,
    receiver: &Receiver,
    registered: &Registered,
    deadline: Instant,
) -> Result<Restart> {
    let child = target
        .child
        .as_ref()
        .context("the bench started no server")?;
    let spawned = child.started();
    let api = Api::new(target)?;
    let ready = wait_until_ready(&api.client, &target.url, deadline).await?;
    let expected = expected_deliveries(args);
    wait_for_receipts(receiver, expected, deadline, args.timeout).await?;
    let recorded = wait_until_recorded(&api, registered, expected, deadline, args.timeout).await?;
    let recorded_at = Instant::now();
    let stats = target::process_stats(&child.pid().to_string())?;
    // Read once every delivery is recorded, so that a late duplicate would be counted.
    let arrivals = receiver.arrivals();
    let first = arrivals.iter().map(|a| a.at).min().unwrap_or(spawned);
    let last = arrivals.iter().map(|a| a.at).max().unwrap_or(spawned);
    let deliveries = distinct_deliveries(&arrivals);
    Ok(Restart {
        server_pid: child.pid(),
        ready_seconds: seconds(spawned, ready),
        first_delivery_seconds: seconds(spawned, first),
        last_delivery_seconds: seconds(spawned, last),
        recorded_seconds: seconds(spawned, recorded_at),
        deliveries,
        duplicates: arrivals.len() as u64 - deliveries,
        recorded,
        deliveries_per_second: per_second(deliveries, seconds(first, last)),
        server_cpu_seconds: stats.cpu_seconds,
        server_peak_rss_bytes: stats.peak_rss_bytes,
        server_rss_bytes: stats.rss_bytes,
        store_drained_bytes: None,
    })
}

/// Asks `/-/ready` until it answers 200 (the store answers); returns when it did.
async fn wait_until_ready(
    client: &reqwest::Client,
    url: &str,
    deadline: Instant,
) -> Result<Instant> {
    let ready = format!("{url}/-/ready");
    loop {
        let answer = client.get(&ready).send().await;
        if answer.is_ok_and(|response| response.status() == reqwest::StatusCode::OK) {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("{ready} did not answer 200 before the --timeout");
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// Pending deliveries as the server's store counts them: `wvs_backlog{state="pending"}` of
/// its `/metrics`.
async fn pending_deliveries(client: &reqwest::Client, url: &str) -> Result<u64> {
    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .context("GET /metrics")?
        .text()
        .await
        .context("reading /metrics")?;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(r#"wvs_backlog{state="pending"} "#))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|count| count as u64)
        .context("/metrics has no wvs_backlog{state=\"pending\"}")
}
