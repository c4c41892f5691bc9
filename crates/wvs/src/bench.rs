//! `wvs bench`: measures WVS end to end on this machine. It starts a server (this executable's
//! `serve`, on a temporary SQLite file or on a PostgreSQL database it is given, where it may
//! start `--nodes` of them) or uses a running one, starts its own loopback receiver,
//! registers a project with `--hooks` hooks, posts `--events` events (at `--rate` or as fast
//! as `--posters` concurrent posters can), and reports ingest rate, delivery throughput,
//! latency from acknowledgement to receipt, the server's CPU time and peak RSS, and the
//! store's growth.
//!
//! # Layout
//!
//! - this file: the flags and the run: set up, post, wait for receipt, wait for the log.
//! - [`backlog`]: the `--backlog` run: build a backlog, kill, restart, drain.
//! - [`compare`]: `--compare-binary` / `--compare-serve-arg`: two servers or two settings
//!   run alternately, and the ratio of each pair.
//! - [`receiver`]: the in-process receiver that timestamps every delivery.
//! - [`target`]: the server under test, `/proc` figures and the store's size.
//! - [`report`]: the figures, printed for a reader or as JSON.
//! - [`soak`]: `--size-every`: the store's size sampled while the run lasts.
//!
//! Throughput counts a delivery when the receiver got it; the run then waits until the
//! server's delivery log (`GET .../hooks/:id/events?status=successful`, its `X-Total`) shows
//! every one recorded, and reports that time too, since a delivery is finished for WVS only
//! once its attempt is stored.
//!
//! `--backlog` measures a server with every delivery still to make instead: see [`backlog`].

mod backlog;
mod compare;
mod receiver;
mod report;
mod soak;
mod target;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use receiver::{Arrival, Receiver};
use report::{BacklogReport, Latency, NodeFigures, Report, Setup, StoreSize};
use target::{Store, Target};

/// Posts in flight at once at most when a `--rate` is set (a slow acknowledgement must not
/// hold the schedule back, nor may posts pile up without bound).
const RATE_IN_FLIGHT: usize = 256;
/// How often the delivery log is read while waiting for it to show every delivery.
const RECORDED_POLL: Duration = Duration::from_millis(100);

