//! What one attempt sends, and how it becomes a URL, a header map, and the redacted copy of
//! those headers that goes into the log.

use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use url::Url;
use wvs_events::headers::WEBHOOK_SIGNATURE;
use wvs_events::{DeliveryHeaders, Flavor, SigningSecret};

use crate::sender::SenderConfig;
use crate::target::{self, UrlError};

/// What the log shows instead of a secret header value.
pub const REDACTED: &str = "[REDACTED]";

/// Headers that the transport owns. A custom header with one of these names is not sent: it
/// would contradict the real framing of the request (or, over HTTP/2, break it).
const TRANSPORT_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// One delivery attempt, borrowed from the delivery and hook records.
#[derive(Clone)]
pub struct Request<'a> {
    /// The hook URL as saved: it may contain `user:pass@` and `{name}` placeholders.
    pub url: &'a str,
    pub flavor: Flavor,
    /// The event header value (`Push Hook`, `System Hook`, ...).
    pub event_header: &'a str,
    /// The hook's secret token, sent in `X-WVS-Token` / `X-Gitlab-Token` when set.
    pub token: Option<&'a str>,
    /// Empty: the delivery is not signed.
    pub signing_secrets: &'a [SigningSecret],
    /// Sent after the delivery headers; one that names a delivery header is skipped.
    pub custom_headers: &'a [(String, String)],
    /// Values for the URL's `{name}` placeholders.
    pub url_variables: &'a [(String, String)],
    pub event_uuid: &'a str,
    pub webhook_uuid: &'a str,
    /// Stable across retries and resends of one event to one hook.
    pub idempotency_key: &'a str,
    /// Sent byte for byte, as stored and signed. Shared, not copied: one event's payload is
    /// held once however many hooks it goes to.
    pub body: bytes::Bytes,
    /// `false` when the hook turned TLS verification off.
    pub verify_tls: bool,
    /// The delivery is for a system hook: the outbound policy's
    /// `allow_local_requests_from_system_hooks` applies instead of `allow_local_requests`.
    pub system_hook: bool,
}

/// Whether the log must hide this delivery header's value: the tokens of both flavors, the
/// signature (with the body it would let anyone holding the log replay the delivery or
/// attack a weak secret offline) and `Authorization`. Custom header values are always
/// hidden, whatever their name, because users put credentials in them.
pub fn is_secret_header(name: &str) -> bool {
    name.eq_ignore_ascii_case(AUTHORIZATION.as_str())
        || name.eq_ignore_ascii_case(WEBHOOK_SIGNATURE)
        || Flavor::ALL
            .iter()
            .any(|flavor| name.eq_ignore_ascii_case(flavor.token()))
}

/// Why a request could not be built; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("invalid header name {0:?}")]
    HeaderName(String),
    // The value is never quoted: it may be a token or a credential.
    #[error(
        "invalid value for header `{0}`: control characters (such as line breaks) are not allowed"
    )]
    HeaderValue(String),
}

/// A request ready to send.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub url: Url,
    pub headers: HeaderMap,
    /// The headers in the order they were added, secret values redacted.
    pub logged: Vec<(String, String)>,
}

