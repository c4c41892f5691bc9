//! The receiving side: [`Event::from_http`] reads a delivery of either flavor, checks its
//! secret token in constant time and its Standard Webhooks signature, and parses the body.

use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::headers::{Flavor, IDEMPOTENCY_KEY, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
use crate::signature::{self, SignatureError, SigningSecret};
use crate::{Event, ParseError};

/// What a receiver expects of a delivery: a secret token, signing secrets, or neither.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    token: Option<String>,
    signing_secrets: Vec<SigningSecret>,
    now: Option<i64>,
}

impl Expect {
    /// Expect nothing: no token or signature is checked.
    pub fn nothing() -> Self {
        Expect::default()
    }

    /// Require this secret token in `X-WVS-Token` / `X-Gitlab-Token`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Require a valid signature by this secret (call again to accept several, as during a
    /// key rotation).
    pub fn signing_secret(mut self, secret: SigningSecret) -> Self {
        self.signing_secrets.push(secret);
        self
    }

    /// Check timestamps against this Unix time instead of the system clock (for tests).
    pub fn at(mut self, now: i64) -> Self {
        self.now = Some(now);
        self
    }
}

/// The outcome of one check that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The receiver did not ask for it.
    NotChecked,
    /// It was asked for and it holds.
    Valid,
}

/// A delivery that was read and whose checks passed.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub event: Event,
    /// Which header family the sender used.
    pub flavor: Flavor,
    /// The event header value as sent (`Push Hook`, `System Hook`, ...).
    pub header: String,
    pub event_uuid: Option<String>,
    pub webhook_uuid: Option<String>,
    pub idempotency_key: Option<String>,
    pub instance: Option<String>,
    pub token: Check,
    pub signature: Check,
}

/// Why a delivery was refused. Messages never contain a token or secret.
#[derive(Debug, Error)]
pub enum ReceiveError {
    #[error("no X-WVS-Event or X-Gitlab-Event header")]
    MissingEventHeader,
    #[error("the event header is `{header}` but the body is a `{kind}` event")]
    HeaderMismatch { header: String, kind: &'static str },
    #[error("the secret token is missing")]
    MissingToken,
    #[error("the secret token does not match")]
    WrongToken,
    #[error("the delivery is not signed (no webhook-id, webhook-timestamp or webhook-signature)")]
    MissingSignature,
    #[error("bad signature: {0}")]
    BadSignature(#[from] SignatureError),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl ReceiveError {
    /// True when the delivery failed authentication (token or signature), as opposed to being
    /// malformed: a receiver answers 401 for these and 400 for the others.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            ReceiveError::MissingToken
                | ReceiveError::WrongToken
                | ReceiveError::MissingSignature
                | ReceiveError::BadSignature(_)
        )
    }
}

impl Event {
    /// Reads a webhook delivery: the flavor from its headers (`X-WVS-*` or `X-Gitlab-*`),
    /// the secret token (compared in constant time), the Standard Webhooks signature (5
    /// minute tolerance, several signatures allowed), then the body as an event whose kind
    /// must fit the event header.
    pub fn from_http(
        headers: &HeaderMap,
        body: &[u8],
        expect: &Expect,
    ) -> Result<Incoming, ReceiveError> {
        let (flavor, header) = Flavor::ALL
            .into_iter()
            .find_map(|flavor| text(headers, flavor.event()).map(|h| (flavor, h)))
            .ok_or(ReceiveError::MissingEventHeader)?;
        let token = check_token(headers, flavor, expect)?;
        let signature = check_signature(headers, body, expect)?;
        let event = Event::from_slice(body)?;
        if !event.kind().accepts_header(&header) {
            return Err(ReceiveError::HeaderMismatch {
                header,
                kind: event.kind().name(),
            });
        }
        Ok(Incoming {
            event,
            flavor,
            header,
            event_uuid: text(headers, flavor.event_uuid()),
            webhook_uuid: text(headers, flavor.webhook_uuid()),
            idempotency_key: text(headers, IDEMPOTENCY_KEY),
            instance: text(headers, flavor.instance()),
            token,
            signature,
        })
    }
}

fn check_token(
    headers: &HeaderMap,
    flavor: Flavor,
    expect: &Expect,
) -> Result<Check, ReceiveError> {
    let Some(expected) = &expect.token else {
        return Ok(Check::NotChecked);
    };
    let sent = headers
        .get(flavor.token())
        .ok_or(ReceiveError::MissingToken)?;
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    let sent = Sha256::digest(sent.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    if bool::from(sent.ct_eq(&expected)) {
        Ok(Check::Valid)
    } else {
        Err(ReceiveError::WrongToken)
    }
}

fn check_signature(
    headers: &HeaderMap,
    body: &[u8],
    expect: &Expect,
) -> Result<Check, ReceiveError> {
    if expect.signing_secrets.is_empty() {
        return Ok(Check::NotChecked);
    }
    let (Some(id), Some(timestamp), Some(signatures)) = (
        text(headers, WEBHOOK_ID),
        text(headers, WEBHOOK_TIMESTAMP),
        text(headers, WEBHOOK_SIGNATURE),
    ) else {
        return Err(ReceiveError::MissingSignature);
    };
    let now = expect.now.unwrap_or_else(signature::unix_now);
    signature::verify(
        &expect.signing_secrets,
        &id,
        &timestamp,
        &signatures,
        body,
        now,
    )?;
    Ok(Check::Valid)
}

fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}