#[derive(clap::Args)]
pub struct Args {
    /// Events to post.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    events: u64,
    /// Hooks on each project: each event goes to every one of its project's (fan-out).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    hooks: u32,
    /// Projects the events are spread over, one after another, each with --hooks hooks: one
    /// busy hook (the default) or load spread over many, as a platform's is.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    projects: u32,
    /// Post at this steady rate (`1000/s` or `1000`) instead of as fast as possible.
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    rate: Option<f64>,
    /// Concurrent posters when no --rate is given. Each waits for its `202`; the server
    /// commits what arrives together in one transaction, so throughput needs many emitters at
    /// once, as a platform has.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    posters: u32,
    /// Pad the documented push example to about this many bytes, or trim its commits to come
    /// near it (it is 2.1 KB compact, 1.7 KB with one commit) [default: the example as is].
    #[arg(long, value_name = "BYTES")]
    payload_bytes: Option<usize>,
    /// The receiver answers 200 after this long (the arrival is timed before it waits).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    receiver_delay: Duration,
    /// Each hook's max_in_flight (1-1000) [default: the server's default].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_in_flight: Option<u32>,
    /// The store of the server the bench starts: a SQLite path or a `postgres://` URL of an
    /// existing database (the bench creates none) [default: a temporary SQLite file]. With
    /// --server, the running server's database, read only to measure its size.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Servers to start on the one PostgreSQL --database-url, each on its own port: the bench
    /// registers on the first, the posters spread the events over all of them in turn, and
    /// the report sums their CPU and memory (each node's too, in the JSON).
    #[arg(
        long,
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..=16),
        conflicts_with_all = ["server", "backlog"]
    )]
    nodes: u32,
    /// Use this running server (started with --allow-local-requests) instead of starting one.
    #[arg(long, value_name = "URL", requires = "admin_token")]
    server: Option<String>,
    /// The admin token of the --server.
    #[arg(long, env = "WVS_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// An extra argument for the `wvs serve` the bench starts (repeat it: `--serve-arg=--workers
    /// --serve-arg=128`).
    #[arg(long = "serve-arg", value_name = "ARG", allow_hyphen_values = true)]
    serve_args: Vec<String>,
    /// The `wvs` executable whose `serve` the bench starts [default: this one].
    #[arg(long, value_name = "PATH", conflicts_with = "server")]
    serve_binary: Option<PathBuf>,
    /// Compare: run the bench `--pairs` times against the server as set above (A) and
    /// against this executable's `serve` (B), alternately (A B A B ...), and print each
    /// pair's B/A ratio and their range.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["server", "backlog"])]
    compare_binary: Option<PathBuf>,
    /// Compare: an extra argument for B's `wvs serve` only, after the --serve-arg ones
    /// (repeat it); alone, it compares two settings of one executable.
    #[arg(
        long = "compare-serve-arg",
        value_name = "ARG",
        allow_hyphen_values = true,
        conflicts_with_all = ["server", "backlog"]
    )]
    compare_serve_args: Vec<String>,
    /// Compare: how many A-B pairs to run.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pairs: u32,
    /// Measure a backlog: post every event to a server with delivery off (`--deliver
    /// false`), read its memory and the store's size with every delivery pending, kill it
    /// (SIGKILL), start a delivering server on the same store, and time its cold start, its
    /// first delivery and the drain of the whole backlog.
    #[arg(long, conflicts_with = "server")]
    backlog: bool,
    /// Soak: sample the store's size this often while the events are posted and delivered
    /// (`store_size_over_time` in the JSON); pair it with --rate and a serve's
    /// --log-retention. The delivery log is not waited for: the retention prunes it.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, conflicts_with_all = ["backlog"])]
    size_every: Option<Duration>,
    /// Give up (and fail) when the run takes longer than this.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print the figures as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_rate(value: &str) -> Result<f64, String> {
    let number = value.strip_suffix("/s").unwrap_or(value);
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|rate| rate.is_finite() && *rate > 0.0)
        .ok_or_else(|| format!("`{value}` is not a rate such as 1000/s"))
}

pub async fn run(args: Args) -> Result<()> {
    if args.backlog {
        let report = backlog::run(&args).await?;
        return print(&report, BacklogReport::text, args.json);
    }
    if args.compare_binary.is_some() || !args.compare_serve_args.is_empty() {
        let comparison = compare::run(&args).await?;
        return print(&comparison, compare::Comparison::text, args.json);
    }
    let report = run_once(&args, args.serve_binary.as_deref(), &args.serve_args).await?;
    print(&report, Report::text, args.json)
}

/// One run: against the --server, or a `wvs serve` of `binary` started with `serve_args`.
async fn run_once(
    args: &Args,
    binary: Option<&std::path::Path>,
    serve_args: &[String],
) -> Result<Report> {
    let load_before = target::load_average();
    let mut target = match &args.server {
        Some(url) => Target {
            url: url.trim_end_matches('/').to_owned(),
            admin_token: args.admin_token.clone().unwrap_or_default(),
            store: match &args.database_url {
                Some(url) if url.starts_with("postgres") => Store::Postgres(url.clone()),
                Some(path) => Store::Sqlite(path.into()),
                None => Store::Unknown,
            },
            child: None,
            more_nodes: Vec::new(),
        },
        None => target::spawn(binary, args.database_url.as_deref(), serve_args, args.nodes)?,
    };
    let result = measure(args, &target, load_before).await;
    stop_spawned(&mut target, result.is_err());
    let mut report = result?;
    // The store once the server stopped, its WAL (SQLite) checkpointed into the file.
    if target.child.is_some()
        && let Some(size) = &report.store_size
        && let Some(settled) = settled_size(&target.store).await?
    {
        report.store_size = Some(StoreSize::new(
            size.before_bytes,
            size.after_bytes,
            Some(settled),
            report.deliveries,
            report.setup.events,
        ));
    }
    Ok(report)
}

