//! End to end through the binary: `wvs listen` runs as a child process on a free loopback
//! port, `wvs trigger` sends to it, and the listener's `--jsonl` lines say what arrived and
//! how it was answered. Every wait has a deadline, so a broken build fails instead of hanging.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wvs_events::signature::unix_now;
use wvs_events::{DeliveryHeaders, Flavor, Sample, SigningSecret, samples};

const TOKEN: &str = "s3cret-test-token";
/// The longest any child process or socket read may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// `wvs` with a clean slate: the test's flags, not the environment of whoever runs the
/// tests, decide the secrets.
fn wvs() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wvs"));
    command
        .env_remove("WVS_TOKEN")
        .env_remove("WVS_SIGNING_TOKEN");
    command
}

/// A running `wvs listen --token TOKEN --signing-token SECRET --jsonl FILE`, killed when
/// dropped, also when a test panics.
struct Listener {
    child: Child,
    /// `127.0.0.1:PORT`.
    address: String,
    jsonl: PathBuf,
    _dir: tempfile::TempDir,
}

impl Listener {
    fn start(secret: &str) -> Listener {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let jsonl = dir.path().join("requests.jsonl");
        let mut child = wvs()
            .args(["listen", "--port", "0", "--token", TOKEN])
            .args(["--signing-token", secret, "--jsonl"])
            .arg(&jsonl)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("wvs listen starts");
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut listener = Listener {
            child,
            address: String::new(),
            jsonl,
            _dir: dir,
        };
        // Read on a thread so the wait has a deadline; the thread then keeps draining stdout
        // so that the listener never blocks on a full pipe.
        let (first_line, received) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = first_line.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = received
            .recv_timeout(DEADLINE)
            .expect("wvs listen prints its address in time");
        listener.address = line
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        listener
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    /// Every JSON line written so far.
    fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.jsonl).expect("the JSONL file");
        assert!(!text.contains(TOKEN), "the log must not contain the token");
        text.lines()
            .map(|line| serde_json::from_str(line).expect("each line is JSON"))
            .collect()
    }

    /// The one request logged since the log was last emptied.
    fn only_request(&self) -> Value {
        let mut requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        std::fs::write(&self.jsonl, "").expect("empty the JSONL file");
        requests.remove(0)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `wvs ARGS` to the end, killing it at the deadline.
fn run(args: &[&str]) -> Output {
    let mut child = wvs()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wvs starts");
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for wvs") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wvs {args:?} did not finish within {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sample_json(sample: &Sample) -> Value {
    serde_json::from_str(sample.json).expect("the sample is JSON")
}

fn sample(name: &str) -> &'static Sample {
    samples::find(name).expect("a known sample")
}

#[test]
fn every_sample_in_both_flavors_is_accepted_and_logged() {
    let secret = SigningSecret::generate().expose();
    let listener = Listener::start(&secret);
    let url = listener.url();
    let mut sent = Vec::new();
    for sample in samples::all() {
        for flavor in Flavor::ALL {
            let output = run(&[
                "trigger",
                sample.name,
                "--url",
                &url,
                "--token",
                TOKEN,
                "--signing-token",
                &secret,
                "--flavor",
                flavor.as_str(),
            ]);
            let stdout = text(&output.stdout);
            assert!(
                output.status.success(),
                "trigger {} --flavor {flavor}: {}{stdout}",
                sample.name,
                text(&output.stderr),
            );
            assert!(
                !stdout.contains(TOKEN) && !stdout.contains(&secret),
                "{stdout}"
            );
            assert!(stdout.contains("webhook-signature: [REDACTED]"), "{stdout}");
            sent.push((sample, flavor));
        }
    }

    let requests = listener.requests();
    assert_eq!(requests.len(), sent.len());
    for (request, (sample, flavor)) in requests.iter().zip(sent) {
        let context = format!("{} as {flavor}: {request:#}", sample.name);
        assert_eq!(request["status"], 200, "{context}");
        assert_eq!(request["method"], "POST", "{context}");
        assert_eq!(request["path"], "/hook", "{context}");
        assert_eq!(request["kind"], sample.kind.name(), "{context}");
        assert_eq!(request["event_header"], sample.header(), "{context}");
        assert_eq!(request["flavor"], flavor.as_str(), "{context}");
        let headers = &request["headers"];
        for other in Flavor::ALL {
            let event_header = other.event().to_ascii_lowercase();
            let token_header = other.token().to_ascii_lowercase();
            assert_eq!(
                headers.get(&event_header).is_some(),
                other == flavor,
                "{context}"
            );
            assert_eq!(
                headers.get(&token_header).is_some(),
                other == flavor,
                "{context}"
            );
        }
        assert_eq!(headers[flavor.token().to_ascii_lowercase()], "[REDACTED]");
        assert_eq!(headers["webhook-signature"], "[REDACTED]");
        assert_eq!(request["token"], "valid", "{context}");
        assert_eq!(request["signature"], "valid", "{context}");
        assert_eq!(request["error"], Value::Null, "{context}");
        assert!(request["event_uuid"].is_string(), "{context}");
        assert!(request["webhook_uuid"].is_string(), "{context}");
        assert!(request["idempotency_key"].is_string(), "{context}");
        assert_eq!(request["body"], sample_json(sample), "{context}");
    }
}

