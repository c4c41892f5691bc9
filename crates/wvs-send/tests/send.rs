//! Deliveries to real receivers on 127.0.0.1 in this process: an axum app for ordinary
//! answers and redirects, and raw TCP or TLS listeners for the answers axum would never give
//! (a stalled or endless body, garbage, a self-signed certificate). The sender here allows
//! local requests; tests/guard.rs covers what the default policy refuses.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::any;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use wvs_events::signature::{unix_now, verify};
use wvs_events::{Flavor, SigningSecret, samples};
use wvs_send::{AttemptResult, OutboundPolicy, REDACTED, Request, Sender, SenderConfig};

const EVENT_UUID: &str = "0f6c1c1e-5d4f-4b8e-9a57-2f6f3f0b7a10";
const WEBHOOK_UUID: &str = "7d3a2f4e-1111-4c2b-8f0e-5b9d6c4a3e21";
const KEY: &str = "c4a3e217-d3a2-4f4e-8c2b-1111f0e5b9d6";
const TOKEN: &str = "tok-3f9a-secret";

// ---------------------------------------------------------------- receivers

#[derive(Debug, Clone)]
struct Received {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// The axum receiver: special answers on a few paths, everything else recorded and
/// answered `200 ok`. The redirecting paths record their requests too.
struct Receiver {
    addr: SocketAddr,
    log: Log,
}

impl Receiver {
    async fn start() -> Receiver {
        let log = Log::default();
        let app = Router::new()
            .route("/caps", any(caps))
            .route("/slow", any(slow))
            .route("/limited", any(limited))
            .route("/hop/{left}", any(hop))
            .route("/to", any(redirect_to))
            .route("/v/{name}", any(relative_redirect))
            .route(
                "/self",
                any(|| async {
                    (
                        StatusCode::TEMPORARY_REDIRECT,
                        [(header::LOCATION, "/self")],
                    )
                }),
            )
            .fallback(record)
            .with_state(log.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    fn only(&self) -> Received {
        let received = self.received();
        assert_eq!(received.len(), 1, "{received:?}");
        received.into_iter().next().unwrap()
    }
}

async fn record(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    log.lock().unwrap().push(Received {
        method,
        uri: uri.to_string(),
        headers,
        body,
    });
    "ok"
}

/// `/hop/N`: a 307 to `/hop/N-1`, and `/hop/0` answers: a chain of N redirects.
async fn hop(
    Path(left): Path<u32>,
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    record(State(log), method, uri, headers, body).await;
    if left == 0 {
        return "ok".into_response();
    }
    let next = format!("/hop/{}", left - 1);
    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, next)]).into_response()
}

/// `/to?code=307&location=...`: a redirect with that status to that place.
async fn redirect_to(
    Query(query): Query<HashMap<String, String>>,
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    record(State(log), method, uri, headers, body).await;
    let code: u16 = query["code"].parse().unwrap();
    (
        StatusCode::from_u16(code).unwrap(),
        [(header::LOCATION, query["location"].clone())],
        "moved",
    )
}

/// `/v/NAME`: a 307 to the relative `?hop=1`, which is recorded.
async fn relative_redirect(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let arrived = uri.query().is_some();
    record(State(log), method, uri, headers, body).await;
    if arrived {
        "ok".into_response()
    } else {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, "?hop=1")],
        )
            .into_response()
    }
}

/// More headers, a longer header value and a longer body than the log keeps.
async fn caps() -> impl IntoResponse {
    let mut headers = HeaderMap::new();
    for i in 0..60 {
        let value = if i == 0 {
            "v".repeat(2000)
        } else {
            i.to_string()
        };
        headers.insert(
            header::HeaderName::from_bytes(format!("x-h-{i:02}").as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    // 3-byte characters, so the 8 KiB cut falls inside one.
    (StatusCode::CREATED, headers, "€".repeat(5000))
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

async fn limited() -> impl IntoResponse {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "7")],
        "slow down",
    )
}

/// A receiver for one connection that reads the request head and hands the socket to
/// `respond`; the handle yields what `respond` returns.
async fn raw_receiver<F, Fut, T>(respond: F) -> (SocketAddr, JoinHandle<T>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_head(&mut stream).await;
        respond(stream).await
    });
    (addr, handle)
}

