//! Capturing a response within the log's caps, and its `Retry-After`.

use std::time::{Duration, SystemTime};

use http::StatusCode;
use http::header::{HeaderMap, RETRY_AFTER};
use tokio::time::{Instant, timeout_at};

use crate::errors;

/// Response headers kept for the log.
pub(crate) const MAX_LOGGED_HEADERS: usize = 50;
/// Bytes kept of each response header value.
pub(crate) const MAX_LOGGED_HEADER_VALUE: usize = 1024;
/// Bytes kept of the response body.
pub(crate) const MAX_LOGGED_BODY: usize = 8 * 1024;

/// The first [`MAX_LOGGED_HEADERS`] headers, each value cut to [`MAX_LOGGED_HEADER_VALUE`].
pub(crate) fn logged_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .take(MAX_LOGGED_HEADERS)
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                lossy_prefix(value.as_bytes(), MAX_LOGGED_HEADER_VALUE),
            )
        })
        .collect()
}

/// The delay a 429 or 503 asks for, `now` being the clock an HTTP date is measured from.
/// Other statuses' `Retry-After` (a 3xx may carry one) is not a request to back off.
pub(crate) fn retry_after(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Reads the body until its end, the cap or the deadline, and returns what it read with the
/// reason it stopped early, if that was not the cap.
///
/// Reading a modest body to its end lets the connection go back to the pool; past `cap` the
/// response is dropped instead, which closes the connection rather than draining a body of
/// any size. Chunks are read one at a time, so at most `cap` bytes are ever held.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    cap: usize,
    deadline: Instant,
    timeout: Duration,
) -> (Vec<u8>, Option<String>) {
    let mut body = Vec::new();
    loop {
        match timeout_at(deadline, response.chunk()).await {
            Err(_elapsed) => {
                let message = format!(
                    "{} while reading the response body",
                    errors::timed_out(timeout)
                );
                return (body, Some(message));
            }
            Ok(Err(error)) => {
                let message = format!("response body cut short: {}", errors::describe(&error));
                return (body, Some(message));
            }
            Ok(Ok(None)) => return (body, None),
            Ok(Ok(Some(chunk))) => {
                let room = cap - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    return (body, None);
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
}

/// At most `limit` bytes of `bytes` as text. Invalid UTF-8 becomes U+FFFD, and the cut falls
/// on a character boundary, so a character that the limit splits is left out rather than
/// shown as a replacement character.
pub(crate) fn lossy_prefix(bytes: &[u8], limit: usize) -> String {
    // A character is at most 4 bytes: 3 bytes past the limit complete any character it
    // splits. Replacements only lengthen the text, so the cut below stays within the limit.
    let window = &bytes[..bytes.len().min(limit.saturating_add(3))];
    let mut text = String::from_utf8_lossy(window).into_owned();
    text.truncate(text.floor_char_boundary(limit));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_cuts_on_a_char_boundary() {
        let euros = "€".repeat(10); // 3 bytes each
        assert_eq!(lossy_prefix(euros.as_bytes(), 7), "€€");
        assert_eq!(lossy_prefix(euros.as_bytes(), 9), "€€€");
        assert_eq!(lossy_prefix(b"ab\xffcd", 10), "ab\u{fffd}cd");
        assert_eq!(lossy_prefix(b"abc", 0), "");
        assert!(lossy_prefix(&[0xff; 100], 10).len() <= 10);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let mut headers = HeaderMap::new();
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let too_many = StatusCode::TOO_MANY_REQUESTS;

        headers.insert(RETRY_AFTER, " 120 ".parse().unwrap());
        assert_eq!(
            retry_after(too_many, &headers, now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(StatusCode::MOVED_PERMANENTLY, &headers, now),
            None
        );

        headers.insert(
            RETRY_AFTER,
            "Sun, 06 Nov 1994 08:50:07 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers, now),
            Some(Duration::from_secs(30))
        );
        headers.insert(
            RETRY_AFTER,
            "Sun, 06 Nov 1994 08:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(too_many, &headers, now), Some(Duration::ZERO));

        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(too_many, &headers, now), None);
    }
}
