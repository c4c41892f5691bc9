//! `wvs trigger`: sends one sample event (or a payload file) to a URL exactly as WVS delivers
//! it (the same body bytes, headers, token and signature), so that a receiver can be built
//! and tested without a running server. It prints what it sent, with secrets redacted, and
//! what came back, and fails unless the receiver answered 2xx.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use http::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, Url, redirect};
use uuid::Uuid;
use wvs_events::signature::unix_now;
use wvs_events::{DeliveryHeaders, Event, Flavor, Sample, SigningSecret, samples};

use crate::secrets;

/// `--list` and `--generate-secret` stand alone; they ignore a token taken from the
/// environment, which is why they conflict with the other flags instead of being `exclusive`.
const STANDALONE: [&str; 3] = ["sample", "url", "file"];

#[derive(clap::Args)]
pub struct Args {
    /// The sample to send (see --list). With --file: the sample whose kind the file must have
    /// and whose hook scope decides the event header.
    #[arg(
        value_name = "KIND",
        value_parser = parse_sample,
        required_unless_present_any = ["list", "generate_secret"],
    )]
    sample: Option<&'static Sample>,
    /// Where to send it (http:// or https://).
    #[arg(long, required_unless_present_any = ["list", "generate_secret", "print"])]
    url: Option<String>,
    /// Write the body that would be sent (the sample, or --file's bytes) to stdout and send
    /// nothing.
    #[arg(long, conflicts_with_all = ["url", "list", "generate_secret"])]
    print: bool,
    /// The hook's secret token, sent in X-WVS-Token or X-Gitlab-Token.
    #[arg(long, env = "WVS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Sign with this Standard Webhooks secret; repeat it (or separate secrets with commas) to
    /// send one signature per secret, as WVS does during a key rotation.
    #[arg(
        long,
        value_name = "whsec_...",
        env = "WVS_SIGNING_TOKEN",
        hide_env_values = true,
        value_delimiter = ','
    )]
    signing_token: Vec<String>,
    /// The header family: X-WVS-* or X-Gitlab-*.
    #[arg(long, value_name = "wvs|gitlab", default_value_t = Flavor::Wvs)]
    flavor: Flavor,
    /// Send this file's bytes, unchanged, instead of the sample's.
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The sending instance's URL, for X-WVS-Instance or X-Gitlab-Instance.
    #[arg(long, value_name = "URL", default_value = "http://localhost")]
    instance: String,
    /// Give up when the receiver has not answered within this many seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    timeout: u64,
    /// List every sample: its name, event header and hook scope.
    #[arg(long, conflicts_with_all = STANDALONE)]
    list: bool,
    /// Print a new random signing secret (whsec_...) and exit.
    #[arg(long, conflicts_with_all = STANDALONE, conflicts_with = "list")]
    generate_secret: bool,
}

pub async fn run(args: Args) -> Result<()> {
    if args.list {
        return list(&mut io::stdout().lock()).context("writing to stdout");
    }
    if args.generate_secret {
        let secret = SigningSecret::generate().expose();
        return writeln!(io::stdout().lock(), "{secret}").context("writing to stdout");
    }
    if args.print {
        return print_payload(&args);
    }
    deliver(args).await
}

/// Writes the payload `deliver` would send, byte for byte.
fn print_payload(args: &Args) -> Result<()> {
    // clap requires KIND unless --list or --generate-secret, which --print excludes.
    let Some(sample) = args.sample else {
        bail!("KIND is required");
    };
    let payload = Payload::read(sample, args.file.as_deref())?;
    io::stdout()
        .lock()
        .write_all(&payload.body)
        .context("writing to stdout")
}

/// Sends the payload once and reports the answer.
async fn deliver(args: Args) -> Result<()> {
    // clap requires both unless --list or --generate-secret was given.
    let (Some(sample), Some(url)) = (args.sample, args.url.as_deref()) else {
        bail!("KIND and --url are required");
    };
    let url = parse_url(url)?;
    let secrets = secrets::parse_signing_tokens(&args.signing_token)?;
    let payload = Payload::read(sample, args.file.as_deref())?;
    let event_uuid = Uuid::new_v4().to_string();
    let webhook_uuid = Uuid::new_v4().to_string();
    let idempotency_key = Uuid::now_v7().to_string();
    let headers = DeliveryHeaders {
        flavor: args.flavor,
        event_header: payload.event_header,
        token: args.token.as_deref(),
        event_uuid: &event_uuid,
        webhook_uuid: &webhook_uuid,
        instance: &args.instance,
        idempotency_key: &idempotency_key,
        signing_secrets: &secrets,
        timestamp: unix_now(),
        version: env!("CARGO_PKG_VERSION"),
    }
    .build(&payload.body);

    print_request(&mut io::stdout().lock(), &url, &headers, &payload)
        .context("writing to stdout")?;
    let timeout = Duration::from_secs(args.timeout);
    let response = send(&url, &headers, payload.body, timeout).await?;
    let status = response.status();
    print_response(response, &url, timeout).await?;
    if !status.is_success() {
        bail!("{} answered {status}", secrets::shown_url(&url));
    }
    Ok(())
}

/// The body to send, the event header it goes with, and where it came from.
struct Payload {
    body: Vec<u8>,
    event_header: &'static str,
    source: String,
}