async fn read_head(stream: &mut (impl AsyncRead + Unpin)) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

// ---------------------------------------------------------------- helpers

fn sender() -> Sender {
    sender_with(SenderConfig::default().timeout)
}

fn sender_with(timeout: Duration) -> Sender {
    Sender::new(config(timeout)).unwrap()
}

/// The receivers are on 127.0.0.1, which the default policy refuses to project hooks.
fn config(timeout: Duration) -> SenderConfig {
    SenderConfig {
        timeout,
        version: "1.2.3".to_owned(),
        instance: "https://wvs.example".to_owned(),
        outbound: OutboundPolicy {
            allow_local_requests: true,
            ..OutboundPolicy::default()
        },
        ..SenderConfig::default()
    }
}

/// A sender that reaches 127.0.0.1 only because the allowlist names it, and no other
/// local address.
fn allowlisted_sender() -> Sender {
    Sender::new(SenderConfig {
        outbound: OutboundPolicy {
            allowlist: vec!["127.0.0.1".parse().unwrap()],
            ..OutboundPolicy::default()
        },
        ..config(SenderConfig::DEFAULT_TIMEOUT)
    })
    .unwrap()
}

fn request<'a>(url: &'a str, body: &'a [u8]) -> Request<'a> {
    Request {
        url,
        flavor: Flavor::Wvs,
        event_header: "Push Hook",
        token: None,
        signing_secrets: &[],
        custom_headers: &[],
        url_variables: &[],
        event_uuid: EVENT_UUID,
        webhook_uuid: WEBHOOK_UUID,
        idempotency_key: KEY,
        body: Bytes::copy_from_slice(body),
        verify_tls: true,
        system_hook: false,
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.to_str().unwrap())
}

fn logged<'a>(result: &'a AttemptResult, name: &str) -> Option<&'a str> {
    result
        .request_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn push_body() -> &'static [u8] {
    samples::find("push").unwrap().json.as_bytes()
}

// ---------------------------------------------------------------- what is sent

#[tokio::test]
async fn wvs_flavor_sends_the_body_byte_for_byte_with_the_documented_headers() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/hook");
    // Odd spacing and key order: any re-serialization would show.
    let body = br#"{"z": 1,   "a" :["caf\u00e9", "caf\xc3\xa9"]}  "#;

    let result = sender().send(&request(&url, body)).await;

    assert_eq!(result.status, Some(200));
    assert!(result.is_success());
    assert_eq!(result.error, None);
    assert_eq!(result.response_body, b"ok");
    let got = receiver.only();
    assert_eq!(&got.body[..], &body[..]);
    let h = &got.headers;
    assert_eq!(header(h, "content-type"), Some("application/json"));
    assert_eq!(header(h, "user-agent"), Some("WVS/1.2.3"));
    assert_eq!(header(h, "x-wvs-event"), Some("Push Hook"));
    assert_eq!(header(h, "x-wvs-event-uuid"), Some(EVENT_UUID));
    assert_eq!(header(h, "x-wvs-webhook-uuid"), Some(WEBHOOK_UUID));
    assert_eq!(header(h, "x-wvs-instance"), Some("https://wvs.example"));
    assert_eq!(header(h, "idempotency-key"), Some(KEY));
    for absent in [
        "x-wvs-token",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "authorization",
    ] {
        assert!(!h.contains_key(absent), "{absent} was sent");
    }
    assert_eq!(logged(&result, "X-WVS-Event"), Some("Push Hook"));
    assert_eq!(logged(&result, "Idempotency-Key"), Some(KEY));
}

