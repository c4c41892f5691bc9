//! The bench's receiver: an in-process axum server on loopback that notes the arrival time
//! of every delivery (by its `X-WVS-Event-UUID` or `X-Gitlab-Event-UUID` and the hook's path)
//! and answers 200, at once or after `--receiver-delay`. It does no other work, so that what
//! is measured is WVS, not the receiver.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// One delivery as it arrived: which event, to which hook (its index), when.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// `None` when the request carried no event UUID header (counted, never matched).
    pub event: Option<Uuid>,
    pub hook: u32,
    pub at: Instant,
}

#[derive(Clone)]
struct Shared {
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    count: Arc<AtomicU64>,
    delay: Duration,
}

/// A running receiver; hook `i` is `{url}/h/{i}`.
pub struct Receiver {
    pub address: SocketAddr,
    shared: Shared,
    stop: CancellationToken,
}

impl Receiver {
    pub async fn start(delay: Duration, capacity: usize) -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the bench receiver on 127.0.0.1")?;
        let address = listener.local_addr()?;
        let shared = Shared {
            arrivals: Arc::new(Mutex::new(Vec::with_capacity(capacity))),
            count: Arc::default(),
            delay,
        };
        let app = Router::new()
            .route("/h/{hook}", post(receive))
            // Padded payloads may be large; the receiver takes whatever WVS sends.
            .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
            .with_state(shared.clone());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        Ok(Receiver {
            address,
            shared,
            stop,
        })
    }

    pub fn hook_url(&self, hook: usize) -> String {
        format!("http://{}/h/{hook}", self.address)
    }

    /// Deliveries received so far.
    pub fn count(&self) -> u64 {
        self.shared.count.load(Ordering::Relaxed)
    }

    /// The count of deliveries received, shared (for the progress bar).
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.shared.count.clone()
    }

    /// Every arrival so far.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.shared
            .arrivals
            .lock()
            .expect("the arrivals lock is never poisoned")
            .clone()
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

async fn receive(
    State(shared): State<Shared>,
    Path(hook): Path<u32>,
    headers: HeaderMap,
    // Read the whole body, as a real receiver would, before answering.
    _body: axum::body::Bytes,
) -> StatusCode {
    let at = Instant::now();
    let event = ["x-wvs-event-uuid", "x-gitlab-event-uuid"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| value.to_str().ok())
        .and_then(|text| Uuid::parse_str(text).ok());
    shared
        .arrivals
        .lock()
        .expect("the arrivals lock is never poisoned")
        .push(Arrival { event, hook, at });
    shared.count.fetch_add(1, Ordering::Relaxed);
    if !shared.delay.is_zero() {
        tokio::time::sleep(shared.delay).await;
    }
    StatusCode::OK
}
