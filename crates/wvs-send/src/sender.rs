//! The long-lived HTTP clients and one delivery attempt: the payload cap, the guard's check
//! of each destination, the exchange, and the redirects it follows.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use reqwest::Client;
use reqwest::redirect::Policy;
use tokio::time::{Instant, timeout_at};
use url::Url;
use wvs_events::signature::unix_now;

use crate::attempt::AttemptResult;
use crate::errors::{self, SendError};
use crate::guard::{self, Guard, HostResolver, SystemResolver};
use crate::policy::OutboundPolicy;
use crate::redirect::{self, Next};
use crate::request::{self, Request};
use crate::response::{self, MAX_LOGGED_BODY};
use crate::target::{self, log_url};

/// Settings shared by every attempt.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// The whole exchange, connect to last body byte, redirects included. Default 10 s.
    pub timeout: Duration,
    /// The version in `User-Agent: WVS/<version>` (or `GitLab/<version>`).
    pub version: String,
    /// The `X-WVS-Instance` / `X-Gitlab-Instance` value: this instance's URL.
    pub instance: String,
    /// Response body bytes read at most; default 64 KiB. Only the first 8 KiB are kept, but
    /// reading a little more lets small bodies finish, so their connection can be reused.
    pub max_response_read: usize,
    /// Request bodies larger than this are not sent; default 26,214,400 bytes (25 MiB).
    /// Receivers commonly refuse larger bodies, and a payload that large is a bug upstream,
    /// not a delivery.
    pub max_payload: usize,
    /// Where deliveries may go (the SSRF guard). The default refuses local addresses to
    /// project and group hooks.
    pub outbound: OutboundPolicy,
}

impl SenderConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_MAX_RESPONSE_READ: usize = 64 * 1024;
    pub const DEFAULT_MAX_PAYLOAD: usize = 25 * 1024 * 1024;
}

