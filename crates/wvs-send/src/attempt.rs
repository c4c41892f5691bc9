//! The outcome of one delivery attempt, in the shape the delivery log stores.

use std::time::Duration;

/// What one attempt sent and got back. Every field is safe to store and show: the URL has
/// no credentials and shows URL variables as `{name}`, secret header values read
/// [`REDACTED`](crate::REDACTED), and the error never quotes the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptResult {
    /// The hook URL as [`log_url`](crate::log_url) shows it.
    pub url: String,
    /// The headers WVS set, in the order sent to the hook URL, secret values redacted. Empty
    /// when the request could not be built (an invalid URL or header, a payload over the
    /// limit). The transport's own headers (`Host`, `Content-Length`, `Accept`) are not
    /// listed.
    pub request_headers: Vec<(String, String)>,
    /// The response status; `None` when no response arrived.
    pub status: Option<u16>,
    /// The first 50 response headers, each value cut to 1 KiB.
    pub response_headers: Vec<(String, String)>,
    /// The start of the response body, its bytes as received (at most 8 KiB): a receiver's
    /// reply may hold NUL, invalid UTF-8 or binary data, and the log keeps it as it came.
    pub response_body: Vec<u8>,
    /// From the start of the attempt to the end of reading the response.
    pub duration: Duration,
    /// What went wrong, in one short sentence: why no response arrived (`blocked: ...` when
    /// the SSRF guard refused the destination and nothing was sent), or, next to a status,
    /// why its body could not be read to the end or why its redirect was not followed.
    pub error: Option<String>,
    /// The `Retry-After` of a 429 or 503 (delay-seconds, or an HTTP date measured from
    /// now; a date in the past is zero).
    pub retry_after: Option<Duration>,
    /// The URL that gave the recorded response, when redirects led there from the hook URL:
    /// no credentials, and the values of the hook's URL variables masked as `{name}`.
    pub final_url: Option<String>,
    /// Retrying this same request cannot succeed: the payload is over the size limit, or the
    /// request cannot be built from the hook's settings (a URL that is not http(s) or does
    /// not parse, a missing URL variable, an invalid header). The dispatcher should fail
    /// the delivery rather than retry it. A refusal by the SSRF guard is not permanent: DNS
    /// answers change, and an administrator can allowlist the destination.
    pub permanent: bool,
}

impl AttemptResult {
    /// Whether the receiver accepted the delivery: a 2xx status. The status alone decides:
    /// a receiver that answered 2xx has the event even if its body then failed to arrive.
    pub fn is_success(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
}
