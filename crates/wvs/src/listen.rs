//! `wvs listen`: the documentation's example receiver done properly. Every POST, to any
//! path, is read as a webhook with [`Event::from_http`]; the listener answers at once (200,
//! 401 for a token or signature that does not check out, 400 for anything malformed), and
//! reports each request on stdout and, with `--jsonl`, as one JSON line.

pub mod record;
pub mod verdict;

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use wvs_events::{Event, Expect};

use crate::secrets;
use record::{JsonLines, Record};
use verdict::{Checks, Verdict};

/// axum refuses bodies over 2 MB by default, which a push with many large commits can exceed;
/// a receiver under test should see every genuine delivery, so it takes up to 26,214,400
/// bytes (25 MiB), what WVS sends at most.
const BODY_LIMIT: usize = 25 * 1024 * 1024;

#[derive(clap::Args)]
pub struct Args {
    /// The port to listen on (0 picks a free one, printed on the first line).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Require this secret token in X-WVS-Token or X-Gitlab-Token.
    #[arg(long, env = "WVS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Require a valid Standard Webhooks signature by this secret; repeat it (or separate
    /// secrets with commas) to accept any of several, as during a key rotation.
    #[arg(
        long,
        value_name = "whsec_...",
        env = "WVS_SIGNING_TOKEN",
        hide_env_values = true,
        value_delimiter = ','
    )]
    signing_token: Vec<String>,
    /// Also append each request to this file as one JSON line.
    #[arg(long, value_name = "FILE")]
    jsonl: Option<PathBuf>,
}

/// What every request shares: the checks to make and where to log.
struct Receiver {
    expect: Expect,
    checks: Checks,
    jsonl: Option<JsonLines>,
}

pub async fn run(args: Args) -> Result<()> {
    let receiver = Receiver::new(args.token, &args.signing_token, args.jsonl.as_deref())?;
    let address = SocketAddr::new(args.bind, args.port);
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    let address = listener.local_addr().context("reading the bound address")?;
    announce(address).context("writing to stdout")?;

    let app = Router::new()
        .fallback(receive)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Arc::new(receiver));
    axum::serve(listener, app)
        .with_graceful_shutdown(ctrl_c())
        .await
        .context("serving")
}

/// The first line of stdout, flushed at once: scripts and tests read the port from it.
fn announce(address: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on http://{address}")?;
    out.flush()
}

/// Resolves on Ctrl-C. If the handler cannot be installed the listener runs until killed,
/// rather than stopping at once.
async fn ctrl_c() {
    if let Err(err) = tokio::signal::ctrl_c().await {
        tracing::warn!("cannot handle Ctrl-C: {err}");
        std::future::pending::<()>().await;
    }
}

/// Every request lands here, whatever its method and path. It is reported before it is
/// answered, so that whoever sees the answer also finds the report.
async fn receive(
    State(receiver): State<Arc<Receiver>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let verdict = match (&method, &body) {
        (&Method::POST, Ok(body)) => Verdict::new(
            Event::from_http(&headers, body, &receiver.expect),
            receiver.checks,
        ),
        (&Method::POST, Err(rejection)) => {
            Verdict::refused(rejection.status(), rejection.body_text())
        }
        _ => Verdict::not_post(),
    };
    let body = body.unwrap_or_default();
    receiver.report(&Record::new(&method, &uri, &headers, &body, &verdict));
    verdict.into_response()
}

impl Receiver {
    fn new(token: Option<String>, signing_tokens: &[String], jsonl: Option<&Path>) -> Result<Self> {
        let secrets = secrets::parse_signing_tokens(signing_tokens)?;
        let checks = Checks {
            token: token.is_some(),
            signature: !secrets.is_empty(),
        };
        let mut expect = Expect::nothing();
        if let Some(token) = token {
            expect = expect.token(token);
        }
        for secret in secrets {
            expect = expect.signing_secret(secret);
        }
        Ok(Receiver {
            expect,
            checks,
            jsonl: jsonl.map(JsonLines::open).transpose()?,
        })
    }

    /// A report that cannot be written is a warning on stderr: the sender is still answered.
    fn report(&self, record: &Record) {
        let mut out = io::stdout().lock();
        if let Err(err) = out
            .write_all(record.to_text().as_bytes())
            .and_then(|()| out.flush())
        {
            tracing::warn!("cannot print the request: {err}");
        }
        if let Some(jsonl) = &self.jsonl
            && let Err(err) = jsonl.append(record)
        {
            tracing::warn!("cannot append to {}: {err}", jsonl.path().display());
        }
    }
}
