//! Receivers that misbehave on purpose: a scripted HTTP receiver (status, headers, delay or
//! no answer at all, per request) that also counts requests in flight, and raw TCP receivers
//! that break HTTP itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the receiver does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with extra headers (e.g. `Retry-After`).
    WithHeaders(u16, Vec<(&'static str, String)>),
    /// Answers with a status after a delay.
    Late(Duration, u16),
    /// Never answers.
    Hang,
}

/// One request, as it arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub at: Instant,
    pub event_uuid: String,
    pub webhook_uuid: String,
    pub idempotency_key: String,
}

type Script = dyn Fn(usize) -> Reply + Send + Sync;

#[derive(Clone)]
struct Shared {
    script: Arc<Script>,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

pub struct Scripted {
    pub url: String,
    shared: Shared,
}

impl Scripted {
    /// Starts a receiver that answers the `n`-th request (from 0) with `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let shared = Shared {
            script: Arc::new(script),
            arrivals: Arc::default(),
            in_flight: Arc::default(),
            most_in_flight: Arc::default(),
        };
        let app = Router::new().fallback(answer).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Scripted { url, shared }
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.shared.arrivals.lock().unwrap().clone()
    }

    /// The most requests that were in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.shared.most_in_flight.load(Ordering::SeqCst)
    }

    /// Waits until `count` requests arrived (panics after `timeout`).
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Arrival> {
        let deadline = Instant::now() + timeout;
        loop {
            let arrivals = self.arrivals();
            if arrivals.len() >= count {
                return arrivals;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} requests at {}, got {}",
                self.url,
                arrivals.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Decrements the in-flight count however the request ends (answered or dropped).
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn answer(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let now_in_flight = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(shared.in_flight.clone());
    shared
        .most_in_flight
        .fetch_max(now_in_flight, Ordering::SeqCst);
    let n = {
        let mut arrivals = shared.arrivals.lock().unwrap();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        arrivals.push(Arrival {
            at: Instant::now(),
            event_uuid: header("x-wvs-event-uuid"),
            webhook_uuid: header("x-wvs-webhook-uuid"),
            idempotency_key: header("idempotency-key"),
        });
        arrivals.len() - 1
    };
    match (shared.script)(n) {
        Reply::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
        Reply::WithHeaders(status, headers) => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        Reply::Late(delay, status) => {
            tokio::time::sleep(delay).await;
            StatusCode::from_u16(status).unwrap().into_response()
        }
        Reply::Hang => std::future::pending().await,
    }
}

/// A raw TCP receiver: each connection's request head is read, then `respond` does what it
/// likes with the stream. Returns the hook URL.
pub async fn raw<F, Fut>(respond: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                read_request(&mut stream).await;
                respond(stream).await;
            });
        }
    });
    url
}

/// A raw TCP receiver that keeps each request's head as its bytes came (header names in the
/// case they were written) and answers `200`, closing the connection. Returns the hook URL
/// and the heads.
pub async fn recording_heads() -> (String, Arc<Mutex<Vec<String>>>) {
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = heads.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let head = read_request(&mut stream).await;
                kept.lock().unwrap().push(head);
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (url, heads)
}

/// Reads until the end of the request head and the body it announces (roughly: enough for
/// the sender to be waiting for the answer). Returns the head as it came.
async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(head_end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..head_end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then_some(value)
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if seen.len() >= head_end + 4 + length {
                return head;
            }
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Answers 200 with a body of `size` bytes, written in chunks.
pub async fn huge_body(mut stream: tokio::net::TcpStream, size: usize) {
    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let chunk = vec![b'x'; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        if stream.write_all(&chunk[..n]).await.is_err() {
            return;
        }
        left -= n;
    }
}