#[tokio::test]
async fn gitlab_flavor_sends_token_and_a_verifiable_signature() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/hook");
    let secrets = [SigningSecret::generate()];
    let request = Request {
        flavor: Flavor::Gitlab,
        token: Some(TOKEN),
        signing_secrets: &secrets,
        ..request(&url, push_body())
    };

    let result = sender().send(&request).await;

    assert_eq!(result.status, Some(200));
    let got = receiver.only();
    let h = &got.headers;
    assert_eq!(header(h, "user-agent"), Some("GitLab/1.2.3"));
    assert_eq!(header(h, "x-gitlab-event"), Some("Push Hook"));
    assert_eq!(header(h, "x-gitlab-token"), Some(TOKEN));
    assert_eq!(header(h, "x-gitlab-event-uuid"), Some(EVENT_UUID));
    assert_eq!(header(h, "x-gitlab-webhook-uuid"), Some(WEBHOOK_UUID));
    assert_eq!(header(h, "x-gitlab-instance"), Some("https://wvs.example"));
    assert!(!h.keys().any(|name| name.as_str().starts_with("x-wvs-")));
    assert_eq!(header(h, "idempotency-key"), Some(KEY));
    assert_eq!(header(h, "webhook-id"), Some(KEY));
    verify(
        &secrets,
        header(h, "webhook-id").unwrap(),
        header(h, "webhook-timestamp").unwrap(),
        header(h, "webhook-signature").unwrap(),
        &got.body,
        unix_now(),
    )
    .expect("the received signature verifies");

    assert_eq!(logged(&result, "X-Gitlab-Token"), Some(REDACTED));
    assert_eq!(logged(&result, "webhook-signature"), Some(REDACTED));
    assert_eq!(logged(&result, "webhook-id"), Some(KEY));
}

#[tokio::test]
async fn url_credentials_become_basic_auth_and_leave_the_logged_url() {
    let receiver = Receiver::start().await;
    let url = format!("http://alice:p%40ss@{}/hook", receiver.addr);

    let result = sender().send(&request(&url, b"{}")).await;

    let got = receiver.only();
    let expected = format!("Basic {}", BASE64.encode("alice:p@ss"));
    assert_eq!(
        header(&got.headers, "authorization"),
        Some(expected.as_str())
    );
    assert_eq!(result.url, format!("http://{}/hook", receiver.addr));
    assert_eq!(logged(&result, "Authorization"), Some(REDACTED));
}

#[tokio::test]
async fn url_variables_are_substituted_encoded_and_masked_in_the_log() {
    let receiver = Receiver::start().await;
    let template = "http://{user}:{pass}@127.0.0.1:{port}/hooks/{project}?key={key}";
    let variables = pairs(&[
        ("user", "svc"),
        ("pass", "pa:ss@word"),
        ("port", &receiver.addr.port().to_string()),
        ("project", "a b/c"),
        ("key", "k3y&x=1"),
    ]);
    let request = Request {
        url_variables: &variables,
        ..request(template, b"{}")
    };

    let result = sender().send(&request).await;

    assert_eq!(result.status, Some(200), "{:?}", result.error);
    let got = receiver.only();
    assert_eq!(got.uri, "/hooks/a%20b%2Fc?key=k3y%26x%3D1");
    let expected = format!("Basic {}", BASE64.encode("svc:pa:ss@word"));
    assert_eq!(
        header(&got.headers, "authorization"),
        Some(expected.as_str())
    );
    assert_eq!(
        result.url,
        "http://127.0.0.1:{port}/hooks/{project}?key={key}"
    );
}

#[tokio::test]
async fn custom_headers_are_sent_but_delivery_headers_win_a_clash() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/hook");
    let custom = pairs(&[
        ("X-Custom", "custom-value"),
        ("x-wvs-event", "Spoofed Hook"),
        ("Content-Type", "text/plain"),
        ("Authorization", "Bearer custom-bearer"),
    ]);
    let request = Request {
        custom_headers: &custom,
        ..request(&url, b"{}")
    };

    let result = sender().send(&request).await;

    let got = receiver.only();
    let h = &got.headers;
    assert_eq!(header(h, "x-custom"), Some("custom-value"));
    assert_eq!(
        h.get_all("x-wvs-event").iter().collect::<Vec<_>>(),
        ["Push Hook"]
    );
    assert_eq!(
        h.get_all("content-type").iter().collect::<Vec<_>>(),
        ["application/json"]
    );
    // No credentials in the URL, so a custom Authorization is the hook's own choice.
    assert_eq!(header(h, "authorization"), Some("Bearer custom-bearer"));
    assert_eq!(logged(&result, "X-Custom"), Some(REDACTED));
    assert_eq!(logged(&result, "Authorization"), Some(REDACTED));
    assert_eq!(logged(&result, "x-wvs-event"), Some("Push Hook"));
    assert_eq!(
        result.request_headers.len(),
        9,
        "{:?}",
        result.request_headers
    );
}

