//! The property the `url_validation` fuzz target checks here, shared with the regression
//! test that replays its corpus in `cargo test`.

use std::net::IpAddr;

use url::{Host, Url};

use crate::{CLOUD_METADATA, OutboundPolicy};

/// Parses `text` as a URL and, when its host is an IP literal (in any notation the URL
/// parser accepts), checks it with the default policy: never a panic, and a loopback,
/// unspecified or cloud metadata address is always refused. Panics when that breaks.
pub fn check_url_literal(text: &str) {
    let Ok(url) = Url::parse(text) else { return };
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return,
    };
    let verdict = OutboundPolicy::default().check(ip, url.port_or_known_default(), None, false);
    let canonical = ip.to_canonical();
    if canonical.is_loopback() || canonical.is_unspecified() || CLOUD_METADATA.contains(&ip) {
        assert!(verdict.is_err(), "{ip} must be refused");
    }
}