/// Prints the figures as JSON or for a reader.
fn print<R: serde::Serialize>(report: &R, text: fn(&R) -> String, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", text(report));
    }
    Ok(())
}

/// Stops the servers the bench started, if any; after a failure, shows their last log lines.
fn stop_spawned(target: &mut Target, failed: bool) {
    if failed && let Some(child) = &target.child {
        eprintln!("the server's last log lines:\n{}", child.log_tail());
    }
    for child in target.children_mut() {
        child.stop();
    }
}

/// The size of a store nothing writes to any more, its WAL (SQLite) checkpointed into it.
async fn settled_size(store: &Store) -> Result<Option<u64>> {
    store.settle().await?;
    store.size().await
}

/// The API of the server under test.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(target: &Target) -> Result<Arc<Api>> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(1024)
            .build()?;
        Ok(Arc::new(Api {
            client,
            base: format!("{}/api/v4", target.url),
            token: target.admin_token.clone(),
        }))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .header("PRIVATE-TOKEN", &self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{method} {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Successful attempts in a hook's delivery log, from the `X-Total` header.
    async fn successful_attempts(&self, project: i64, hook: i64) -> Result<u64> {
        let path = format!("/projects/{project}/hooks/{hook}/events?status=successful&per_page=1");
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("PRIVATE-TOKEN", &self.token)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        if !response.status().is_success() {
            bail!("GET {path} answered {}", response.status());
        }
        response
            .headers()
            .get("x-total")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse().ok())
            .with_context(|| format!("GET {path} has no X-Total header"))
    }
}

/// One acknowledged event: its UUID and when the 202 was read.
type Ack = (Uuid, Instant);

/// What the bench registered on the server: its own projects, each with its hooks.
struct Registered {
    projects: Vec<(i64, Vec<i64>)>,
}

impl Registered {
    /// Where each project's events are posted.
    fn events_paths(&self) -> Vec<String> {
        self.projects
            .iter()
            .map(|(project, _)| format!("/projects/{project}/events"))
            .collect()
    }

    /// The event posted to each project (as [`Registered::events_paths`]), naming it: an
    /// event may not name another project than the one it is posted to.
    fn payloads(&self, bytes: Option<usize>) -> Result<Vec<Vec<u8>>> {
        self.projects
            .iter()
            .map(|(project, _)| bytes_of_payload(bytes, *project))
            .collect()
    }
}

/// A group and projects of the bench's own, so that a run against a running server touches
/// nothing else, each with `--hooks` hooks to the receiver.
async fn register(api: &Api, receiver: &Receiver, args: &Args) -> Result<Registered> {
    let suffix = Uuid::new_v4().simple().to_string();
    let suffix = &suffix[..12];
    let group = api
        .call(
            reqwest::Method::POST,
            "/groups",
            Some(json!({"name": format!("Bench {suffix}"), "path": format!("bench-{suffix}")})),
        )
        .await
        .context("creating the bench's group")?;
    let mut projects = Vec::new();
    for number in 0..args.projects {
        let path = format!("bench-{number}");
        let project = api
            .call(
                reqwest::Method::POST,
                "/projects",
                Some(json!({"name": path, "path": path, "namespace_id": group["id"]})),
            )
            .await
            .context("creating a bench project")?["id"]
            .as_i64()
            .context("the project's id")?;
        let mut hooks = Vec::new();
        for _ in 0..args.hooks {
            // Every hook has a receiver path of its own: deliveries are told apart by it.
            let index = projects.len() * args.hooks as usize + hooks.len();
            let mut body = json!({"url": receiver.hook_url(index), "push_events": true});
            if let Some(max) = args.max_in_flight {
                body["max_in_flight"] = json!(max);
            }
            let hook = api
                .call(
                    reqwest::Method::POST,
                    &format!("/projects/{project}/hooks"),
                    Some(body),
                )
                .await
                .context("creating a hook (a --server must allow local requests)")?;
            hooks.push(hook["id"].as_i64().context("the hook's id")?);
        }
        projects.push((project, hooks));
    }
    Ok(Registered { projects })
}

