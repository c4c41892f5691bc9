//! The HTTP server's connections: an accept loop over hyper's HTTP/1.1 connections that
//! stands up to slow and hostile clients.
//!
//! - At most `max_connections` connections are served at once (a permit per connection);
//!   past it a connection is answered `503` with `Connection: close` and closed.
//! - A client must send a request's headers within `header_read_timeout` (hyper closes the
//!   connection otherwise), and its body within `body_read_timeout` of them (`408`, closed).
//! - A response sent before the request's body was read to its end says `Connection: close`:
//!   the unread rest of the body cannot be told from the next request, so the connection is
//!   closed, and the header tells a keep-alive client so instead of dropping it silently.
//!
//! A stop (the cancellation token) stops accepting, lets the requests in progress finish and
//! closes every connection.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, HeaderValue};
use axum::http::{StatusCode, Version};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;

use crate::api::error::ApiError;

pub mod limits;

pub use limits::HttpLimits;

/// How long a refused connection is drained before it is closed (see [`refuse`]).
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` is cancelled and every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &HttpLimits,
    shutdown: CancellationToken,
) {
    // Cloning a `Router` shares its route table (an `Arc`): every connection serves the same
    // one, nothing is rebuilt per connection.
    let app = app.layer(from_fn_with_state(limits.body_read_timeout, guard_body));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let connection = graceful.watch(
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone())),
        );
        tokio::spawn(async move {
            // An error here is the client's doing (gone, too slow, malformed): nothing to do.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// As hyper and axum do: a connection that failed before it was accepted is the client's
/// business; anything else (out of file descriptors) is logged and waited out a moment.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Answers a connection over the limit with `503` and closes it.
async fn refuse(mut stream: TcpStream) {
    let body = serde_json::json!({
        "message": "503 Service Unavailable: the server's connection limit is reached; retry later"
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(answer.as_bytes()).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    // Closing a socket with unread bytes makes the OS reset the connection, which can destroy
    // the answer before the client reads it: read and drop what the client sends, briefly.
    let mut discard = [0; 4096];
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        while matches!(stream.read(&mut discard).await, Ok(read) if read > 0) {}
    })
    .await;
}

/// How far a request's body got.
const READING: u8 = 0;
const ENDED: u8 = 1;
const TIMED_OUT: u8 = 2;

/// Times the request's body out (`408`) and says `Connection: close` when the response
/// goes out before the body was read to its end.
async fn guard_body(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let http1 = request.version() <= Version::HTTP_11;
    // A request without a body (most GETs) needs no watching.
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let progress = Arc::new(AtomicU8::new(READING));
    let deadline = Instant::now() + timeout;
    let request = request.map(|body| {
        Body::new(GuardedBody {
            inner: body,
            deadline,
            sleep: None,
            progress: progress.clone(),
        })
    });
    let mut response = next.run(request).await;
    match progress.load(Ordering::Acquire) {
        ENDED => response,
        TIMED_OUT => {
            let message = format!(
                "408 Request Timeout: the request body did not arrive within {}",
                humantime::format_duration(timeout)
            );
            let mut response = ApiError::new(StatusCode::REQUEST_TIMEOUT, message).into_response();
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
        _ => {
            // HTTP/2 has no `Connection` header (nor a connection to give up per request).
            if http1 {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    }
}

/// The body has not fully arrived by the deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

/// A request body that records whether it was read to its end, and fails once its deadline
/// has passed while it waits for more.
struct GuardedBody {
    inner: Body,
    deadline: Instant,
    /// Made only when the body has to wait: a body already received needs no timer.
    sleep: Option<Pin<Box<Sleep>>>,
    progress: Arc<AtomicU8>,
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if frame.is_none() || this.inner.is_end_stream() {
                    this.progress.store(ENDED, Ordering::Release);
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                ready!(sleep.as_mut().poll(cx));
                this.progress.store(TIMED_OUT, Ordering::Release);
                Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
