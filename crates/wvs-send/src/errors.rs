//! [`SendError`], and the one short sentence the log shows for each way an exchange fails.
//!
//! Messages are built from the causes *below* the `reqwest::Error`: its own `Display` quotes
//! the request URL, and that URL holds the values of the hook's URL variables.

use std::error::Error;
use std::io;
use std::time::Duration;

use crate::policy::Refusal;

/// Why a [`Sender`](crate::Sender) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("could not build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// `timed out after 10s` (or `after 300ms` for a timeout that is not whole seconds).
pub(crate) fn timed_out(timeout: Duration) -> String {
    if timeout.subsec_nanos() == 0 {
        format!("timed out after {}s", timeout.as_secs())
    } else {
        format!("timed out after {}ms", timeout.as_millis())
    }
}

/// `internal error: payload of 26,214,401 bytes exceeds the limit of 26,214,400 bytes (25 MiB)`.
pub(crate) fn payload_too_large(size: usize, limit: usize) -> String {
    format!(
        "internal error: payload of {} exceeds the limit of {}",
        byte_size(size),
        byte_size(limit)
    )
}

/// `26,214,400 bytes (25 MiB)`, `65,536 bytes (64 KiB)` or `1,000 bytes`: the exact count,
/// then the binary unit it is a whole number of, if any. Every size limit WVS states is
/// written so.
pub fn byte_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    let digits = bytes.to_string();
    let mut exact = String::with_capacity(digits.len() + digits.len() / 3 + 6);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            exact.push(',');
        }
        exact.push(digit);
    }
    exact.push_str(" bytes");
    match bytes {
        0 => exact,
        _ if bytes.is_multiple_of(MIB) => format!("{exact} ({} MiB)", bytes / MIB),
        _ if bytes.is_multiple_of(KIB) => format!("{exact} ({} KiB)", bytes / KIB),
        _ => exact,
    }
}

/// The SSRF guard's refusal, if that is why the exchange failed: the guarded resolver
/// fails with it when a name has no address the policy allows.
pub(crate) fn refusal(error: &reqwest::Error) -> Option<&Refusal> {
    causes(error.source()).find_map(|cause| cause.downcast_ref::<Refusal>())
}

/// A short human description of a failed exchange.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    if let Some(refusal) = refusal(error) {
        return refusal.to_string();
    }
    let causes: Vec<&(dyn Error + 'static)> = causes(error.source()).collect();
    let innermost = causes
        .last()
        .map_or_else(|| "unknown error".to_owned(), ToString::to_string);
    // The outermost recognised cause decides: it says most about where the exchange broke.
    for cause in &causes {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return format!("TLS error: {tls}");
        }
        if let Some(message) = cause
            .downcast_ref::<io::Error>()
            .and_then(|io| io_message(io.kind()))
        {
            return message.to_owned();
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            if hyper.is_incomplete_message() {
                return "connection closed before a complete response".to_owned();
            }
            if hyper.is_parse() || hyper.is_parse_status() {
                return format!("invalid response: {hyper}");
            }
        }
        // hyper-util's resolver error is a private type; its message is the only handle.
        if cause.to_string().starts_with("dns error") {
            return format!("DNS error: {innermost}");
        }
    }
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        format!("connection failed: {innermost}")
    } else if error.is_body() || error.is_decode() {
        format!("could not read the response: {innermost}")
    } else {
        format!("request failed: {innermost}")
    }
}

/// The source chain from `first` down. An `io::Error` that wraps another error (as rustls'
/// errors are wrapped) is followed into the wrapped error: `io::Error::source` would skip
/// over it to *its* source.
fn causes<'a>(
    first: Option<&'a (dyn Error + 'static)>,
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(first, |&error: &&'a (dyn Error + 'static)| match error
        .downcast_ref::<io::Error>()
    {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn Error + 'static)),
        None => error.source(),
    })
}

fn io_message(kind: io::ErrorKind) -> Option<&'static str> {
    use io::ErrorKind::*;
    Some(match kind {
        ConnectionRefused => "connection refused",
        ConnectionReset => "connection reset by the receiver",
        ConnectionAborted => "connection aborted",
        BrokenPipe => "connection closed by the receiver while sending",
        UnexpectedEof => "connection closed before a complete response",
        TimedOut => "connection timed out",
        HostUnreachable => "host unreachable",
        NetworkUnreachable => "network unreachable",
        AddrNotAvailable => "address not available",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_in_the_unit_they_were_set_in() {
        assert_eq!(timed_out(Duration::from_secs(10)), "timed out after 10s");
        assert_eq!(
            timed_out(Duration::from_millis(300)),
            "timed out after 300ms"
        );
    }

    #[test]
    fn sizes_read_in_bytes_and_the_unit_they_are_whole_in() {
        assert_eq!(
            payload_too_large(26_214_401, 25 * 1024 * 1024),
            "internal error: payload of 26,214,401 bytes exceeds the limit of \
             26,214,400 bytes (25 MiB)"
        );
        assert_eq!(byte_size(64 * 1024), "65,536 bytes (64 KiB)");
        assert_eq!(byte_size(1000), "1,000 bytes");
        assert_eq!(byte_size(999), "999 bytes");
        assert_eq!(byte_size(100_000_000), "100,000,000 bytes");
        assert_eq!(byte_size(0), "0 bytes");
    }

    #[test]
    fn wrapped_errors_are_reached_through_io_errors() {
        let tls = rustls::Error::General("boom".to_owned());
        let io = io::Error::new(io::ErrorKind::InvalidData, tls);
        let found = causes(Some(&io)).any(|cause| cause.downcast_ref::<rustls::Error>().is_some());
        assert!(found);
    }
}
