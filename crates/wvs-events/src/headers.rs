//! Header names of both flavors and the full header set of a delivery.
//!
//! Flavor `wvs` (the default, as in the current documentation) sends `X-WVS-*` and
//! `User-Agent: WVS/<version>`; flavor `gitlab` sends `X-Gitlab-*` and
//! `User-Agent: GitLab/<version>`, so that existing GitLab receivers work unchanged.

use std::str::FromStr;

use crate::signature::{SigningSecret, signature_header};

/// `Idempotency-Key`: stable across retries and resends of one event to one hook.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Standard Webhooks: the message id (equal to the idempotency key).
pub const WEBHOOK_ID: &str = "webhook-id";
/// Standard Webhooks: the Unix time of signing.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Standard Webhooks: the space-separated `v1,<base64>` signatures.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Which family of header names a delivery uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flavor {
    #[default]
    Wvs,
    Gitlab,
}

/// An unknown flavor name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flavor `{0}`: expected `wvs` or `gitlab`")]
pub struct UnknownFlavor(pub String);

impl FromStr for Flavor {
    type Err = UnknownFlavor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wvs" => Ok(Flavor::Wvs),
            "gitlab" => Ok(Flavor::Gitlab),
            _ => Err(UnknownFlavor(s.to_owned())),
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Flavor {
    /// Both flavors, the default first.
    pub const ALL: [Flavor; 2] = [Flavor::Wvs, Flavor::Gitlab];

    /// `wvs` or `gitlab`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Wvs => "wvs",
            Flavor::Gitlab => "gitlab",
        }
    }

    /// The event header name: `X-WVS-Event` or `X-Gitlab-Event`.
    pub fn event(self) -> &'static str {
        self.pick("X-WVS-Event", "X-Gitlab-Event")
    }

    /// The secret token header name.
    pub fn token(self) -> &'static str {
        self.pick("X-WVS-Token", "X-Gitlab-Token")
    }

    /// The header naming the event's UUID.
    pub fn event_uuid(self) -> &'static str {
        self.pick("X-WVS-Event-UUID", "X-Gitlab-Event-UUID")
    }

    /// The header naming the hook's UUID.
    pub fn webhook_uuid(self) -> &'static str {
        self.pick("X-WVS-Webhook-UUID", "X-Gitlab-Webhook-UUID")
    }

    /// The header naming the sending instance's URL.
    pub fn instance(self) -> &'static str {
        self.pick("X-WVS-Instance", "X-Gitlab-Instance")
    }

    /// The `User-Agent` value: `WVS/<version>` or `GitLab/<version>`.
    pub fn user_agent(self, version: &str) -> String {
        format!("{}/{version}", self.pick("WVS", "GitLab"))
    }

    fn pick(self, wvs: &'static str, gitlab: &'static str) -> &'static str {
        match self {
            Flavor::Wvs => wvs,
            Flavor::Gitlab => gitlab,
        }
    }
}

/// Whether a delivery header's value changes from one attempt of a hook to the next: the
/// event's UUID, the webhook UUID (new for every request, as GitLab makes it), the
/// idempotency key (and the Standard Webhooks id equal to it) and the signing time. Every
/// other header of [`DeliveryHeaders::build`] follows from the hook, the
/// event kind and the sender's settings (the signature too, once the log redacts it).
pub fn varies_per_attempt(name: &str) -> bool {
    [IDEMPOTENCY_KEY, WEBHOOK_ID, WEBHOOK_TIMESTAMP]
        .iter()
        .copied()
        .chain(
            Flavor::ALL
                .iter()
                .flat_map(|flavor| [flavor.event_uuid(), flavor.webhook_uuid()]),
        )
        .any(|varying| varying.eq_ignore_ascii_case(name))
}

/// Everything that goes into the headers of one delivery attempt.
#[derive(Debug, Clone)]
pub struct DeliveryHeaders<'a> {
    pub flavor: Flavor,
    /// The event header value (`Push Hook`, `System Hook`, ...).
    pub event_header: &'a str,
    /// The hook's secret token, sent as is when set.
    pub token: Option<&'a str>,
    pub event_uuid: &'a str,
    pub webhook_uuid: &'a str,
    /// The sending instance's URL.
    pub instance: &'a str,
    /// Stable per (event, hook); also the Standard Webhooks message id.
    pub idempotency_key: &'a str,
    /// Signing secrets; empty means the delivery is not signed.
    pub signing_secrets: &'a [SigningSecret],
    /// Unix seconds of this attempt, signed into `webhook-signature`.
    pub timestamp: i64,
    /// The WVS version for `User-Agent` (or the GitLab version the `gitlab` flavor claims).
    pub version: &'a str,
}

impl DeliveryHeaders<'_> {
    /// The request headers of the delivery of `body`, in a stable order.
    pub fn build(&self, body: &[u8]) -> Vec<(&'static str, String)> {
        let flavor = self.flavor;
        let mut headers = vec![
            ("Content-Type", "application/json".to_owned()),
            ("User-Agent", flavor.user_agent(self.version)),
            (flavor.event(), self.event_header.to_owned()),
            (flavor.event_uuid(), self.event_uuid.to_owned()),
            (flavor.webhook_uuid(), self.webhook_uuid.to_owned()),
            (flavor.instance(), self.instance.to_owned()),
            (IDEMPOTENCY_KEY, self.idempotency_key.to_owned()),
        ];
        if let Some(token) = self.token {
            headers.push((flavor.token(), token.to_owned()));
        }
        if !self.signing_secrets.is_empty() {
            headers.push((WEBHOOK_ID, self.idempotency_key.to_owned()));
            headers.push((WEBHOOK_TIMESTAMP, self.timestamp.to_string()));
            headers.push((
                WEBHOOK_SIGNATURE,
                signature_header(
                    self.signing_secrets,
                    self.idempotency_key,
                    self.timestamp,
                    body,
                ),
            ));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(uuid: &'a str, key: &'a str, timestamp: i64) -> DeliveryHeaders<'a> {
        DeliveryHeaders {
            flavor: Flavor::Gitlab,
            event_header: "Push Hook",
            token: Some("t"),
            event_uuid: uuid,
            webhook_uuid: uuid,
            instance: "https://wvs.example",
            idempotency_key: key,
            signing_secrets: &[],
            timestamp,
            version: "1.0",
        }
    }

    #[test]
    fn only_the_headers_said_to_vary_differ_between_two_attempts_of_a_hook() {
        let secret = SigningSecret::generate();
        let secrets = std::slice::from_ref(&secret);
        let mut first = headers("e1", "k1", 1);
        let mut second = headers("e2", "k2", 2);
        (first.signing_secrets, second.signing_secrets) = (secrets, secrets);
        let (first, second) = (first.build(b"{}"), second.build(b"{}"));
        assert_eq!(first.len(), second.len());
        for ((name, one), (other_name, other)) in first.iter().zip(&second) {
            assert_eq!(name, other_name);
            let differs = one != other;
            assert_eq!(
                differs,
                varies_per_attempt(name) || *name == WEBHOOK_SIGNATURE,
                "{name}"
            );
        }
    }
}
