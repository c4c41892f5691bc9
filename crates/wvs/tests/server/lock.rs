//! One process per SQLite file: a second `wvs serve` or `wvs migrate` on a file already
//! served refuses to start and names the holder; a holder killed by SIGKILL does not block.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::Server;

/// Runs `wvs ARGS` in `dir` to its end (killed after 20 s, failing the test).
fn run_wvs(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wvs"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wvs starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wvs {args:?} did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_second_process_on_a_served_sqlite_file_refuses_and_names_the_holder() {
    let first = Server::start(&[]);
    let dir = first.dir.clone();
    let database = dir.join("wvs.db");
    let database = database.to_str().unwrap();
    let holder = format!("pid {}", first.pid());
    for args in [
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database,
        ][..],
        &["migrate", "--database-url", database][..],
    ] {
        let output = run_wvs(&dir, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "wvs {args:?} started: {stderr}");
        assert!(
            stderr.contains("already served by another WVS process") && stderr.contains(&holder),
            "wvs {args:?}: {stderr}"
        );
    }
    // The OS releases the lock of a killed process: the next server starts.
    first.kill();
    let next = Server::start_in(&dir, &[]);
    next.expect(200, "GET", "/version", None).await;
}
