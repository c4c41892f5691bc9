//! What the server tells its operator on stderr at the default log level: its start and
//! stop, a hook disabled by its failures, an admin token replaced by a restart.

use std::time::{Duration, Instant};

use serde_json::json;
use wvs_events::samples;

use crate::setup::{hook, registry};
use crate::support::{ADMIN_TOKEN, Receiver, Server};

/// Waits until the server's stderr has a line containing every one of `parts`; the line.
async fn line_with(server: &Server, parts: &[&str]) -> String {
    nth_line_with(server, parts, 1).await
}

/// Waits until the server's stderr has `n` lines containing every one of `parts`; the
/// `n`-th.
async fn nth_line_with(server: &Server, parts: &[&str], n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stderr = server.stderr();
        let mut matching = stderr
            .lines()
            .filter(|l| parts.iter().all(|p| l.contains(p)));
        if let Some(line) = matching.nth(n - 1) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no line with {parts:?} in:\n{stderr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_reads_start_stop_auto_disable_and_a_replaced_token() {
    let dir = tempfile::tempdir().unwrap().keep();
    let server = Server::start_logged(&dir, ADMIN_TOKEN, &["--retry-schedule", "0s"]);
    let start = line_with(&server, &["WVS started", "listen=", "store="]).await;
    assert!(start.contains(&dir.display().to_string()), "{start}");

    // Four failures in a row: the hook is disabled for a minute, and the log says which,
    // why and until when.
    let receiver = Receiver::start().await;
    receiver.set_status(500);
    let ids = registry(&server).await;
    let owner = format!("/projects/{}", ids.project);
    let hook_id = hook(&server, &owner, json!({"url": receiver.url})).await;
    let push = samples::find("push").unwrap().json.as_bytes();
    for _ in 0..4 {
        let (status, _) = server.ingest(&format!("{owner}/events"), push).await;
        assert_eq!(status, 202);
    }
    let hook_field = format!("hook={hook_id}");
    let disabled = line_with(&server, &["temporarily disabled", &hook_field]).await;
    assert!(disabled.contains("last=HTTP 500"), "{disabled}");
    assert!(disabled.contains("until_unix_ms="), "{disabled}");

    // A success (here a test) enables it again, and the log says so.
    receiver.set_status(200);
    let test = format!("{owner}/hooks/{hook_id}/test/push_events");
    server.expect(201, "POST", &test, None).await;
    line_with(&server, &["enabled again", &hook_field]).await;

    // Disabled again, and enabled by hand: that is said too.
    receiver.set_status(500);
    for _ in 0..4 {
        let (status, _) = server.ingest(&format!("{owner}/events"), push).await;
        assert_eq!(status, 202);
    }
    nth_line_with(&server, &["temporarily disabled", &hook_field], 2).await;
    let enable = format!("{owner}/hooks/{hook_id}/enable");
    server.expect(200, "POST", &enable, None).await;
    line_with(&server, &["enabled again by hand", &hook_field]).await;

    let kept = server.stderr_kept();
    assert!(server.terminate().success());
    // The stop line was written before the process exited; its reader may lag a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kept.lock().unwrap().contains("WVS stopped") {
        assert!(Instant::now() < deadline, "no stop line");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let restarted = Server::start_logged(&dir, "another-admin-token-0123456789", &[]);
    let warning = line_with(&restarted, &["admin token", "replaces the stored one"]).await;
    assert!(warning.contains("WARN"), "{warning}");
    for token in [ADMIN_TOKEN, "another-admin-token-0123456789"] {
        assert!(!restarted.stderr().contains(token), "a token in the log");
    }
}
