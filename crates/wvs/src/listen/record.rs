//! One request as `wvs listen` reports it: a block of text on stdout and one line of the
//! `--jsonl` file, both rendered from the same [`Record`] so that they never disagree.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, Result};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use chrono::{SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use wvs_events::headers::IDEMPOTENCY_KEY;
use wvs_events::{EventKind, Flavor};

use super::verdict::Verdict;
use crate::secrets;

/// The fields are those of a JSON line, in this order.
#[derive(Debug, Serialize)]
pub struct Record {
    /// RFC 3339, UTC, milliseconds.
    received_at: String,
    method: String,
    path: String,
    /// The status the listener answered.
    #[serde(serialize_with = "status_code")]
    status: StatusCode,
    flavor: Option<&'static str>,
    event_header: Option<String>,
    kind: Option<&'static str>,
    event_uuid: Option<String>,
    webhook_uuid: Option<String>,
    idempotency_key: Option<String>,
    token: Cow<'static, str>,
    signature: Cow<'static, str>,
    error: Option<String>,
    /// Every header, secret values redacted.
    headers: Map<String, Value>,
    /// The body as JSON, or as a string when it is not JSON.
    body: Value,
}

impl Record {
    pub fn new(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        verdict: &Verdict,
    ) -> Record {
        // The flavor and delivery ids are read as `Event::from_http` reads them, but here also
        // for a refused delivery, whose ids are what its sender will look for in the report.
        let flavor = Flavor::ALL
            .into_iter()
            .find(|flavor| text(headers, flavor.event()).is_some());
        let flavored = |name: fn(Flavor) -> &'static str| {
            flavor.and_then(|flavor| text(headers, name(flavor)))
        };
        Record {
            received_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            method: method.to_string(),
            path: uri.path().to_owned(),
            status: verdict.status,
            flavor: flavor.map(Flavor::as_str),
            event_header: flavored(Flavor::event),
            kind: verdict.kind.map(EventKind::name),
            event_uuid: flavored(Flavor::event_uuid),
            webhook_uuid: flavored(Flavor::webhook_uuid),
            idempotency_key: text(headers, IDEMPOTENCY_KEY),
            token: verdict.token.clone(),
            signature: verdict.signature.clone(),
            error: verdict.error.clone(),
            headers: shown_headers(headers),
            body: serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
        }
    }

    /// The stdout report: a summary line, the delivery's fields, then the body pretty-printed.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} {} {} -> {}\n",
            self.received_at, self.method, self.path, self.status
        );
        let fields = [
            ("event header", self.event_header.as_deref()),
            ("kind", self.kind),
            ("flavor", self.flavor),
            ("event uuid", self.event_uuid.as_deref()),
            ("webhook uuid", self.webhook_uuid.as_deref()),
            ("idempotency", self.idempotency_key.as_deref()),
            ("token", Some(&*self.token)),
            ("signature", Some(&*self.signature)),
            ("error", self.error.as_deref()),
        ];
        for (label, value) in fields {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "  {label:<13} {}", value.unwrap_or("-"));
        }
        match &self.body {
            Value::String(raw) if raw.is_empty() => {}
            Value::String(raw) => {
                let _ = writeln!(text, "{raw}");
            }
            json => {
                let _ = writeln!(text, "{json:#}");
            }
        }
        // A blank line between requests.
        text.push('\n');
        text
    }
}

fn status_code<S: Serializer>(status: &StatusCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u16(status.as_u16())
}

fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// Repeated headers are joined with `, `, as HTTP allows.
fn shown_headers(headers: &HeaderMap) -> Map<String, Value> {
    headers
        .keys()
        .map(|name| {
            let values: Vec<_> = headers
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()))
                .collect();
            let value = secrets::shown(name.as_str(), &values.join(", ")).to_owned();
            (name.as_str().to_owned(), Value::String(value))
        })
        .collect()
}

/// The `--jsonl` file, opened for appending so that several runs add up.
#[derive(Debug)]
pub struct JsonLines {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonLines {
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(JsonLines {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Each line goes out in one write to the unbuffered file, under the lock: lines of
    /// concurrent requests never interleave, and a line is in the file before its request
    /// is answered.
    pub fn append(&self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        // The lock guards only the file handle, which stays usable even if a holder panicked.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&line)
    }
}