/// Every event goes to every hook of its project.
fn expected_deliveries(args: &Args) -> u64 {
    args.events * u64::from(args.hooks)
}

/// The bench's receiver, with room for every expected delivery.
async fn start_receiver(args: &Args) -> Result<Receiver> {
    let capacity = usize::try_from(expected_deliveries(args))
        .unwrap_or(usize::MAX)
        .min(50_000_000);
    Receiver::start(args.receiver_delay, capacity).await
}

async fn measure(args: &Args, target: &Target, load_before: Option<f64>) -> Result<Report> {
    let deadline = Instant::now() + args.timeout;
    let api = Api::new(target)?;
    let expected = expected_deliveries(args);
    let receiver = start_receiver(args).await?;
    let registered = register(&api, &receiver, args).await?;
    let payloads = registered.payloads(args.payload_bytes)?;

    let server_before = server_stats(target)?;
    let bench_before = target::process_stats("self")?;
    let size_before = settled_size(&target.store).await?;

    let posted = Arc::new(AtomicU64::new(0));
    let progress = Progress::start(expected, args.events, posted.clone(), &receiver);
    let started = Instant::now();
    let sampler = args
        .size_every
        .map(|every| soak::Sampler::start(target.store.clone(), every, started));
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
    let ingest_done = last_ack(&acks, started);

    // Every delivery received...
    wait_for_receipts(&receiver, expected, deadline, args.timeout).await?;
    progress.finish(receiver.count());
    let arrivals = receiver.arrivals();
    let last_receipt = arrivals.iter().map(|a| a.at).max().unwrap_or(started);
    let size_over_time = match sampler {
        Some(sampler) => sampler.finish().await,
        None => None,
    };

    // ...and then recorded in the delivery log (unless a soak's retention prunes it).
    let recorded = if args.size_every.is_some() {
        0
    } else {
        wait_until_recorded(&api, &registered, expected, deadline, args.timeout).await?
    };
    let recorded_at = Instant::now();
    let server_after = server_stats(target)?;
    let bench_after = target::process_stats("self")?;
    if target.child.is_none() {
        // A running server the bench will not stop: checkpoint its WAL (SQLite) now that it
        // is idle, so that the growth is the data's.
        target.store.settle().await?;
    }
    let size_after = target.store.size().await?;
    receiver.stop();

    let latency = latency(&arrivals, &acks)?;
    let deliveries = distinct_deliveries(&arrivals);
    let ingest_seconds = seconds(started, ingest_done);
    let delivery_seconds = seconds(started, last_receipt);
    let recorded_seconds = seconds(started, recorded_at);
    let nodes = node_figures(target, &server_before, &server_after);
    Ok(Report {
        server: if target.child.is_some() {
            "spawned"
        } else {
            "external"
        },
        setup: setup(args, target, &payloads),
        deliveries,
        duplicates: arrivals.len() as u64 - deliveries,
        hooks_reached: arrivals
            .iter()
            .map(|arrival| arrival.hook)
            .collect::<HashSet<_>>()
            .len() as u64,
        recorded,
        ingest_seconds,
        ingest_events_per_second: per_second(args.events, ingest_seconds),
        delivery_seconds,
        deliveries_per_second: per_second(deliveries, delivery_seconds),
        recorded_seconds,
        recorded_deliveries_per_second: per_second(recorded, recorded_seconds),
        latency_ms: latency,
        server_pid: target.child.as_ref().map(|child| child.pid()),
        server_cpu_seconds: (!nodes.is_empty())
            .then(|| nodes.iter().map(|node| node.cpu_seconds).sum()),
        server_peak_rss_bytes: (!nodes.is_empty())
            .then(|| nodes.iter().map(|node| node.peak_rss_bytes).sum()),
        server_rss_bytes: (!nodes.is_empty())
            .then(|| nodes.iter().map(|node| node.rss_bytes).sum()),
        server_nodes: nodes,
        bench_cpu_seconds: bench_after.cpu_seconds - bench_before.cpu_seconds,
        store_size: size_before
            .zip(size_after)
            .map(|(before, after)| StoreSize::new(before, after, None, deliveries, args.events)),
        store_size_over_time: size_over_time,
        load_average_before: load_before,
        load_average_after: target::load_average(),
    })
}