impl Payload {
    /// The sample's bytes, or the file's bytes as they are. Either is parsed so that the
    /// header is the one WVS would send for this very payload (a confidential issue gets
    /// `Confidential Issue Hook`), and so that a file of the wrong kind is refused here rather
    /// than by the receiver.
    fn read(sample: &Sample, file: Option<&Path>) -> Result<Payload> {
        let (body, source) = match file {
            Some(path) => (
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
                path.display().to_string(),
            ),
            None => (
                sample.json.as_bytes().to_vec(),
                format!("sample `{}`", sample.name),
            ),
        };
        let event = Event::from_slice(&body)
            .with_context(|| format!("{source} is not a webhook payload"))?;
        if event.kind() != sample.kind {
            bail!(
                "{source} is of kind `{}`, but `{}` sends `{}` events: try `wvs trigger {} --file ...`",
                event.kind(),
                sample.name,
                sample.kind,
                samples::for_kind(event.kind(), sample.scope).name,
            );
        }
        Ok(Payload {
            event_header: event.header_for(sample.scope),
            body,
            source,
        })
    }
}

/// Unknown names are answered with the list of valid ones.
fn parse_sample(name: &str) -> Result<&'static Sample, String> {
    samples::find(name).ok_or_else(|| {
        let names: Vec<&str> = samples::all().iter().map(|sample| sample.name).collect();
        format!("unknown kind; valid kinds: {}", names.join(", "))
    })
}

/// Parse errors of `url` never quote the input, which may hold credentials.
fn parse_url(text: &str) -> Result<Url> {
    let url = Url::parse(text).context("--url is not a valid URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--url must be an http:// or https:// URL");
    }
    Ok(url)
}

async fn send(
    url: &Url,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Response> {
    let client = reqwest::Client::builder()
        // A proxy would resolve and reach the host itself; WVS connects directly.
        .no_proxy()
        .timeout(timeout)
        // WVS does not follow redirects, so the receiver's 3xx is shown, not obeyed.
        .redirect(redirect::Policy::none())
        .build()
        .context("building the HTTP client")?;
    client
        .post(url.clone())
        .headers(header_map(headers)?)
        .body(body)
        .send()
        .await
        .map_err(|err| http_error(err, url, timeout))
}

/// Converts the delivery headers, naming the header but never quoting a bad value (it may
/// be the token). Secret values are marked sensitive so HTTP/2 never indexes them.
fn header_map(headers: &[(&'static str, String)]) -> Result<HeaderMap> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .with_context(|| format!("`{name}` is not a valid header name"))?;
        let mut value = HeaderValue::from_str(value)
            .with_context(|| format!("the {name} value is not a valid header value"))?;
        value.set_sensitive(secrets::is_secret_header(name));
        map.append(header, value);
    }
    Ok(map)
}

/// reqwest's own message quotes the URL, which may hold credentials: it is replaced by the
/// shown URL, and a timeout says how long was waited.
fn http_error(err: reqwest::Error, url: &Url, timeout: Duration) -> anyhow::Error {
    let url = secrets::shown_url(url);
    if err.is_timeout() {
        anyhow!("{url} did not answer within {} s", timeout.as_secs())
    } else {
        anyhow::Error::new(err.without_url()).context(format!("sending to {url}"))
    }
}

fn print_request(
    out: &mut impl Write,
    url: &Url,
    headers: &[(&'static str, String)],
    payload: &Payload,
) -> io::Result<()> {
    writeln!(out, "> POST {}", secrets::shown_url(url))?;
    for (name, value) in headers {
        writeln!(out, "> {name}: {}", secrets::shown(name, value))?;
    }
    writeln!(out, ">")?;
    writeln!(out, "> [{} bytes: {}]", payload.body.len(), payload.source)?;
    out.flush()
}

/// Reads the whole answer before printing, so that a body that never ends fails with the
/// timeout instead of leaving a half-printed answer.
async fn print_response(response: Response, url: &Url, timeout: Duration) -> Result<()> {
    let status_line = format!("{:?} {}", response.version(), response.status());
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|err| http_error(err, url, timeout))?;
    write_response(&mut io::stdout().lock(), &status_line, &headers, &body)
        .context("writing to stdout")
}

fn write_response(
    out: &mut impl Write,
    status_line: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> io::Result<()> {
    writeln!(out, "< {status_line}")?;
    for (name, value) in headers {
        writeln!(
            out,
            "< {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        )?;
    }
    writeln!(out, "<")?;
    if !body.is_empty() {
        writeln!(out, "{}", String::from_utf8_lossy(body).trim_end())?;
    }
    out.flush()
}

/// One aligned line per sample: name, event header, scope.
fn list(out: &mut impl Write) -> io::Result<()> {
    let rows: Vec<(&str, &str, &str)> = samples::all()
        .iter()
        .map(|sample| (sample.name, sample.header(), sample.scope.as_str()))
        .collect();
    let name_width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
    let header_width = rows.iter().map(|row| row.1.len()).max().unwrap_or(0);
    for (name, header, scope) in rows {
        writeln!(out, "{name:<name_width$}  {header:<header_width$}  {scope}")?;
    }
    out.flush()
}