#[tokio::test]
async fn the_record_holds_no_secret_at_all() {
    let receiver = Receiver::start().await;
    let secrets = [SigningSecret::generate()];
    let template = "http://user:url-pass-123@127.0.0.1:{port}/h/{hidden}";
    let variables = pairs(&[
        ("port", &receiver.addr.port().to_string()),
        ("hidden", "variable-value-456"),
    ]);
    let custom = pairs(&[("X-Api-Key", "custom-secret-789")]);
    let request = Request {
        token: Some(TOKEN),
        signing_secrets: &secrets,
        custom_headers: &custom,
        url_variables: &variables,
        ..request(template, b"{}")
    };

    let result = sender().send(&request).await;

    assert_eq!(result.status, Some(200));
    let got = receiver.only();
    let signature = header(&got.headers, "webhook-signature").unwrap();
    let record = format!("{result:?}");
    let exposed = secrets[0].expose();
    let secret_key = exposed.trim_start_matches("whsec_");
    for secret in [
        TOKEN,
        "url-pass-123",
        "variable-value-456",
        "custom-secret-789",
        signature,
        secret_key,
    ] {
        assert!(
            !record.contains(secret),
            "`{secret}` is in the record: {record}"
        );
    }
}

#[tokio::test]
async fn an_invalid_header_value_or_url_is_an_error_result_and_nothing_is_sent() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/hook");
    let custom = pairs(&[("X-Bad", "one\r\nX-Injected: two")]);
    let bad_header = Request {
        custom_headers: &custom,
        ..request(&url, b"{}")
    };
    let result = sender().send(&bad_header).await;
    assert_eq!(result.status, None);
    assert!(result.permanent);
    let error = result.error.unwrap();
    assert!(
        error.contains("X-Bad") && !error.contains("Injected"),
        "{error}"
    );
    assert!(result.request_headers.is_empty());

    let result = sender()
        .send(&request("http://{missing}/hook", b"{}"))
        .await;
    assert_eq!(
        result.error.as_deref(),
        Some("invalid URL: no value for the URL variable `{missing}`")
    );
    assert!(result.permanent);
    let result = sender().send(&request("not a url", b"{}")).await;
    assert!(result.permanent);
    assert!(result.error.unwrap().starts_with("invalid URL: "));
    let result = sender().send(&request("ftp://127.0.0.1/", b"{}")).await;
    assert!(result.permanent);
    assert_eq!(
        result.error.as_deref(),
        Some("invalid URL: the scheme must be http or https")
    );
    assert!(receiver.received().is_empty());
}

// ---------------------------------------------------------------- what is captured

#[tokio::test]
async fn response_status_headers_and_body_are_captured_within_the_caps() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/caps");

    let result = sender().send(&request(&url, b"{}")).await;

    assert_eq!(result.status, Some(201));
    assert!(result.is_success());
    assert_eq!(result.response_headers.len(), 50);
    let (_, long) = result
        .response_headers
        .iter()
        .find(|(name, _)| name == "x-h-00")
        .unwrap();
    assert_eq!(long.len(), 1024);
    // 8 KiB of the bytes as they came: the cut may fall inside a character (the log's
    // display drops a character cut short).
    assert_eq!(result.response_body.len(), 8 * 1024);
    assert!(
        result
            .response_body
            .starts_with("€".repeat(2730).as_bytes())
    );
}

#[tokio::test]
async fn an_endless_body_is_read_only_up_to_the_cap() {
    const TOTAL: u64 = 100 * 1024 * 1024;
    let (addr, server) = raw_receiver(|mut stream| async move {
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {TOTAL}\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let mut written = 0u64;
        while written < TOTAL {
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
            written += chunk.len() as u64;
        }
        written
    })
    .await;
    let url = format!("http://{addr}/big");

    let result = tokio::time::timeout(
        Duration::from_secs(20),
        sender().send(&request(&url, b"{}")),
    )
    .await
    .expect("the attempt ends well before the whole body could arrive");

    assert_eq!(result.status, Some(200));
    assert_eq!(result.error, None);
    assert_eq!(result.response_body.len(), 8 * 1024);
    let written = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server notices the closed connection")
        .unwrap();
    assert!(
        written < TOTAL,
        "the whole body was drained: {written} bytes"
    );
}