#[test]
fn a_wrong_or_missing_token_is_refused_with_401() {
    let secret = SigningSecret::generate().expose();
    let listener = Listener::start(&secret);
    let url = listener.url();

    let wrong = "wrong-token";
    let output = run(&[
        "trigger",
        "push",
        "--url",
        &url,
        "--token",
        wrong,
        "--signing-token",
        &secret,
    ]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("401"),
        "{}",
        text(&output.stderr)
    );
    assert!(!text(&output.stdout).contains(wrong));
    let request = listener.only_request();
    assert_eq!(request["status"], 401);
    assert_eq!(request["token"], "wrong");
    assert_eq!(request["kind"], Value::Null);
    assert!(request["error"].is_string());

    let output = run(&["trigger", "push", "--url", &url, "--signing-token", &secret]);
    assert!(!output.status.success());
    let request = listener.only_request();
    assert_eq!(request["status"], 401);
    assert_eq!(request["token"], "missing");
}

#[test]
fn another_signing_secret_or_none_is_refused_with_401() {
    let secret = SigningSecret::generate().expose();
    let listener = Listener::start(&secret);
    let url = listener.url();

    let other = SigningSecret::generate().expose();
    let output = run(&[
        "trigger",
        "issue",
        "--url",
        &url,
        "--token",
        TOKEN,
        "--signing-token",
        &other,
    ]);
    assert!(!output.status.success());
    let request = listener.only_request();
    assert_eq!(request["status"], 401);
    assert_eq!(request["token"], "valid");
    let signature = request["signature"].as_str().expect("a signature outcome");
    assert!(signature.starts_with("bad signature"), "{signature}");

    let output = run(&["trigger", "issue", "--url", &url, "--token", TOKEN]);
    assert!(!output.status.success());
    let request = listener.only_request();
    assert_eq!(request["status"], 401);
    assert!(
        request["signature"]
            .as_str()
            .is_some_and(|s| s.contains("not signed"))
    );

    // Either of two secrets is enough, as during a key rotation.
    let output = run(&[
        "trigger",
        "issue",
        "--url",
        &url,
        "--token",
        TOKEN,
        "--signing-token",
        &other,
        "--signing-token",
        &secret,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(listener.only_request()["signature"], "valid");
}

/// The bytes of `--file` go out unchanged: a receiver of our own reads the raw request, and
/// the listener checks the signature over them.
#[test]
fn a_file_payload_is_sent_byte_for_byte() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let issue = sample("issue");
    let bytes = format!("{}\r\n", sample_json(issue)).into_bytes();
    assert_ne!(
        bytes,
        issue.json.as_bytes(),
        "the file must differ from the sample"
    );
    let file = dir.path().join("issue.json");
    std::fs::write(&file, &bytes).expect("write the payload");
    let file = file.to_str().expect("a UTF-8 path");

    let (url, captured) = capture_one_request();
    let output = run(&["trigger", "issue", "--url", &url, "--file", file]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let (head, body) = captured.join().expect("the capturing receiver");
    assert_eq!(body, bytes);
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nx-wvs-event: issue hook\r\n"),
        "{head}"
    );

    let secret = SigningSecret::generate().expose();
    let listener = Listener::start(&secret);
    let output = run(&[
        "trigger",
        "issue",
        "--url",
        &listener.url(),
        "--file",
        file,
        "--token",
        TOKEN,
        "--signing-token",
        &secret,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let request = listener.only_request();
    assert_eq!(request["signature"], "valid");
    assert_eq!(request["body"], sample_json(issue));
}

#[test]
fn a_file_of_another_kind_is_refused_before_sending() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("issue.json");
    std::fs::write(&file, sample("issue").json).expect("write the payload");
    let output = run(&[
        "trigger",
        "push",
        "--url",
        "http://127.0.0.1:9/",
        "--file",
        file.to_str().expect("a UTF-8 path"),
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`issue`") && stderr.contains("`push`"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing was sent");
}

#[test]
fn list_names_every_sample_with_its_header_and_scope() {
    let output = run(&["trigger", "--list"]);
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), samples::all().len());
    for (line, sample) in lines.iter().zip(samples::all()) {
        assert!(line.starts_with(&format!("{} ", sample.name)), "{line}");
        assert!(line.contains(sample.header()), "{line}");
        assert!(line.ends_with(sample.scope.as_str()), "{line}");
    }
}

#[test]
fn an_unknown_kind_names_the_valid_kinds() {
    let output = run(&["trigger", "no_such_kind", "--url", "http://127.0.0.1:9/"]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("no_such_kind"), "{stderr}");
    for sample in samples::all() {
        assert!(
            stderr.contains(sample.name),
            "{} missing in {stderr}",
            sample.name
        );
    }
}

#[test]
fn a_bad_signing_token_is_refused_without_echoing_it() {
    let bad = "whsec_not*base64*at-all";
    for args in [
        &[
            "trigger",
            "push",
            "--url",
            "http://127.0.0.1:9/",
            "--signing-token",
            bad,
        ][..],
        &["listen", "--port", "0", "--signing-token", bad][..],
    ] {
        let output = run(args);
        assert!(!output.status.success());
        let stderr = text(&output.stderr);
        assert!(stderr.contains("--signing-token"), "{stderr}");
        assert!(!stderr.contains("base64*at-all"), "{stderr}");
    }
}

#[test]
fn malformed_requests_get_400_and_other_methods_405_with_a_json_message() {
    let secret = SigningSecret::generate().expose();
    let listener = Listener::start(&secret);

    let (status, answer) = send_raw(&listener.address, "POST", &[], b"{}");
    assert_eq!(
        (status, &answer),
        (
            400,
            &json!({ "message": "no X-WVS-Event or X-Gitlab-Event header" })
        )
    );
    assert_eq!(listener.only_request()["status"], 400);

    // Signed and with the right token, so that only the body is wrong.
    let body = b"{not json";
    let signing_secrets = [SigningSecret::parse(&secret).expect("a valid secret")];
    let headers = DeliveryHeaders {
        flavor: Flavor::Gitlab,
        event_header: "Push Hook",
        token: Some(TOKEN),
        event_uuid: "event-1",
        webhook_uuid: "hook-1",
        instance: "http://localhost",
        idempotency_key: "key-1",
        signing_secrets: &signing_secrets,
        timestamp: unix_now(),
        version: "17.0",
    }
    .build(body);
    let (status, answer) = send_raw(&listener.address, "POST", &headers, body);
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid JSON")),
        "{answer}"
    );
    let request = listener.only_request();
    assert_eq!(request["status"], 400);
    assert_eq!(request["token"], "valid");
    assert_eq!(request["signature"], "valid");
    assert_eq!(request["flavor"], "gitlab");
    assert_eq!(request["event_uuid"], "event-1");
    assert_eq!(request["idempotency_key"], "key-1");
    assert_eq!(request["body"], "{not json");

    let (status, answer) = send_raw(&listener.address, "GET", &[], b"");
    assert_eq!(status, 405);
    assert!(answer["message"].is_string());
    assert_eq!(listener.only_request()["status"], 405);
}

