//! The long-lived HTTP clients and one delivery attempt.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Client;
use reqwest::redirect::Policy;
use tokio::time::{Instant, timeout_at};
use wvs_events::signature::unix_now;

use crate::attempt::AttemptResult;
use crate::errors::{self, SendError};
use crate::request::{self, Request};
use crate::response::{self, MAX_LOGGED_BODY};
use crate::target::log_url;

/// Settings shared by every attempt.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// The whole exchange, connect to last body byte. Default 10 s.
    pub timeout: Duration,
    /// The version in `User-Agent: WVS/<version>` (or `GitLab/<version>`).
    pub version: String,
    /// The `X-WVS-Instance` / `X-Gitlab-Instance` value: this instance's URL.
    pub instance: String,
    /// Response body bytes read at most; default 64 KiB. Only the first 8 KiB are kept, but
    /// reading a little more lets small bodies finish, so their connection can be reused.
    pub max_response_read: usize,
}

impl SenderConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_MAX_RESPONSE_READ: usize = 64 * 1024;
}

impl Default for SenderConfig {
    /// Default timeout and read cap, this crate's version, and no instance URL (set it).
    fn default() -> Self {
        SenderConfig {
            timeout: Self::DEFAULT_TIMEOUT,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            instance: String::new(),
            max_response_read: Self::DEFAULT_MAX_RESPONSE_READ,
        }
    }
}

/// Sends deliveries. Cheap to clone: clones share the clients and their connection pools.
#[derive(Debug, Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// For hooks that keep TLS verification on (the default).
    verifying: Client,
    /// For hooks that turned it off. Verification belongs to a client and its pool, not to
    /// a request, so both are built once and kept side by side.
    trusting: Client,
    config: SenderConfig,
}

impl Sender {
    /// Builds both clients once; they live as long as the sender. Fails only if the TLS
    /// backend cannot be set up.
    pub fn new(config: SenderConfig) -> Result<Sender, SendError> {
        Ok(Sender {
            inner: Arc::new(Inner {
                verifying: build_client(true)?,
                trusting: build_client(false)?,
                config,
            }),
        })
    }

    /// Makes one attempt. It never fails: every outcome, including a request that could not
    /// be built, is an [`AttemptResult`] to record.
    pub async fn send(&self, request: &Request<'_>) -> AttemptResult {
        let config = &self.inner.config;
        let started = Instant::now();
        let deadline = started + config.timeout;
        let mut attempt = AttemptResult {
            url: log_url(request.url),
            ..AttemptResult::default()
        };
        match request::prepare(request, config, unix_now()) {
            Err(error) => attempt.error = Some(error.to_string()),
            Ok(prepared) => {
                attempt.request_headers = prepared.logged;
                let client = self.client(request.verify_tls);
                let post = client
                    .post(prepared.url)
                    .headers(prepared.headers)
                    .body(request.body.to_vec());
                self.exchange(post, deadline, &mut attempt).await;
            }
        }
        attempt.duration = started.elapsed();
        tracing::debug!(
            url = %attempt.url,
            status = ?attempt.status,
            error = attempt.error.as_deref(),
            duration_ms = attempt.duration.as_millis() as u64,
            "delivery attempt"
        );
        attempt
    }

    fn client(&self, verify_tls: bool) -> &Client {
        if verify_tls {
            &self.inner.verifying
        } else {
            &self.inner.trusting
        }
    }

    /// Sends `post` and captures the response into `attempt`, all before `deadline`.
    async fn exchange(
        &self,
        post: reqwest::RequestBuilder,
        deadline: Instant,
        attempt: &mut AttemptResult,
    ) {
        let config = &self.inner.config;
        let mut response = match timeout_at(deadline, post.send()).await {
            Err(_elapsed) => {
                attempt.error = Some(errors::timed_out(config.timeout));
                return;
            }
            Ok(Err(error)) => {
                attempt.error = Some(errors::describe(&error));
                return;
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        attempt.status = Some(status.as_u16());
        attempt.response_headers = response::logged_headers(response.headers());
        attempt.retry_after = response::retry_after(status, response.headers(), SystemTime::now());
        let (body, error) = response::read_body(
            &mut response,
            config.max_response_read,
            deadline,
            config.timeout,
        )
        .await;
        attempt.response_body = response::lossy_prefix(&body, MAX_LOGGED_BODY);
        attempt.error = error;
    }
}

/// One client: rustls; no proxy, because a proxy resolves names itself and would slip past
/// the address checks the SSRF guard makes; redirects not followed, because each target
/// must be checked like the hook URL first; keep-alive pooling as reqwest does by default.
/// No client-level timeout: [`Sender::send`] holds one deadline over the whole exchange.
fn build_client(verify_tls: bool) -> Result<Client, SendError> {
    Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .redirect(Policy::none())
        .danger_accept_invalid_certs(!verify_tls)
        .build()
        .map_err(SendError::Client)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The TLS behaviour itself is tested end to end in tests/send.rs against a self-signed
    // receiver; this pins the choice, which a swapped branch would silently invert.
    #[test]
    fn only_hooks_that_turned_verification_off_get_the_trusting_client() {
        let sender = Sender::new(SenderConfig::default()).unwrap();
        assert!(std::ptr::eq(sender.client(true), &sender.inner.verifying));
        assert!(std::ptr::eq(sender.client(false), &sender.inner.trusting));
    }
}
