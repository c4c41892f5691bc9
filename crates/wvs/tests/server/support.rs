//! Test support: a real `wvs serve` process on a temporary SQLite file, and a loopback
//! receiver that records every request it gets.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::net::TcpListener;
use wvs_server::api::schema::{
    self, GroupParams, HookEvent, HookParams, MemberParams, ProjectParams, TokenParams, UserParams,
};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

/// A webhook receiver on 127.0.0.1 that answers `status` (200 unless changed).
pub struct Receiver {
    pub url: String,
    state: ReceiverState,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::serve(listener)
    }

    /// Starts on an address that was in use before (a receiver that comes back up).
    pub async fn start_at(address: &str) -> Receiver {
        let listener = TcpListener::bind(address).await.unwrap();
        Receiver::serve(listener)
    }

    fn serve(listener: TcpListener) -> Receiver {
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = ReceiverState {
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
        };
        let app = Router::new().fallback(record).with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, state, task }
    }

    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.state.received.lock().unwrap().clear();
    }

    /// Waits until at least `count` requests arrived (panics after `timeout`).
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} requests, got {} within {timeout:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops listening (the port is closed).
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn record(
    State(state): State<ReceiverState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let headers = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap()
}

/// A `wvs serve` child process. Killed (SIGKILL) when dropped.
pub struct Server {
    pub url: String,
    pub dir: PathBuf,
    child: Child,
    client: reqwest::Client,
    /// What the server wrote to stderr, for a server started with [`Server::start_logged`].
    stderr: Option<Arc<Mutex<String>>>,
}

/// How a test server's diagnostics are handled.
enum Logs<'a> {
    /// Warnings only, on the test's own stderr.
    Inherit,
    /// The default level, kept for the test to read; the server uses `admin_token`.
    Capture { admin_token: &'a str },
}

impl Server {
    /// Starts a server on a new temporary database.
    pub fn start(extra_args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap().keep();
        Server::start_in(&dir, extra_args)
    }

    /// Starts a server on the database in `dir` (kept across restarts).
    pub fn start_in(dir: &Path, extra_args: &[&str]) -> Server {
        // Every receiver of these tests is on loopback; the guard itself is tested in
        // wvs-send and in `api::the_ssrf_guard_refuses_local_urls`.
        let mut args = vec!["--allow-local-requests"];
        args.extend_from_slice(extra_args);
        Server::spawn(dir, &args)
    }

    /// Starts a server with the outbound guard as configured by default.
    pub fn start_guarded(extra_args: &[&str]) -> Server {
        Server::spawn(&tempfile::tempdir().unwrap().keep(), extra_args)
    }

    /// Starts one node on the (PostgreSQL) database at `database_url`.
    pub fn start_node(database_url: &str, extra_args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap().keep();
        let mut args = vec!["--allow-local-requests", "--database-url", database_url];
        args.extend_from_slice(extra_args);
        Server::spawn(&dir, &args)
    }

    /// Starts a server on the database in `dir` at the default log level, with
    /// `admin_token`, keeping its stderr (see [`Server::stderr`]).
    pub fn start_logged(dir: &Path, admin_token: &str, extra_args: &[&str]) -> Server {
        let mut args = vec!["--allow-local-requests"];
        args.extend_from_slice(extra_args);
        Server::spawn_with(dir, &args, Logs::Capture { admin_token })
    }

    /// What a server started with [`Server::start_logged`] wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr_kept().lock().unwrap().clone()
    }

    /// Where that stderr is kept, to read it after the server stopped.
    pub fn stderr_kept(&self) -> Arc<Mutex<String>> {
        self.stderr.clone().expect("started with start_logged")
    }

    fn spawn(dir: &Path, extra_args: &[&str]) -> Server {
        Server::spawn_with(dir, extra_args, Logs::Inherit)
    }

    fn spawn_with(dir: &Path, extra_args: &[&str], logs: Logs) -> Server {
        let database = dir.join("wvs.db");
        let mut command = Command::new(env!("CARGO_BIN_EXE_wvs"));
        command.arg("serve").args(["--listen", "127.0.0.1:0"]);
        // A node of a shared database is given its URL among the extra arguments.
        if !extra_args.contains(&"--database-url") {
            command.arg("--database-url").arg(database);
        }
        command
            .args(extra_args)
            .current_dir(dir)
            .stdout(Stdio::piped());
        match logs {
            Logs::Inherit => command
                .env("WVS_ADMIN_TOKEN", ADMIN_TOKEN)
                .env("RUST_LOG", "warn")
                .stderr(Stdio::inherit()),
            Logs::Capture { admin_token } => command
                .env("WVS_ADMIN_TOKEN", admin_token)
                .env_remove("RUST_LOG")
                .stderr(Stdio::piped()),
        };
        let mut child = command.spawn().expect("wvs serve starts");
        let stderr = child.stderr.take().map(|pipe| {
            let kept = Arc::new(Mutex::new(String::new()));
            let writer = kept.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut kept = writer.lock().unwrap();
                    kept.push_str(&line);
                    kept.push('\n');
                }
            });
            kept
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("WVS listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("wvs serve prints its address");
        Server {
            url,
            dir: dir.to_owned(),
            child,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            stderr,
        }
    }

    /// The process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once, as `kill -9` does.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM) and waits for it.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }

    /// Sends an authenticated API request; `body` is sent as JSON.
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, body) = self.api_raw(method, path, body, &[]).await;
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, value)
    }

    /// Like [`Server::api`], with extra headers, returning the response headers too.
    pub async fn api_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, HeaderMap, Vec<u8>) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}/api/v4{path}", self.url))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// Posts raw bytes as JSON; returns status, headers and body.
    pub async fn api_raw_bytes(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (u16, HeaderMap, Vec<u8>) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self
            .client
            .request(method, format!("{}/api/v4{path}", self.url))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .header("Content-Type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("the API answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// `api`, asserting the status.
    pub async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (got, value) = self.api(method, path, body).await;
        assert_eq!(got, status, "{method} {path}: {value}");
        value
    }

    /// A typed API call: sends `body` as JSON, asserts the status and reads the answer as
    /// `T` (the server's own response types, so a changed shape fails here).
    pub async fn call<T: DeserializeOwned>(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> T {
        let body = body.map(|body| serde_json::to_value(body).unwrap());
        let answer = self.expect(status, method, path, body).await;
        serde_json::from_value(answer.clone())
            .unwrap_or_else(|error| panic!("{method} {path}: {error}: {answer}"))
    }

    pub async fn create_group(&self, params: &GroupParams) -> schema::Group {
        self.call(201, "POST", "/groups", Some(params)).await
    }

    pub async fn create_project(&self, params: &ProjectParams) -> schema::Project {
        self.call(201, "POST", "/projects", Some(params)).await
    }

    pub async fn create_user(&self, params: &UserParams) -> schema::User {
        self.call(201, "POST", "/users", Some(params)).await
    }

    /// Adds a member to `owner` (`/projects/1`, `/groups/2`).
    pub async fn add_member(&self, owner: &str, params: &MemberParams) -> schema::Member {
        self.call(201, "POST", &format!("{owner}/members"), Some(params))
            .await
    }

    /// Creates an access token of `owner` (`/projects/1`, `/groups/2`); its secret is in
    /// this answer only.
    pub async fn create_access_token(
        &self,
        owner: &str,
        params: &TokenParams,
    ) -> schema::AccessToken {
        self.call(201, "POST", &format!("{owner}/access_tokens"), Some(params))
            .await
    }

    /// Creates a hook under `owner` (`/projects/1`, `/groups/2`, or `` for system hooks).
    pub async fn create_hook(&self, owner: &str, params: &HookParams) -> schema::Hook {
        self.call(201, "POST", &format!("{owner}/hooks"), Some(params))
            .await
    }

    pub async fn get_hook(&self, owner: &str, hook_id: i64) -> schema::Hook {
        let path = format!("{owner}/hooks/{hook_id}");
        self.call(200, "GET", &path, None::<&()>).await
    }

    /// A hook's delivery log, newest first (one page of up to 100).
    pub async fn hook_log(&self, owner: &str, hook_id: i64) -> Vec<HookEvent> {
        let path = format!("{owner}/hooks/{hook_id}/events?per_page=100");
        self.call(200, "GET", &path, None::<&()>).await
    }

    /// Polls a delivery log (`.../hooks/:id/events`) until it lists at least `count`
    /// attempts: a receiver sees a request a moment before its attempt is recorded.
    pub async fn wait_for_log(&self, path: &str, count: usize) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.expect(200, "GET", path, None).await;
            let listed = log.as_array().map_or(0, Vec::len);
            if listed >= count {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: {listed} of {count} attempts logged"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Posts an event body to an ingest path, naming the path's project or group (see
    /// [`retarget`]).
    pub async fn ingest(&self, path: &str, body: &[u8]) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/v4{path}", self.url))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .header("Content-Type", "application/json")
            .body(retarget(path, body))
            .send()
            .await
            .expect("the API answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The documented examples (`fixtures/` at the repository root).
pub fn fixtures_dir() -> PathBuf {
    let dir = std::env::var_os("WVS_FIXTURES_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures"),
        PathBuf::from,
    );
    assert!(
        dir.join("index.tsv").is_file(),
        "fixtures not found at {}",
        dir.display()
    );
    dir
}

/// Every fixture: (file, documented header, bytes).
pub fn fixtures() -> Vec<(String, String, Vec<u8>)> {
    let dir = fixtures_dir();
    std::fs::read_to_string(dir.join("index.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let mut columns = line.split('\t');
            let file = columns.next().unwrap().to_owned();
            let header = columns.next().unwrap().to_owned();
            let bytes = std::fs::read(dir.join(&file)).unwrap();
            (file, header, bytes)
        })
        .collect()
}

/// `body` as the emitter of the project or group of the ingest `path`
/// (`[/api/v4]/projects/:id/events`, `/groups/:id/events`) would post it: the ids it names
/// (`project_id`, `project.id`; `group_id`, `group.id`, or a subgroup event's
/// `parent_group_id`) become the path's, since an event may not name another. A body that
/// names none, is not a JSON object, or goes elsewhere is returned byte for byte.
pub fn retarget(path: &str, body: &[u8]) -> Vec<u8> {
    let route = path.strip_prefix("/api/v4").unwrap_or(path);
    let id_after = |prefix: &str| {
        route
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("/events"))
            .and_then(|id| id.parse::<i64>().ok())
    };
    let (id, top_key, block) = if let Some(id) = id_after("/projects/") {
        (id, "project_id", "project")
    } else if let Some(id) = id_after("/groups/") {
        (id, "group_id", "group")
    } else {
        return body.to_vec();
    };
    let Ok(Value::Object(mut event)) = serde_json::from_slice::<Value>(body) else {
        return body.to_vec();
    };
    // A subgroup event's `group_id` is the subgroup; its parent is the route's group.
    let top_key = if block == "group" && event.contains_key("parent_group_id") {
        "parent_group_id"
    } else {
        top_key
    };
    let mut changed = false;
    let mut set = |slot: Option<&mut Value>| {
        if let Some(slot) = slot.filter(|slot| !slot.is_null() && **slot != id) {
            *slot = Value::from(id);
            changed = true;
        }
    };
    set(event.get_mut(top_key));
    set(event.get_mut(block).and_then(|block| block.get_mut("id")));
    if changed {
        serde_json::to_vec(&Value::Object(event)).unwrap()
    } else {
        body.to_vec()
    }
}
