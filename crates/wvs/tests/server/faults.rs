//! Faults that once stopped or starved a node: replies no text column can hold, a full disk,
//! a template that multiplies its event, and one tenant's hung receivers.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use wvs_events::samples;
use wvs_store::testing::TestDatabase;

use crate::scripted::{self, Reply, Scripted};
use crate::setup::{hook, pushed_to_receiver, registry};
use crate::support::{Receiver, Server};

fn push() -> &'static [u8] {
    samples::find("push").unwrap().json.as_bytes()
}

/// A raw receiver that answers every request `200` with `body`, and counts the requests.
async fn replying(body: &'static [u8]) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    let url = scripted::raw(move |mut stream| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body).await;
        }
    })
    .await;
    (url, count)
}

/// Replies of any bytes are logged as they came (escaped for display, flagged binary), every
/// other hook's deliveries go on, and nothing is sent twice.
async fn foreign_replies(server: &Server) {
    const EVENTS: usize = 10;
    let ids = registry(server).await;
    let owner = format!("/projects/{}", ids.project);
    let replies: [&'static [u8]; 3] = [
        b"ok\0nul",
        b"not \xff\xfe UTF-8",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    ];
    let mut bad = Vec::new();
    for reply in replies {
        let (url, count) = replying(reply).await;
        let id = hook(server, &owner, json!({ "url": url, "push_events": true })).await;
        bad.push((id, count, reply));
    }
    let good = Receiver::start().await;
    hook(
        server,
        &owner,
        json!({ "url": good.url, "push_events": true }),
    )
    .await;
    for _ in 0..EVENTS {
        let (status, answer) = server.ingest(&format!("{owner}/events"), push()).await;
        assert_eq!(status, 202, "{answer}");
    }
    good.wait_for(EVENTS, Duration::from_secs(30)).await;
    for (id, count, reply) in &bad {
        let log = server
            .wait_for_log(&format!("{owner}/hooks/{id}/events?per_page=100"), EVENTS)
            .await;
        let rows = log.as_array().unwrap();
        assert_eq!(rows.len(), EVENTS, "one attempt per event: nothing retried");
        let shown = wvs_server::body_text::BodyText::of(reply);
        for row in rows {
            assert_eq!(row["response_status"], "200");
            assert_eq!(row["response_body"], shown.text.as_str());
            assert_eq!(row["response_body_binary"], true);
        }
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            EVENTS,
            "nothing was sent twice"
        );
    }
    // Nothing stays in flight or pending.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(good.received().len(), EVENTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_reply_bytes_are_logged_on_sqlite() {
    foreign_replies(&Server::start(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_reply_bytes_are_logged_on_postgres() {
    let database = TestDatabase::create("foreign_replies").await;
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    foreign_replies(&Server::start_node(database.url(), &["--secret-key", key])).await;
}

/// A template that names a large field hundreds of times is cut at the payload limit: the
/// delivery fails at once with the reason, the log keeps no huge body, and the server's
/// memory stays near the event's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amplifying_template_is_cut_at_the_payload_limit() {
    let server = Server::start(&["--delivery-timeout", "2s"]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let receiver = Receiver::start().await;
    let template = format!("[{}]", vec![r#""{{pad}}""#; 409].join(","));
    let id = hook(
        &server,
        &owner,
        json!({ "url": receiver.url, "push_events": true, "custom_webhook_template": template }),
    )
    .await;
    let mut event: Value = serde_json::from_slice(push()).unwrap();
    event["pad"] = Value::String("x".repeat(400_000));
    let body = serde_json::to_vec(&event).unwrap();
    let (status, answer) = server.ingest(&format!("{owner}/events"), &body).await;
    assert_eq!(status, 202, "{answer}");
    let log = server
        .wait_for_log(&format!("{owner}/hooks/{id}/events"), 1)
        .await;
    let row = &log[0];
    let error = row["internal_error_message"].as_str().unwrap();
    assert!(
        error.contains("larger than the payload limit of 26214400 bytes"),
        "{error}"
    );
    assert!(row["response_status"] == "internal error", "{row}");
    // The log row holds no 163 MB body: the API answer shows the event (400 kB) as the
    // request, and nothing of the rendered body.
    let (_, _, raw) = server
        .api_raw("GET", &format!("{owner}/hooks/{id}/events"), None, &[])
        .await;
    assert!(raw.len() < 1_000_000, "{} bytes", raw.len());
    assert!(receiver.received().is_empty());
    let rss = rss_kib(&server);
    assert!(rss < 300 * 1024, "RSS {rss} KiB after a 163 MB template");
}

/// The server's resident memory, from /proc.
fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc")
}

/// A small file system of its own (tmpfs), to fill up: unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`8m`). Needs root, as CI runs.
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root): {status}"
        );
        SmallDisk { dir }
    }

    fn filler(&self) -> std::path::PathBuf {
        self.dir.path().join("filler")
    }

    /// Writes a file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0_u8; 64 * 1024];
        while file
            .write_all(&chunk)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Posts events of ~100 kB until the store refuses one (503 with `Retry-After`); returns the