/// When the last event was acknowledged (`started` for none).
fn last_ack(acks: &[Ack], started: Instant) -> Instant {
    acks.iter().map(|(_, at)| *at).max().unwrap_or(started)
}

/// What the run is, for its report.
fn setup(args: &Args, target: &Target, payloads: &[Vec<u8>]) -> Setup {
    Setup {
        store: target.store.name(),
        nodes: target.urls().len() as u32,
        events: args.events,
        hooks: args.hooks,
        projects: args.projects,
        // The same event for every project, but for its id.
        payload_bytes: payloads.first().map_or(0, Vec::len) as u64,
        rate: args.rate,
        // Concurrent posters, when no rate is set.
        posters: args.rate.is_none().then_some(args.posters),
        receiver_delay_ms: args.receiver_delay.as_secs_f64() * 1000.0,
        max_in_flight: args.max_in_flight,
        expected_deliveries: expected_deliveries(args),
    }
}

/// Waits until the receiver got `expected` deliveries; fails at the `deadline`.
async fn wait_for_receipts(
    receiver: &Receiver,
    expected: u64,
    deadline: Instant,
    timeout: Duration,
) -> Result<()> {
    while receiver.count() < expected {
        if Instant::now() > deadline {
            bail!(
                "timed out after {timeout:?}: {} of {expected} deliveries received",
                receiver.count()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// Waits until the hooks' delivery logs show `expected` successful attempts; returns their
/// count. Fails at the `deadline`.
async fn wait_until_recorded(
    api: &Api,
    registered: &Registered,
    expected: u64,
    deadline: Instant,
    timeout: Duration,
) -> Result<u64> {
    loop {
        let mut total = 0;
        for (project, hooks) in &registered.projects {
            for hook in hooks {
                total += api.successful_attempts(*project, *hook).await?;
            }
        }
        if total >= expected {
            return Ok(total);
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?}: {total} of {expected} deliveries recorded");
        }
        tokio::time::sleep(RECORDED_POLL).await;
    }
}

/// Distinct (event, hook) pairs among the arrivals.
fn distinct_deliveries(arrivals: &[Arrival]) -> u64 {
    let seen: HashSet<_> = arrivals
        .iter()
        .map(|arrival| (arrival.event, arrival.hook))
        .collect();
    seen.len() as u64
}

/// Latency from each event's acknowledgement to each of its arrivals.
fn latency(arrivals: &[Arrival], acks: &[Ack]) -> Result<Latency> {
    let acked: HashMap<Uuid, Instant> = acks.iter().copied().collect();
    let mut histogram = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let mut before_ack = 0;
    let mut unmatched = 0;
    for arrival in arrivals {
        let Some(acked_at) = arrival.event.and_then(|event| acked.get(&event)) else {
            unmatched += 1;
            continue;
        };
        // A delivery may beat the 202 to the bench: the event is committed before it is
        // answered. It counts as zero latency, and is reported.
        if arrival.at < *acked_at {
            before_ack += 1;
        }
        let micros = arrival.at.saturating_duration_since(*acked_at).as_micros();
        histogram.saturating_record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
    }
    let millis = |micros: u64| micros as f64 / 1000.0;
    Ok(Latency {
        p50: millis(histogram.value_at_quantile(0.50)),
        p90: millis(histogram.value_at_quantile(0.90)),
        p99: millis(histogram.value_at_quantile(0.99)),
        max: millis(histogram.max()),
        mean: histogram.mean() / 1000.0,
        samples: histogram.len(),
        before_ack,
        unmatched,
    })
}

fn seconds(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64()
}

fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The figures of every server the bench started (none for a --server), the first first.
fn server_stats(target: &Target) -> Result<Vec<target::ProcessStats>> {
    target
        .children()
        .map(|child| target::process_stats(&child.pid().to_string()))
        .collect()
}

/// Each node's CPU time between the two readings, and its memory at the end.
fn node_figures(
    target: &Target,
    before: &[target::ProcessStats],
    after: &[target::ProcessStats],
) -> Vec<NodeFigures> {
    target
        .children()
        .zip(before.iter().zip(after))
        .map(|(child, (before, after))| NodeFigures {
            pid: child.pid(),
            cpu_seconds: after.cpu_seconds - before.cpu_seconds,
            peak_rss_bytes: after.peak_rss_bytes,
            rss_bytes: after.rss_bytes,
        })
        .collect()
}

/// The progress bar on stderr: deliveries received, events acknowledged. It stops ticking
/// when dropped, and is left on screen unless finished.
struct Progress {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

impl Progress {
    fn start(deliveries: u64, events: u64, posted: Arc<AtomicU64>, receiver: &Receiver) -> Self {
        // indicatif draws on stderr only when it is a terminal: a script's stderr stays clean.
        let bar = ProgressBar::new(deliveries);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} delivered, {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        let received = receiver.counter();
        let ticking = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                ticking.set_position(received.load(Ordering::Relaxed));
                ticking.set_message(format!(
                    "{}/{events} events acknowledged",
                    posted.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Progress { bar, ticker }
    }

    /// Shows the final count and clears the bar.
    fn finish(self, delivered: u64) {
        self.bar.set_position(delivered);
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.ticker.abort();
        if !self.bar.is_finished() {
            self.bar.abandon();
        }
    }
}

/// The documented push example of `project` at about `bytes`: padded with a `bench_padding`
/// string, or, when the example is larger, with its newest commits left out
/// (`total_commits_count` kept). Without `bytes`, the example as documented (indented).
fn bytes_of_payload(bytes: Option<usize>, project: i64) -> Result<Vec<u8>> {
    let sample = wvs_events::samples::find("push").context("the push sample")?;
    let mut value: Value = serde_json::from_str(sample.json)?;
    value["project_id"] = json!(project);
    value["project"]["id"] = json!(project);
    let Some(target) = bytes else {
        return Ok(serde_json::to_vec_pretty(&value)?);
    };
    while serde_json::to_vec(&value)?.len() > target
        && let Some(commits) = value["commits"].as_array_mut()
        && commits.len() > 1
    {
        commits.pop();
    }
    let size = serde_json::to_vec(&value)?.len();
    if size < target {
        value["bench_padding"] = json!("");
        let base = serde_json::to_vec(&value)?.len();
        value["bench_padding"] = json!("x".repeat(target.saturating_sub(base)));
    }
    Ok(serde_json::to_vec(&value)?)
}

/// Posts `--events` events, the n-th `payloads[i]` to `paths[i]` with `i = n % paths.len()`,
/// on node `(n / paths.len()) % nodes.len()` (so each node gets every project's events), and
/// returns their acknowledgements; fails on the first refusal.
async fn post_events(
    api: Arc<Api>,
    nodes: &[&str],
    paths: Vec<String>,
    payloads: Vec<Vec<u8>>,
    args: &Args,
    posted: Arc<AtomicU64>,
    deadline: Instant,
) -> Result<Vec<Ack>> {
    // Parsed once: reqwest would parse a string (IDNA included) for every post.
    let payloads: Vec<axum::body::Bytes> = payloads.into_iter().map(Into::into).collect();
    let targets: Arc<[(reqwest::Url, axum::body::Bytes)]> = nodes
        .iter()
        .flat_map(|node| paths.iter().zip(&payloads).map(move |pair| (node, pair)))
        .map(|(node, (path, payload))| {
            let url = reqwest::Url::parse(&format!("{node}/api/v4{path}"))?;
            Ok((url, payload.clone()))
        })
        .collect::<Result<_>>()?;
    let acks = Arc::new(Mutex::new(Vec::with_capacity(
        usize::try_from(args.events).unwrap_or(0),
    )));
    let failure: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
    let stop = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    let post = {
        let api = api.clone();
        let acks = acks.clone();
        let failure = failure.clone();
        let stop = stop.clone();
        let posted = posted.clone();
        move |event: u64| {
            let api = api.clone();
            let (url, payload) = targets[(event % targets.len() as u64) as usize].clone();
            let acks = acks.clone();
            let failure = failure.clone();
            let stop = stop.clone();
            let posted = posted.clone();
            async move {
                match post_one(&api, url, payload).await {
                    Ok(ack) => {
                        acks.lock().expect("not poisoned").push(ack);
                        posted.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(err) => {
                        failure.lock().expect("not poisoned").get_or_insert(err);
                        stop.cancel();
                        false
                    }
                }
            }
        }
    };
    match args.rate {
        Some(rate) => {
            let slots = Arc::new(tokio::sync::Semaphore::new(RATE_IN_FLIGHT));
            let start = tokio::time::Instant::now();
            for index in 0..args.events {
                if stop.is_cancelled() || Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep_until(start + Duration::from_secs_f64(index as f64 / rate))
                    .await;
                let slot = slots.clone().acquire_owned().await?;
                let post = post(index);
                tasks.spawn(async move {
                    post.await;
                    drop(slot);
                });
            }
        }
        None => {
            let next = Arc::new(AtomicU64::new(0));
            for _ in 0..args.posters {
                let next = next.clone();
                let stop = stop.clone();
                let post = post.clone();
                let events = args.events;
                tasks.spawn(async move {
                    while !stop.is_cancelled() && Instant::now() < deadline {
                        let event = next.fetch_add(1, Ordering::Relaxed);
                        if event >= events || !post(event).await {
                            break;
                        }
                    }
                });
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    if let Some(err) = failure.lock().expect("not poisoned").take() {
        return Err(err.context("posting an event"));
    }
    let acks = std::mem::take(&mut *acks.lock().expect("not poisoned"));
    if (acks.len() as u64) < args.events {
        bail!(
            "timed out after {:?}: {} of {} events acknowledged",
            args.timeout,
            acks.len(),
            args.events
        );
    }
    Ok(acks)
}

/// Posts one event; its acknowledgement is timed once the 202's body is read.
async fn post_one(api: &Api, url: reqwest::Url, payload: axum::body::Bytes) -> Result<Ack> {
    let response = api
        .client
        .post(url)
        .header("PRIVATE-TOKEN", &api.token)
        .header("Content-Type", "application/json")
        .body(payload)
        .send()
        .await?;
    let status = response.status();
    let body = response.bytes().await?;
    let at = Instant::now();
    if status != reqwest::StatusCode::ACCEPTED {
        bail!(
            "ingest answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let answer: Value = serde_json::from_slice(&body)?;
    let uuid = answer["event_uuid"]
        .as_str()
        .and_then(|text| Uuid::parse_str(text).ok())
        .context("the ingest answer has no event_uuid")?;
    Ok((uuid, at))
}