/// Builds the URL and headers of `request`, signed at `timestamp` (Unix seconds).
pub(crate) fn prepare(
    request: &Request<'_>,
    config: &SenderConfig,
    timestamp: i64,
) -> Result<Prepared, RequestError> {
    let target = target::resolve(request.url, request.url_variables)?;
    let delivery = DeliveryHeaders {
        flavor: request.flavor,
        event_header: request.event_header,
        token: request.token,
        event_uuid: request.event_uuid,
        webhook_uuid: request.webhook_uuid,
        instance: &config.instance,
        idempotency_key: request.idempotency_key,
        signing_secrets: request.signing_secrets,
        timestamp,
        version: &config.version,
    }
    .build(&request.body);

    let mut prepared = Prepared {
        url: target.url,
        headers: HeaderMap::new(),
        logged: Vec::new(),
    };
    for (name, value) in &delivery {
        prepared.add(name, value, is_secret_header(name))?;
    }
    // Credentials from the URL count as a delivery header: the hook's URL said so.
    if let Some(basic_auth) = &target.basic_auth {
        prepared.add(AUTHORIZATION.as_str(), basic_auth, true)?;
    }
    let reserved = |name: &str| {
        delivery
            .iter()
            .any(|(delivery_name, _)| delivery_name.eq_ignore_ascii_case(name))
            || (target.basic_auth.is_some() && name.eq_ignore_ascii_case(AUTHORIZATION.as_str()))
            || TRANSPORT_HEADERS
                .iter()
                .any(|transport| transport.eq_ignore_ascii_case(name))
    };
    for (name, value) in request.custom_headers {
        if reserved(name) {
            tracing::debug!(header = %name, "custom header skipped: WVS sets this header itself");
            continue;
        }
        prepared.add(name, value, true)?;
    }
    Ok(prepared)
}

impl Prepared {
    /// Appends one header (custom headers may repeat a name) and its log entry.
    fn add(&mut self, name: &str, value: &str, secret: bool) -> Result<(), RequestError> {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| RequestError::HeaderName(name.to_owned()))?;
        // `from_bytes` refuses control characters (CR and LF above all, which would let a
        // value inject headers) but accepts UTF-8, which some receivers' custom headers carry.
        let mut header_value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| RequestError::HeaderValue(name.to_owned()))?;
        // Keeps secrets out of HTTP/2 header compression tables.
        header_value.set_sensitive(secret);
        self.headers.append(header_name, header_value);
        let logged = if secret { REDACTED } else { value };
        self.logged.push((name.to_owned(), logged.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(custom_headers: &'a [(String, String)]) -> Request<'a> {
        Request {
            url: "http://a:b@example.com/",
            flavor: Flavor::Wvs,
            event_header: "Push Hook",
            token: Some("tok"),
            signing_secrets: &[],
            custom_headers,
            url_variables: &[],
            event_uuid: "e",
            webhook_uuid: "w",
            idempotency_key: "k",
            body: bytes::Bytes::from_static(b"{}"),
            verify_tls: true,
            system_hook: false,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn custom_headers_cannot_override_delivery_or_transport_headers() {
        let custom = pairs(&[
            ("authorization", "Bearer x"),
            ("x-wvs-token", "spoof"),
            ("Host", "evil.example"),
            ("X-Extra", "1"),
            ("X-Extra", "2"),
        ]);
        let prepared = prepare(&request(&custom), &SenderConfig::default(), 0).unwrap();
        assert_eq!(prepared.headers.get_all("x-wvs-token").iter().count(), 1);
        assert_eq!(prepared.headers["x-wvs-token"], "tok");
        assert!(
            prepared.headers["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        assert!(!prepared.headers.contains_key("host"));
        assert_eq!(prepared.headers.get_all("x-extra").iter().count(), 2);
    }

    #[test]
    fn an_invalid_value_is_an_error_that_does_not_quote_it() {
        let custom = pairs(&[("X-Secret", "line\r\nInjected: yes")]);
        let error = prepare(&request(&custom), &SenderConfig::default(), 0).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("X-Secret"), "{message}");
        assert!(!message.contains("Injected"), "{message}");
        let bad_name = pairs(&[("Bad Name", "v")]);
        let error = prepare(&request(&bad_name), &SenderConfig::default(), 0).unwrap_err();
        assert_eq!(error.to_string(), "invalid header name \"Bad Name\"");
    }

    #[test]
    fn secret_headers_are_named_case_insensitively() {
        for name in [
            "X-WVS-Token",
            "x-gitlab-token",
            "Webhook-Signature",
            "authorization",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        assert!(!is_secret_header("webhook-id"));
    }
}