/// uuids of those acknowledged before.
async fn post_until_refused(server: &Server, owner: &str) -> Vec<String> {
    let mut event: Value = serde_json::from_slice(push()).unwrap();
    event["pad"] = Value::String("x".repeat(100_000));
    let path = format!("{owner}/events");
    let body = crate::support::retarget(&path, &serde_json::to_vec(&event).unwrap());
    let mut acked = Vec::new();
    for _ in 0..500 {
        let (status, headers, answer) = server.api_raw_bytes("POST", &path, &body).await;
        let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        match status {
            202 => acked.push(answer["event_uuid"].as_str().unwrap().to_owned()),
            503 => {
                assert!(headers.contains_key("retry-after"), "{headers:?}");
                return acked;
            }
            other => panic!("ingest on a full disk answered {other}: {answer}"),
        }
    }
    panic!("500 events of 100 kB fit on a full disk");
}

async fn ready(server: &Server) -> (u16, Value) {
    let response = reqwest::get(format!("{}/-/ready", server.url))
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A full disk: ingest answers 503 with `Retry-After` and `/-/ready` 503 with the reason;
/// once space is back both recover by themselves and every acknowledged event is delivered.
/// SIGTERM during an outage stops the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_heals_when_space_is_back() {
    let disk = SmallDisk::mount("6m");
    let server = Server::start_in(
        disk.dir.path(),
        &["--delivery-timeout", "2s", "--poll-interval", "100ms"],
    );
    let (owner, receiver) = pushed_to_receiver(&server).await;

    disk.fill();
    let mut acked = post_until_refused(&server, &owner).await;
    let (status, answer) = ready(&server).await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["store"].as_str().unwrap().contains("cannot write"),
        "{answer}"
    );

    disk.free();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready(&server).await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "ready again within 30 s of space coming back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, answer) = server.ingest(&format!("{owner}/events"), push()).await;
    assert_eq!(status, 202, "{answer}");
    acked.push(answer["event_uuid"].as_str().unwrap().to_owned());
    let received = receiver
        .wait_for(acked.len(), Duration::from_secs(30))
        .await;
    let delivered: std::collections::HashSet<&str> = received
        .iter()
        .filter_map(|r| r.header("x-wvs-event-uuid"))
        .collect();
    for uuid in &acked {
        assert!(
            delivered.contains(uuid.as_str()),
            "acknowledged {uuid} was not delivered"
        );
    }

    // Full again, and stopped while it is.
    disk.fill();
    post_until_refused(&server, &owner).await;
    let stopped = tokio::task::spawn_blocking(move || server.terminate());
    let status = tokio::time::timeout(Duration::from_secs(60), stopped)
        .await
        .expect("SIGTERM stops the server during an outage")
        .unwrap();
    assert!(status.success(), "{status}");
}

/// A retry's delay counts from the end of the failed attempt, so a long timeout does not
/// swallow a short step of the schedule: with a 1 s timeout and a last step of exactly 3 s,
/// the third attempt starts at least 4 s after the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_delays_count_from_the_end_of_an_attempt() {
    let server = Server::start(&[
        "--delivery-timeout",
        "1s",
        "--retry-schedule",
        "3s,3s",
        "--poll-interval",
        "100ms",
    ]);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let hung = Scripted::start(|_| Reply::Hang).await;
    hook(
        &server,
        &owner,
        json!({ "url": hung.url, "push_events": true }),
    )
    .await;
    let (status, _) = server.ingest(&format!("{owner}/events"), push()).await;
    assert_eq!(status, 202);
    let arrivals = hung.wait_for(3, Duration::from_secs(30)).await;
    let gap = arrivals[2].at - arrivals[1].at;
    assert!(
        gap >= Duration::from_millis(3_900),
        "1 s attempt + 3 s delay, but the third attempt came {gap:?} after the second"
    );
}