impl Default for SenderConfig {
    /// Default timeout and caps, the default (secure) outbound policy, this crate's version,
    /// and no instance URL (set it).
    fn default() -> Self {
        SenderConfig {
            timeout: Self::DEFAULT_TIMEOUT,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            instance: String::new(),
            max_response_read: Self::DEFAULT_MAX_RESPONSE_READ,
            max_payload: Self::DEFAULT_MAX_PAYLOAD,
            outbound: OutboundPolicy::default(),
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
    clients: Clients,
    guard: Guard,
    config: SenderConfig,
}

/// One client per kind of hook and TLS setting, built once. TLS verification belongs to a
/// client and its pool, not to a request; so does the resolver, which carries the policy
/// for one kind of hook. Separate pools also keep a connection that a system hook was
/// allowed to open from being reused by a project hook to the same host.
#[derive(Debug)]
struct Clients {
    verifying: Client,
    trusting: Client,
    system_verifying: Client,
    system_trusting: Client,
}

impl Sender {
    /// Builds the clients once; they live as long as the sender. Fails only if the TLS
    /// backend cannot be set up.
    pub fn new(config: SenderConfig) -> Result<Sender, SendError> {
        Sender::with_resolver(config, Arc::new(SystemResolver))
    }

    /// A sender that resolves host names with `resolver` (tests map names to addresses).
    pub fn with_resolver(
        config: SenderConfig,
        resolver: Arc<dyn HostResolver>,
    ) -> Result<Sender, SendError> {
        let guard = Guard::with_resolver(config.outbound.clone(), resolver);
        let clients = Clients {
            verifying: build_client(true, &guard, false)?,
            trusting: build_client(false, &guard, false)?,
            system_verifying: build_client(true, &guard, true)?,
            system_trusting: build_client(false, &guard, true)?,
        };
        Ok(Sender {
            inner: Arc::new(Inner {
                clients,
                guard,
                config,
            }),
        })
    }

    /// The guard deliveries go through, to check a hook URL when it is saved with the same
    /// policy and resolver ([`Guard::check_url`]).
    pub fn guard(&self) -> &Guard {
        &self.inner.guard
    }

    /// The largest request body an attempt sends, in bytes.
    pub fn max_payload(&self) -> usize {
        self.inner.config.max_payload
    }

    /// Makes one attempt. It never fails: every outcome, including a request that could not
    /// be built or a destination the guard refused, is an [`AttemptResult`] to record.
    pub async fn send(&self, request: &Request<'_>) -> AttemptResult {
        let config = &self.inner.config;
        let started = Instant::now();
        let deadline = started + config.timeout;
        let mut attempt = AttemptResult {
            url: log_url(request.url),
            ..AttemptResult::default()
        };
        if request.body.len() > config.max_payload {
            attempt.error = Some(errors::payload_too_large(
                request.body.len(),
                config.max_payload,
            ));
            attempt.permanent = true;
        } else {
            match request::prepare(request, config, unix_now()) {
                Err(error) => {
                    attempt.error = Some(error.to_string());
                    // Built from the hook's settings alone: the same request fails the same way.
                    attempt.permanent = true;
                }
                Ok(prepared) => {
                    attempt.request_headers = prepared.logged;
                    let start = Hop {
                        url: prepared.url,
                        headers: prepared.headers,
                    };
                    self.deliver(request, start, deadline, &mut attempt).await;
                }
            }
        }
        attempt.duration = started.elapsed();
        tracing::debug!(
            url = %attempt.url,
            final_url = attempt.final_url.as_deref(),
            status = ?attempt.status,
            error = attempt.error.as_deref(),
            permanent = attempt.permanent,
            duration_ms = attempt.duration.as_millis() as u64,
            "delivery attempt"
        );
        attempt
    }

    fn client(&self, verify_tls: bool, system_hook: bool) -> &Client {
        let clients = &self.inner.clients;
        match (verify_tls, system_hook) {
            (true, false) => &clients.verifying,
            (false, false) => &clients.trusting,
            (true, true) => &clients.system_verifying,
            (false, true) => &clients.system_trusting,
        }
    }

    /// Posts to the hook URL and along the 307/308 redirects it answers with, each target
    /// checked by the guard first, until an answer, a refusal or the deadline; the last
    /// response that arrived is the one recorded.
    async fn deliver(
        &self,
        request: &Request<'_>,
        mut hop: Hop,
        deadline: Instant,
        attempt: &mut AttemptResult,
    ) {
        let config = &self.inner.config;
        let client = self.client(request.verify_tls, request.system_hook);
        // A host or port from a URL variable: refusals must not name them.
        let hidden = target::hidden_parts(request.url);
        let body = request.body.clone();
        let first_url = hop.url.clone();
        let mut followed = 0;
        loop {
            // What a failure on a redirect target says first.
            let (refused, failed) = if followed == 0 {
                ("", "")
            } else {
                ("redirect not followed: ", "following the redirect: ")
            };
            if let Err(refusal) = self
                .inner
                .guard
                .check_literal(&hop.url, request.system_hook)
            {
                attempt.error = Some(format!("{refused}{}", refusal.hiding(hidden)));
                return;
            }
            let post = client
                .post(hop.url.clone())
                .headers(hop.headers.clone())
                .body(body.clone());
            // http(s) URLs always have a port; 0 would only make the own-address check stricter.
            let port = hop.url.port_or_known_default().unwrap_or(0);
            let sent = timeout_at(deadline, guard::with_destination_port(port, post.send()));
            let mut response = match sent.await {
                Err(_elapsed) => {
                    attempt.error = Some(errors::timed_out(config.timeout));
                    return;
                }
                Ok(Err(error)) => {
                    attempt.error = Some(match errors::refusal(&error) {
                        Some(refusal) => {
                            format!("{refused}{}", refusal.clone().hiding(hidden))
                        }
                        None => format!("{failed}{}", errors::describe(&error)),
                    });
                    return;
                }
                Ok(Ok(response)) => response,
            };
            let next = redirect::next(response.status(), response.headers(), &hop.url, followed);
            self.capture(&mut response, deadline, attempt).await;
            if hop.url != first_url {
                attempt.final_url = Some(target::mask_variables(
                    &log_url(hop.url.as_str()),
                    request.url,
                    request.url_variables,
                ));
            }
            match next {
                Next::Answer => return,
                Next::NotFollowed(why) => {
                    attempt.error = Some(why);
                    return;
                }
                Next::Follow(target) => {
                    if redirect::is_cross_origin(&hop.url, &target) {
                        redirect::drop_credentials(&mut hop.headers);
                    }
                    hop.url = target;
                    // The redirect's body was only read to free its connection.
                    attempt.error = None;
                    followed += 1;
                }
            }
        }
    }

    /// Records `response` into `attempt`, reading its body before `deadline`.
    async fn capture(
        &self,
        response: &mut reqwest::Response,
        deadline: Instant,
        attempt: &mut AttemptResult,
    ) {
        let config = &self.inner.config;
        let status = response.status();
        attempt.status = Some(status.as_u16());
        attempt.response_headers = response::logged_headers(response.headers());
        attempt.retry_after = response::retry_after(status, response.headers(), SystemTime::now());
        let (body, error) =
            response::read_body(response, config.max_response_read, deadline, config.timeout).await;
        attempt.response_body = body;
        attempt.response_body.truncate(MAX_LOGGED_BODY);
        attempt.error = error;
    }
}

/// One request of an attempt: the URL and the headers it goes with.
struct Hop {
    url: Url,
    headers: HeaderMap,
}

/// One client: rustls; the guarded resolver for one kind of hook; no proxy, because a proxy
/// resolves names itself and would slip past the guard; redirects not followed by the
/// client, because [`Sender::deliver`] checks each target first; keep-alive pooling as
/// reqwest does by default. No client-level timeout: [`Sender::send`] holds one deadline
/// over the whole exchange. HTTP/1 header names go Title-Case, as GitLab's Ruby `Net::HTTP`
/// writes them (`X-Gitlab-Event-Uuid`); hyper would write them in lower case, and exposes
/// no way to keep another case through reqwest.
fn build_client(verify_tls: bool, guard: &Guard, system_hook: bool) -> Result<Client, SendError> {
    Client::builder()
        .use_rustls_tls()
        .http1_title_case_headers()
        .no_proxy()
        .dns_resolver(guard.resolver(system_hook))
        .redirect(Policy::none())
        .danger_accept_invalid_certs(!verify_tls)
        .build()
        .map_err(SendError::Client)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The TLS and guard behaviour is tested end to end in tests/ against real receivers;
    // this pins the choice, which a swapped branch would silently invert.
    #[test]
    fn each_kind_of_hook_and_tls_setting_gets_its_own_client() {
        let sender = Sender::new(SenderConfig::default()).unwrap();
        let clients = &sender.inner.clients;
        assert!(std::ptr::eq(sender.client(true, false), &clients.verifying));
        assert!(std::ptr::eq(sender.client(false, false), &clients.trusting));
        assert!(std::ptr::eq(
            sender.client(true, true),
            &clients.system_verifying
        ));
        assert!(std::ptr::eq(
            sender.client(false, true),
            &clients.system_trusting
        ));
    }
}