#[tokio::test]
async fn retry_after_of_a_429_is_parsed() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/limited");

    let result = sender().send(&request(&url, b"{}")).await;

    assert_eq!(result.status, Some(429));
    assert!(!result.is_success());
    assert_eq!(result.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(result.response_body, b"slow down");
}

// ---------------------------------------------------------------- redirects

#[tokio::test]
async fn a_302_is_recorded_not_followed() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/to?code=302&location=/target");

    let result = sender().send(&request(&url, b"{}")).await;

    assert_eq!(result.status, Some(302));
    assert!(!result.is_success());
    assert!(!result.permanent);
    assert_eq!(
        result.error.as_deref(),
        Some(
            "redirect not followed: a 302 would turn the POST into a GET without the payload; \
             only 307 and 308 are followed"
        )
    );
    assert!(
        result
            .response_headers
            .iter()
            .any(|(name, value)| name == "location" && value == "/target")
    );
    assert_eq!(result.response_body, b"moved");
    assert_eq!(result.final_url, None);
    let received = receiver.received();
    assert_eq!(received.len(), 1, "the redirect target was requested");
}

#[tokio::test]
async fn a_307_or_308_is_followed_with_the_same_post_and_body() {
    let receiver = Receiver::start().await;
    let body = br#"{"kind":"push","n":1}"#;
    for code in [307, 308] {
        let url = receiver.url(&format!("/to?code={code}&location=/landed"));

        let result = allowlisted_sender()
            .send(&Request {
                token: Some(TOKEN),
                ..request(&url, body)
            })
            .await;

        assert_eq!(result.status, Some(200), "{code}: {:?}", result.error);
        assert_eq!(result.error, None);
        assert_eq!(result.response_body, b"ok");
        assert_eq!(result.url, url);
        assert_eq!(result.final_url, Some(receiver.url("/landed")), "{code}");
    }
    let received = receiver.received();
    let landed: Vec<&Received> = received.iter().filter(|r| r.uri == "/landed").collect();
    assert_eq!(landed.len(), 2);
    for got in landed {
        assert_eq!(got.method, Method::POST);
        assert_eq!(&got.body[..], &body[..]);
        // Same origin: the token goes along.
        assert_eq!(header(&got.headers, "x-wvs-token"), Some(TOKEN));
        assert_eq!(header(&got.headers, "x-wvs-event"), Some("Push Hook"));
    }
}

#[tokio::test]
async fn five_redirects_are_followed_and_a_sixth_is_not() {
    let receiver = Receiver::start().await;

    let five = allowlisted_sender()
        .send(&request(&receiver.url("/hop/5"), b"{}"))
        .await;
    assert_eq!(five.status, Some(200), "{:?}", five.error);
    assert_eq!(five.final_url, Some(receiver.url("/hop/0")));
    let hops: Vec<String> = receiver.received().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        hops,
        ["/hop/5", "/hop/4", "/hop/3", "/hop/2", "/hop/1", "/hop/0"]
    );

    let other = Receiver::start().await;
    let six = allowlisted_sender()
        .send(&request(&other.url("/hop/6"), b"{}"))
        .await;
    assert_eq!(six.status, Some(307));
    assert!(!six.is_success());
    assert_eq!(
        six.error.as_deref(),
        Some("redirect not followed: more than 5 redirects")
    );
    assert_eq!(six.final_url, Some(other.url("/hop/1")));
    let requested = other.received();
    assert_eq!(requested.len(), 6);
    assert!(requested.iter().all(|r| r.uri != "/hop/0"));
}

