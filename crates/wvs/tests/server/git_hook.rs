//! `wvs git-hook` end to end: a bare repository with the hook installed by
//! `wvs git-hook install`, a clone pushing to it over the file system with the real `git`,
//! a running `wvs serve` and a loopback receiver. Every payload is checked against what the
//! repository holds.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use crate::setup::{hook, user};
use crate::support::{ADMIN_TOKEN, Received, Receiver, Server};

const ZERO: &str = "0000000000000000000000000000000000000000";
/// 2024-05-01T08:00:00Z; each commit is a minute later than the one before.
const EPOCH: u64 = 1_714_550_400;
/// How long any git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A scratch directory with a bare repository (`server.git`, the hook installed) and a clone
/// of it (`work`), and git commands with fixed identities and dates.
struct Repos {
    root: PathBuf,
    commits: Cell<u64>,
}

impl Repos {
    /// Creates both repositories; the hook sends to `url` for `project`.
    fn new(url: &str, project: &str) -> Repos {
        let root = tempfile::tempdir().unwrap().keep();
        std::fs::create_dir_all(root.join("home")).unwrap();
        let repos = Repos {
            root,
            commits: Cell::new(0),
        };
        repos.run(
            &repos.root,
            &[
                "-c",
                "init.defaultBranch=main",
                "init",
                "-q",
                "--bare",
                "server.git",
            ],
        );
        let installed = Command::new(env!("CARGO_BIN_EXE_wvs"))
            .args(["git-hook", "install"])
            .arg(repos.bare())
            .args(["--url", url, "--project", project, "--token", ADMIN_TOKEN])
            .output()
            .unwrap();
        assert!(installed.status.success(), "{installed:?}");
        let stdout = String::from_utf8_lossy(&installed.stdout);
        assert!(stdout.contains("hooks/post-receive"), "{stdout}");
        assert!(
            !stdout.contains(ADMIN_TOKEN)
                && !String::from_utf8_lossy(&installed.stderr).contains(ADMIN_TOKEN)
        );
        repos.run(
            &repos.root,
            &[
                "-c",
                "init.defaultBranch=main",
                "clone",
                "-q",
                "server.git",
                "work",
            ],
        );
        repos
    }

    fn bare(&self) -> PathBuf {
        self.root.join("server.git")
    }

    fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    /// `git` in `dir` with this scratch directory's identity and the next commit date.
    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let time = EPOCH + 60 * self.commits.get();
        // The committer's offset differs from the author's: payloads carry the commit date
        // with the committer's offset, as GitLab's do.
        let (author_date, committer_date) = (format!("@{time} +0200"), format!("@{time} +0100"));
        let mut command = Command::new("git");
        command
            .current_dir(dir)
            .args(args)
            .env("HOME", self.root.join("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Jordi Mallach")
            .env("GIT_AUTHOR_EMAIL", "jordi@example.com")
            .env("GIT_AUTHOR_DATE", &author_date)
            .env("GIT_COMMITTER_NAME", "Jordi Mallach")
            .env("GIT_COMMITTER_EMAIL", "jordi@example.com")
            .env("GIT_COMMITTER_DATE", &committer_date)
            // The pusher, as a GitLab-like server tells its hooks.
            .env("GL_USERNAME", "jsmith");
        for name in ["WVS_URL", "WVS_PROJECT", "WVS_TOKEN", "WVS_USER"] {
            command.env_remove(name);
        }
        command
    }

    fn output(&self, dir: &Path, args: &[&str]) -> Output {
        finish(self.command(dir, args))
    }

    fn run(&self, dir: &Path, args: &[&str]) -> String {
        String::from_utf8(self.output(dir, args).stdout)
            .unwrap()
            .trim_end()
            .to_owned()
    }

    /// `git` in the clone.
    fn git(&self, args: &[&str]) -> String {
        self.run(&self.work(), args)
    }

    fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev])
    }

    /// `git rev-list --reverse <range>`: the commits of a range, oldest first.
    fn revs(&self, range: &[&str]) -> Vec<String> {
        let mut args = vec!["rev-list", "--reverse"];
        args.extend(range);
        self.git(&args).lines().map(str::to_owned).collect()
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.work().join(file), text).unwrap();
    }

    /// Commits everything in the work tree.
    fn commit(&self, message: &str) -> String {
        self.commits.set(self.commits.get() + 1);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.rev("HEAD")
    }

    /// `git push` from the clone (runs the hook); returns what the hook printed.
    async fn push(&self, args: &[&str]) -> String {
        let mut full = vec!["push", "-q", "origin"];
        full.extend(args);
        let full: Vec<String> = full.into_iter().map(str::to_owned).collect();
        let command_args: Vec<&str> = full.iter().map(String::as_str).collect();
        let output = tokio::task::block_in_place(|| self.output(&self.work(), &command_args));
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    fn spooled(&self) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(self.bare().join("wvs-spool")) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
    }
}

/// Runs a git command to the end, asserting success. Bounded: a hung git (or hook) fails the
/// test instead of hanging it.
fn finish(mut command: Command) -> Output {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + GIT_TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} took longer than {GIT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{command:?}: {output:?}");
    output
}