/// A one-shot HTTP/1.1 request on a plain socket, so that the test can send what no client
/// library would (no event header, a broken body). Returns the status and the JSON answer.
fn send_raw(address: &str, method: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).expect("connect to the listener");
    stream
        .set_read_timeout(Some(DEADLINE))
        .expect("a read timeout");
    let mut request = format!(
        "{method} /hook HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send the head");
    stream.write_all(body).expect("send the body");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status line");
    (status, serde_json::from_str(body).expect("a JSON answer"))
}

/// A receiver on a plain socket that answers one request with 200 and hands back its head
/// and its body bytes exactly as they arrived.
fn capture_one_request() -> (String, thread::JoinHandle<(String, Vec<u8>)>) {
    let server = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!(
        "http://{}/capture",
        server.local_addr().expect("its address")
    );
    let handle = thread::spawn(move || {
        let (mut stream, _) = server.accept().expect("a connection");
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("a read timeout");
        let mut request = Vec::new();
        let mut chunk = [0u8; 8192];
        let (head, body_start, length) = loop {
            let read = stream.read(&mut chunk).expect("read the request");
            assert!(read > 0, "the connection closed early");
            request.extend_from_slice(&chunk[..read]);
            if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&request[..end]).into_owned();
                let length = content_length(&head);
                break (head, end + 4, length);
            }
        };
        while request.len() < body_start + length {
            let read = stream.read(&mut chunk).expect("read the body");
            assert!(read > 0, "the connection closed early");
            request.extend_from_slice(&chunk[..read]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .expect("answer");
        (head, request[body_start..].to_vec())
    });
    (url, handle)
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("a content-length header")
}