#[tokio::test]
async fn a_redirect_to_a_refused_address_is_not_followed() {
    let receiver = Receiver::start().await;
    let port = receiver.addr.port();
    // Loopback addresses other than the allowlisted 127.0.0.1, in several notations.
    for target in [
        format!("http://127.0.0.2:{port}/x"),
        format!("http://2130706434:{port}/x"),
        format!("http://0x7f.0.0.2:{port}/x"),
        format!("http://[::ffff:127.0.0.2]:{port}/x"),
        format!("http://[::1]:{port}/x"),
    ] {
        let url = receiver.url(&format!("/to?code=307&location={target}"));

        let result = allowlisted_sender().send(&request(&url, b"{}")).await;

        assert_eq!(result.status, Some(307), "{target}");
        let error = result.error.unwrap();
        assert!(
            error.starts_with("redirect not followed: blocked: ")
                && error.ends_with(" is a loopback address; local requests are not allowed"),
            "{target}: {error}"
        );
        assert_eq!(result.final_url, None);
    }
    assert!(
        receiver.received().iter().all(|r| r.uri.starts_with("/to")),
        "a refused target was requested"
    );
}

#[tokio::test]
async fn a_cross_origin_hop_drops_the_token_and_authorization_but_keeps_the_signature() {
    let first = Receiver::start().await;
    let second = Receiver::start().await;
    let secrets = [SigningSecret::generate()];
    let target = second.url("/elsewhere");
    let url = format!(
        "http://alice:pw@{}/to?code=308&location={target}",
        first.addr
    );
    let request = Request {
        flavor: Flavor::Gitlab,
        token: Some(TOKEN),
        signing_secrets: &secrets,
        ..request(&url, b"{}")
    };

    let result = sender().send(&request).await;

    assert_eq!(result.status, Some(200), "{:?}", result.error);
    assert_eq!(result.final_url, Some(target));
    let asked = first.only();
    assert_eq!(header(&asked.headers, "x-gitlab-token"), Some(TOKEN));
    assert!(asked.headers.contains_key("authorization"));
    let got = second.only();
    assert_eq!(got.method, Method::POST);
    assert!(!got.headers.contains_key("x-gitlab-token"));
    assert!(!got.headers.contains_key("authorization"));
    verify(
        &secrets,
        header(&got.headers, "webhook-id").unwrap(),
        header(&got.headers, "webhook-timestamp").unwrap(),
        header(&got.headers, "webhook-signature").unwrap(),
        &got.body,
        unix_now(),
    )
    .expect("the signature arrives intact");
}

#[tokio::test]
async fn the_final_url_masks_url_variable_values() {
    let receiver = Receiver::start().await;
    let template = "http://127.0.0.1:{port}/v/{secret}";
    let variables = pairs(&[
        ("port", &receiver.addr.port().to_string()),
        ("secret", "s3cr3t-path"),
    ]);
    let request = Request {
        url_variables: &variables,
        ..request(template, b"{}")
    };

    let result = sender().send(&request).await;

    assert_eq!(result.status, Some(200), "{:?}", result.error);
    assert_eq!(receiver.received()[1].uri, "/v/s3cr3t-path?hop=1");
    assert_eq!(
        result.final_url.as_deref(),
        Some("http://127.0.0.1:{port}/v/{secret}?hop=1")
    );
}

#[tokio::test]
async fn a_redirect_back_to_the_hook_url_is_followed_but_names_no_other_url() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/v/back");
    let back = format!("{url}?hop=1");
    let loop_url = receiver.url("/self");

    // To the hook URL with a query: a different URL.
    let result = sender().send(&request(&url, b"{}")).await;
    assert_eq!(result.final_url, Some(back));

    // A redirect to itself, five times over: the URL that answered is the hook URL.
    let result = sender().send(&request(&loop_url, b"{}")).await;
    assert_eq!(result.status, Some(307));
    assert_eq!(
        result.error.as_deref(),
        Some("redirect not followed: more than 5 redirects")
    );
    assert_eq!(result.final_url, None);
}

// ---------------------------------------------------------------- payload cap

#[tokio::test]
async fn a_payload_over_the_cap_is_not_sent_and_is_permanent() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/hook");
    let sender = Sender::new(SenderConfig {
        max_payload: 16,
        ..config(SenderConfig::DEFAULT_TIMEOUT)
    })
    .unwrap();

    let over = sender.send(&request(&url, &[b'x'; 17])).await;
    assert_eq!(over.status, None);
    assert!(over.permanent);
    assert_eq!(
        over.error.as_deref(),
        Some("internal error: payload of 17 bytes exceeds the limit of 16 bytes")
    );
    assert!(over.request_headers.is_empty());
    assert!(receiver.received().is_empty());

    let at_the_cap = sender.send(&request(&url, &[b'x'; 16])).await;
    assert_eq!(at_the_cap.status, Some(200));
    assert!(!at_the_cap.permanent);
    assert_eq!(receiver.only().body.len(), 16);
}

