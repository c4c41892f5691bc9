//! The README's 5-minute tour, run as written: the `sh` blocks between
//! `<!-- quickstart -->` and `<!-- /quickstart -->` become one script, run by bash in an empty
//! directory with only this `wvs` binary on `PATH`; the receiver the tour starts must then
//! have accepted the demo hook's delivery. The tour names fixed ports (8080, 8000), so it runs
//! in a network namespace of its own when `unshare` allows one, and cannot meet another
//! server on this machine.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const BEGIN: &str = "<!-- quickstart -->";
const END: &str = "<!-- /quickstart -->";

/// How long the tour and its delivery may take before the test gives up: bounds a hang, it
/// is not a speed requirement (the retry schedule's second step is 10 s away).
const PATIENCE: Duration = Duration::from_secs(120);

/// The shell commands of the tour, in the order written.
fn tour_commands(readme: &str) -> String {
    let start = readme.find(BEGIN).expect("the README marks its tour") + BEGIN.len();
    let end = start + readme[start..].find(END).expect("the tour's end marker");
    let mut script = String::new();
    let mut in_block = false;
    for line in readme[start..end].lines() {
        match line.trim() {
            "```sh" => in_block = true,
            "```" => in_block = false,
            _ if in_block => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(!script.is_empty(), "no sh block in the tour");
    script
}

/// Bash in its own process group (so that the servers it starts in the background are
/// stopped with it), in its own network namespace when the system allows one.
/// What the tour printed (stdout and stderr, the background servers' included) goes to
/// `tour.log` in its directory, quoted when the test fails.
fn shell(dir: &Path, script: &Path) -> Command {
    let isolated = Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|status| status.success());
    let run = format!("exec bash -e -o pipefail {}", script.display());
    let mut command = if isolated {
        let mut command = Command::new("unshare");
        command.args(["-rn", "sh", "-c", &format!("ip link set lo up && {run}")]);
        command
    } else {
        let mut command = Command::new("sh");
        command.args(["-c", &run]);
        command
    };
    let binaries = Path::new(env!("CARGO_BIN_EXE_wvs"))
        .parent()
        .expect("the binary's directory");
    let path = format!(
        "{}:{}",
        binaries.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let log = std::fs::File::create(dir.join("tour.log")).expect("creating tour.log");
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("WVS_ADMIN_TOKEN")
        .env_remove("WVS_DATABASE_URL")
        .env_remove("WVS_TOKEN")
        .env_remove("WVS_SIGNING_TOKEN")
        .stdin(Stdio::null())
        .stderr(log.try_clone().expect("tour.log"))
        .stdout(log);
    command
}

/// The tour's process group, stopped when the test ends, also when it fails.
struct Tour(Child);

impl Drop for Tour {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("tour.log")).unwrap_or_default()
}

/// The requests `wvs listen --jsonl received.jsonl` recorded so far.
fn received(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("received.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn the_readme_tour_runs_as_written_from_an_empty_directory() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let script = dir.path().join("tour.sh");
    std::fs::write(&script, tour_commands(&readme)).expect("writing the tour");

    let mut tour = Tour(shell(dir.path(), &script).spawn().expect("starting bash"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = tour.0.try_wait().expect("waiting for bash") {
            break status;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the tour did not finish:\n{}",
            log(dir.path())
        );
        thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "the tour failed ({status}):\n{}",
        log(dir.path())
    );

    // The script has ended; the receiver and the server it started in the background run on.
    // The demo posts one event to one hook: the receiver's first request is its delivery.
    let delivered = loop {
        if let Some(first) = received(dir.path()).into_iter().next() {
            break first;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the receiver got nothing:\n{}",
            log(dir.path())
        );
        thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(delivered["status"], 200, "{delivered}");
    assert_eq!(delivered["kind"], "push", "{delivered}");
    assert_eq!(delivered["event_header"], "Push Hook", "{delivered}");
    assert_eq!(delivered["token"], "valid", "{delivered}");
    assert_eq!(delivered["signature"], "valid", "{delivered}");
}