/// `wvs migrate` brings a new SQLite file and a new PostgreSQL database to the current
/// schema, says which, and is a no-op the second time.
#[tokio::test]
async fn migrate_applies_the_schema_to_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.db");
    let database = wvs_store::testing::TestDatabase::create("migrate").await;
    for url in [file.to_str().unwrap(), database.url()] {
        for _ in 0..2 {
            let output = run(&["migrate", "--database-url", url]);
            assert!(output.status.success(), "{}", text(&output.stderr));
            assert!(
                text(&output.stdout).starts_with("schema at version "),
                "{}",
                text(&output.stdout)
            );
        }
    }
    assert!(file.exists());
}

/// A PostgreSQL store without a shared at-rest key is refused with what to do.
#[test]
fn serve_on_postgresql_without_a_secret_key_says_what_to_do() {
    let output = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        "postgres://postgres@127.0.0.1:5432/postgres",
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--secret-key"), "{stderr}");
}

/// A store that cannot be opened is one line that says what to do.
#[test]
fn an_unwritable_database_path_says_what_to_do() {
    let output = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--secret-key",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "--database-url",
        "/proc/no-such-dir/wvs.db",
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: cannot open"), "{stderr}");
    assert!(stderr.contains("pass --database-url"), "{stderr}");
}

/// A configuration or migration error is printed once, on one line per cause, not repeated
/// by the error that wraps it.
#[test]
fn config_and_migrate_errors_are_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "listen = 5\n").unwrap();
    let not_a_database = dir.path().join("garbage.db");
    std::fs::write(&not_a_database, "not a database").unwrap();
    let cases = [
        (
            vec!["serve", "--config", config.to_str().unwrap()],
            "expected a string",
        ),
        (
            vec![
                "migrate",
                "--database-url",
                not_a_database.to_str().unwrap(),
            ],
            "file is not a database",
        ),
    ];
    for (args, cause) in cases {
        let output = run(&args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert_eq!(stderr.matches(cause).count(), 1, "{args:?}: {stderr}");
    }
}

/// `--print` only writes the sample: with a URL to send it to, it is refused.
#[test]
fn print_sends_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let output = run(&["trigger", "push", "--print", "--url", &url]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("--url"),
        "{}",
        text(&output.stderr)
    );
    let output = run(&["trigger", "push", "--print"]);
    assert!(output.status.success());
    assert_eq!(output.stdout, sample("push").json.as_bytes());
}