/// Waits for `count` requests, then a little longer to be sure no more come.
async fn exactly(receiver: &Receiver, count: usize) -> Vec<Received> {
    receiver.wait_for(count, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    assert_eq!(received.len(), count, "{received:#?}");
    receiver.clear();
    received
}

/// The one event a push made.
async fn one_event(receiver: &Receiver) -> Value {
    exactly(receiver, 1).await.remove(0).json()
}

fn ids(payload: &Value) -> Vec<String> {
    payload["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(list: &Value) -> Vec<String> {
    let mut items: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    items.sort();
    items
}

/// A registry with group `acme`, project `acme/web`, user `jsmith` and a project hook for
/// push and tag push events at `receiver`; `extra` goes into the hook.
async fn registry(server: &Server, receiver: &Receiver, extra: Value) -> i64 {
    server
        .expect(
            201,
            "POST",
            "/groups",
            Some(json!({"name": "Acme", "path": "acme"})),
        )
        .await;
    server
        .expect(
            201,
            "POST",
            "/projects",
            Some(json!({"name": "Web", "path": "web", "namespace_path": "acme"})),
        )
        .await;
    let mut body = json!({"url": receiver.url, "push_events": true, "tag_push_events": true});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    hook(server, "/projects/acme%2Fweb", body).await;
    server
        .create_user(&user("jsmith", "John Smith", "john@example.com"))
        .await
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_pushes_reach_the_hook_as_gitlab_sends_them() {
    let receiver = Receiver::start().await;
    let server = Server::start(&["--instance-url", "https://git.example.com"]);
    let user_id = registry(&server, &receiver, json!({})).await;
    let repos = Repos::new(&server.url, "acme/web");

    // The first push of a new repository: the branch's whole history.
    repos.write("README.md", "# Web\n");
    let first = repos.commit("Add README\n\nThe first words.");
    let said = repos.push(&["main"]).await;
    assert!(!said.contains("wvs:"), "the hook complained: {said}");
    let received = exactly(&receiver, 1).await;
    assert_eq!(received[0].header("X-WVS-Event"), Some("Push Hook"));
    let payload = received[0].json();
    assert_eq!(payload["object_kind"], "push");
    assert_eq!(payload["ref"], "refs/heads/main");
    assert_eq!(payload["before"], ZERO);
    assert_eq!(payload["after"], first.as_str());
    assert_eq!(payload["checkout_sha"], first.as_str());
    assert_eq!(payload["user_id"], user_id);
    assert_eq!(payload["user_username"], "jsmith");
    assert_eq!(payload["user_name"], "John Smith");
    assert_eq!(payload["user_email"], "john@example.com");
    assert_eq!(payload["project"]["path_with_namespace"], "acme/web");
    assert_eq!(payload["total_commits_count"], 1);
    assert_eq!(payload["push_options"], json!({}));
    assert_eq!(
        payload["commits"],
        json!([{
            "id": first,
            "message": "Add README\n\nThe first words.\n",
            "title": "Add README",
            "timestamp": "2024-05-01T09:01:00+01:00",
            "url": format!("https://git.example.com/acme/web/commit/{first}"),
            "author": {"name": "Jordi Mallach", "email": "jordi@example.com"},
            "added": ["README.md"],
            "modified": [],
            "removed": [],
        }])
    );

    // An update of 3 commits: before..after, oldest first.
    repos.write("README.md", "# Web\n\nMore.\n");
    repos.commit("Say more");
    repos.write("a.txt", "a content\n");
    repos.commit("Add a");
    repos.write(
        "b.txt",
        "b content, long enough to be recognised when it moves\n",
    );
    let third = repos.commit("Add b");
    repos.push(&["main"]).await;
    let payload = one_event(&receiver).await;
    assert_eq!(payload["before"], first.as_str());
    assert_eq!(payload["after"], third.as_str());
    assert_eq!(ids(&payload), repos.revs(&[&format!("{first}..{third}")]));
    assert_eq!(payload["total_commits_count"], 3);
    assert_eq!(payload["commits"][0]["modified"], json!(["README.md"]));
    assert_eq!(
        payload["commits"][0]["timestamp"],
        "2024-05-01T09:02:00+01:00"
    );
    assert_eq!(payload["commits"][2]["title"], "Add b");

    // 25 commits: the newest 20 listed, the true count given.
    for n in 1..=25 {
        repos.commit(&format!("Step {n}"));
    }
    repos.push(&["main"]).await;
    let payload = one_event(&receiver).await;
    let all = repos.revs(&[&format!("{third}..main")]);
    assert_eq!(all.len(), 25);
    assert_eq!(ids(&payload), all[5..]);
    assert_eq!(payload["total_commits_count"], 25);
    assert_eq!(payload["commits"][19]["title"], "Step 25");
    let before_merge = repos.rev("main");

    // A merge commit: its files are its diff against its first parent.
    repos.git(&["checkout", "-q", "-b", "topic"]);
    repos.write("topic.txt", "topic\n");
    repos.commit("Topic work");
    repos.git(&["checkout", "-q", "main"]);
    repos.write("README.md", "# Web\n\nMore, and more.\n");
    repos.commit("Main work");
    repos.commits.set(repos.commits.get() + 1);
    repos.git(&["merge", "-q", "--no-ff", "topic", "-m", "Merge topic"]);
    let merge = repos.rev("HEAD");
    repos.push(&["main"]).await;
    let payload = one_event(&receiver).await;
    assert_eq!(
        ids(&payload),
        repos.revs(&[&format!("{before_merge}..{merge}")])
    );
    assert_eq!(payload["total_commits_count"], 3);
    let last = &payload["commits"][2];
    assert_eq!(last["id"], merge.as_str());
    assert_eq!(last["title"], "Merge topic");
    assert_eq!(
        (&last["added"], &last["modified"], &last["removed"]),
        (&json!(["topic.txt"]), &json!([]), &json!([]))
    );

    // One commit that adds, changes, removes and renames files. GitLab lists a renamed
    // file's new path as added and leaves its old path out.
    repos.write("new.txt", "new\n");
    repos.write("README.md", "# Web\n\nChanged.\n");
    std::fs::remove_file(repos.work().join("a.txt")).unwrap();
    repos.git(&["mv", "b.txt", "c.txt"]);
    let files = repos.commit("Move things around");
    repos.push(&["main"]).await;
    let payload = one_event(&receiver).await;
    let commit = &payload["commits"][0];
    assert_eq!(commit["id"], files.as_str());
    assert_eq!(sorted(&commit["added"]), ["c.txt", "new.txt"]);
    assert_eq!(sorted(&commit["modified"]), ["README.md"]);
    assert_eq!(sorted(&commit["removed"]), ["a.txt"]);

    // A force push: what is new since the old tip.
    repos.git(&["reset", "-q", "--hard", "HEAD~1"]);
    let rewritten = repos.commit("Rewritten");
    repos.push(&["--force", "main"]).await;
    let payload = one_event(&receiver).await;
    assert_eq!(payload["before"], files.as_str());
    assert_eq!(payload["after"], rewritten.as_str());
    assert_eq!(ids(&payload), [rewritten.as_str()]);
    assert_eq!(payload["total_commits_count"], 1);

    // A new branch lists what the default branch does not reach; then it is deleted.
    repos.git(&["checkout", "-q", "-b", "feature"]);
    repos.commit("Feature one");
    let feature = repos.commit("Feature two");
    repos.git(&["checkout", "-q", "main"]);
    repos.push(&["feature"]).await;
    let payload = one_event(&receiver).await;
    assert_eq!(payload["ref"], "refs/heads/feature");
    assert_eq!(payload["before"], ZERO);
    assert_eq!(ids(&payload), repos.revs(&["main..feature"]));
    assert_eq!(payload["total_commits_count"], 2);
    repos.push(&["--delete", "feature"]).await;
    let payload = one_event(&receiver).await;
    assert_eq!(payload["ref"], "refs/heads/feature");
    assert_eq!(payload["before"], feature.as_str());
    assert_eq!(payload["after"], ZERO);
    assert_eq!(payload["checkout_sha"], Value::Null);
    assert_eq!(payload["commits"], json!([]));
    assert_eq!(payload["total_commits_count"], 0);

    // A lightweight tag: its commit, no message.
    repos.git(&["tag", "v1"]);
    repos.push(&["v1"]).await;
    let received = exactly(&receiver, 1).await;
    assert_eq!(received[0].header("X-WVS-Event"), Some("Tag Push Hook"));
    let payload = received[0].json();
    assert_eq!(payload["object_kind"], "tag_push");
    assert_eq!(payload["ref"], "refs/tags/v1");
    assert_eq!(payload["after"], rewritten.as_str());
    assert_eq!(payload["checkout_sha"], rewritten.as_str());
    assert_eq!(payload["message"], Value::Null);
    assert_eq!(ids(&payload), [rewritten.as_str()]);
    assert_eq!(payload["total_commits_count"], 1);

    // An annotated tag: the tag object is `after`, its commit `checkout_sha`.
    repos.commits.set(repos.commits.get() + 1);
    repos.git(&["tag", "-a", "v2", "-m", "Release 2\n\nNotes."]);
    repos.push(&["v2"]).await;
    let payload = one_event(&receiver).await;
    let tag_object = repos.rev("v2");
    assert_ne!(tag_object, rewritten);
    assert_eq!(payload["after"], tag_object.as_str());
    assert_eq!(payload["checkout_sha"], repos.rev("v2^{commit}").as_str());
    assert_eq!(payload["message"], "Release 2\n\nNotes.");
    assert_eq!(ids(&payload), [rewritten.as_str()]);

    // A tag deletion.
    repos.push(&["--delete", "v1"]).await;
    let payload = one_event(&receiver).await;
    assert_eq!(
        (payload["ref"].as_str(), payload["after"].as_str()),
        (Some("refs/tags/v1"), Some(ZERO))
    );
    assert_eq!(payload["checkout_sha"], Value::Null);
    assert_eq!(payload["commits"], json!([]));

    // Four new branches in one push: over push_event_hooks_limit (3), no hook fires; the
    // next push's event is the next thing the receiver gets.
    for n in 1..=4 {
        repos.git(&["branch", &format!("many-{n}")]);
    }
    repos.push(&["many-1", "many-2", "many-3", "many-4"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "{:#?}", receiver.received());

    // Push options.
    let skipped = repos.commit("Skip CI");
    repos.push(&["-o", "ci.skip", "main"]).await;
    let payload = one_event(&receiver).await;
    assert_eq!(payload["after"], skipped.as_str());
    assert_eq!(payload["push_options"], json!({"ci": {"skip": true}}));
    assert!(repos.spooled().is_empty(), "{:?}", repos.spooled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_while_wvs_is_down_is_spooled_and_delivered_once_in_order() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    // Ordered: the receiver sees the events in the order WVS stored them.
    registry(&server, &receiver, json!({"ordered": true})).await;
    let repos = Repos::new(&server.url, "acme/web");
    repos.write("README.md", "one\n");
    repos.commit("One");
    repos.push(&["main"]).await;
    exactly(&receiver, 1).await;

    let dir = server.dir.clone();
    server.kill();
    let down = repos.commit("Two");
    let said = repos.push(&["main"]).await;
    assert!(said.contains("wait in wvs-spool/"), "{said}");
    let spooled = repos.spooled();
    assert_eq!(spooled.len(), 1, "{spooled:?}");
    // Kept to be offered again below, as a retry would.
    let copy = std::fs::read(&spooled[0]).unwrap();
    assert!(!String::from_utf8_lossy(&copy).contains(ADMIN_TOKEN));

    let server = Server::start_in(&dir, &[]);
    repos.run(&repos.bare(), &["config", "wvs.url", &server.url]);
    let up = repos.commit("Three");
    let said = repos.push(&["main"]).await;
    assert!(!said.contains("wvs:"), "{said}");
    let received = exactly(&receiver, 2).await;
    let afters: Vec<Value> = received.iter().map(|r| r.json()["after"].clone()).collect();
    assert_eq!(afters, [json!(down), json!(up)]);
    assert!(repos.spooled().is_empty());

    // The same spooled push sent again (as after a lost answer) makes no second event.
    std::fs::write(&spooled[0], &copy).unwrap();
    let flushed = Command::new(env!("CARGO_BIN_EXE_wvs"))
        .args(["git-hook", "flush", "--repo"])
        .arg(repos.bare())
        .env_remove("WVS_URL")
        .output()
        .unwrap();
    assert!(flushed.status.success(), "{flushed:?}");
    assert_eq!(
        String::from_utf8_lossy(&flushed.stdout).trim(),
        "1 sent, 0 waiting"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "{:#?}", receiver.received());
    assert!(repos.spooled().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_push_creates_the_project_and_its_groups() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    hook(
        &server,
        "",
        json!({"url": receiver.url, "push_events": true}),
    )
    .await;
    let repos = Repos::new(&server.url, "new/sub/app");
    let first = repos.commit("Start");
    repos.push(&["main"]).await;
    // The system hook also hears of the groups and the project being created.
    let pushes = || -> Vec<Value> {
        receiver
            .received()
            .iter()
            .map(Received::json)
            .filter(|p| p["object_kind"] == "push")
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while pushes().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no push event");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pushes = pushes();
    assert_eq!(pushes.len(), 1, "{pushes:#?}");
    assert_eq!(pushes[0]["after"], first.as_str());
    assert_eq!(pushes[0]["project"]["path_with_namespace"], "new/sub/app");
    // No registry user is called jsmith: the username alone.
    assert_eq!(
        (
            pushes[0]["user_id"].as_i64(),
            pushes[0]["user_username"].as_str()
        ),
        (Some(0), Some("jsmith"))
    );
    let project = server
        .expect(200, "GET", "/projects/new%2Fsub%2Fapp", None)
        .await;
    assert_eq!(project["path"], "app");
    server.expect(200, "GET", "/groups/new%2Fsub", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_a_wvs_that_never_answers_succeeds_and_is_spooled() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let repos = Repos::new(&url, "acme/web");
    let pushed = repos.commit("One");
    let mut push = repos.command(&repos.work(), &["push", "-q", "origin", "main"]);
    push.env("WVS_TIMEOUT", "1s");
    let output = tokio::task::block_in_place(|| finish(push));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("wait in wvs-spool/"), "{said}");
    assert_eq!(repos.run(&repos.bare(), &["rev-parse", "main"]), pushed);
    assert_eq!(repos.spooled().len(), 1);
    held.abort();
}