#[test]
fn the_default_cap_is_25_mib() {
    assert_eq!(SenderConfig::default().max_payload, 25 * 1024 * 1024);
}

// ---------------------------------------------------------------- failures

#[tokio::test]
async fn a_refused_connection_has_no_status_and_says_so() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);

    let result = sender()
        .send(&request(&format!("http://{addr}/"), b"{}"))
        .await;

    assert_eq!(result.status, None);
    assert!(!result.is_success());
    assert_eq!(result.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn a_slow_receiver_times_out_within_the_timeout() {
    let receiver = Receiver::start().await;
    let url = receiver.url("/slow");

    let result = sender_with(Duration::from_millis(300))
        .send(&request(&url, b"{}"))
        .await;

    assert_eq!(result.status, None);
    assert_eq!(result.error.as_deref(), Some("timed out after 300ms"));
    assert!(result.duration >= Duration::from_millis(300));
    assert!(
        result.duration < Duration::from_secs(2),
        "{:?}",
        result.duration
    );
}

#[tokio::test]
async fn the_timeout_also_covers_reading_the_body() {
    let (addr, _server) = raw_receiver(|mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab";
        stream.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let url = format!("http://{addr}/");

    let result = sender_with(Duration::from_millis(300))
        .send(&request(&url, b"{}"))
        .await;

    // The receiver answered 2xx, so it has the event; the log still says the body stalled.
    assert_eq!(result.status, Some(200));
    assert!(result.is_success());
    assert_eq!(result.response_body, b"ab");
    assert_eq!(
        result.error.as_deref(),
        Some("timed out after 300ms while reading the response body")
    );
    assert!(
        result.duration < Duration::from_secs(2),
        "{:?}",
        result.duration
    );
}

#[tokio::test]
async fn garbage_is_an_invalid_response() {
    let (addr, _server) = raw_receiver(|mut stream| async move {
        stream.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
    })
    .await;

    let result = sender()
        .send(&request(&format!("http://{addr}/"), b"{}"))
        .await;

    assert_eq!(result.status, None);
    let error = result.error.unwrap();
    assert!(error.starts_with("invalid response: "), "{error}");
}

#[tokio::test]
async fn a_connection_closed_without_an_answer_says_so() {
    let (addr, _server) = raw_receiver(|stream| async move { drop(stream) }).await;

    let result = sender()
        .send(&request(&format!("http://{addr}/"), b"{}"))
        .await;

    assert_eq!(result.status, None);
    assert_eq!(
        result.error.as_deref(),
        Some("connection closed before a complete response")
    );
}

// ---------------------------------------------------------------- TLS

/// An HTTPS receiver with a self-signed certificate (tests/fixtures, made once with
/// openssl, valid until 2126) that answers every connection `204`.
async fn self_signed_receiver() -> SocketAddr {
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::crypto::ring;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let cert = CertificateDer::from(include_bytes!("fixtures/self-signed-cert.der").to_vec());
    let key = PrivatePkcs8KeyDer::from(include_bytes!("fixtures/self-signed-key.der").to_vec());
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], PrivateKeyDer::Pkcs8(key))
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that rejects the certificate ends the handshake: nothing to answer.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                read_head(&mut tls).await;
                let answer = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";
                let _ = tls.write_all(answer).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn tls_is_verified_unless_the_hook_turned_it_off() {
    let addr = self_signed_receiver().await;
    let url = format!("https://{addr}/hook");
    let sender = sender();

    let verified = sender.send(&request(&url, b"{}")).await;
    assert_eq!(verified.status, None);
    assert_eq!(
        verified.error.as_deref(),
        Some("TLS error: invalid peer certificate: UnknownIssuer")
    );

    let unverified = Request {
        verify_tls: false,
        ..request(&url, b"{}")
    };
    let trusted = sender.send(&unverified).await;
    assert_eq!(trusted.status, Some(204), "{:?}", trusted.error);
    assert!(trusted.is_success());
}
