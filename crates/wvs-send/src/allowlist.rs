//! Allowlist entries: the destinations an administrator opened on purpose, by host name,
//! IP address or CIDR range.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::address::canonical;

/// One allowlist entry. Parse one from text with [`str::parse`]: `hooks.internal`,
/// `*.corp.example` (names below it, not itself), `10.0.0.5`, `[fd00::5]` or `fd00::5`,
/// `10.0.0.0/8`, `fd00::/8`. Names are matched case-insensitively, in the punycode form
/// URLs use; IPv4 addresses may be written in any notation a URL accepts (`0x7f.1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllowEntry {
    /// A host name, exactly.
    Host(String),
    /// Every name below this domain (`*.corp.example` holds `corp.example`).
    Subdomains(String),
    /// One address.
    Ip(IpAddr),
    /// A range of addresses.
    Cidr(IpNet),
}

/// Why text is not an allowlist entry. The entry is configuration, not a secret, so it is
/// quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid allowlist entry `{entry}`: {reason}")]
pub struct AllowEntryError {
    pub entry: String,
    pub reason: &'static str,
}

impl FromStr for AllowEntry {
    type Err = AllowEntryError;

    fn from_str(text: &str) -> Result<AllowEntry, AllowEntryError> {
        let entry = text.trim();
        let error = |reason| AllowEntryError {
            entry: entry.to_owned(),
            reason,
        };
        if entry.is_empty() {
            return Err(error("it is empty"));
        }
        if entry.contains('/') {
            let net: IpNet = entry
                .parse()
                .map_err(|_| error("not a CIDR range such as 10.0.0.0/8 or fd00::/8"))?;
            return Ok(AllowEntry::Cidr(net.trunc()));
        }
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Ok(AllowEntry::Ip(canonical(ip)));
        }
        if let Some(domain) = entry.strip_prefix("*.") {
            return match parse_host(domain) {
                Some(url::Host::Domain(domain)) => Ok(AllowEntry::Subdomains(domain)),
                _ => Err(error("`*.` must be followed by a domain name")),
            };
        }
        match parse_host(entry) {
            Some(url::Host::Domain(name)) => Ok(AllowEntry::Host(name)),
            Some(url::Host::Ipv4(ip)) => Ok(AllowEntry::Ip(IpAddr::V4(ip))),
            Some(url::Host::Ipv6(ip)) => Ok(AllowEntry::Ip(canonical(IpAddr::V6(ip)))),
            None => Err(error(
                "not a host name, IP address or CIDR range (ports and schemes are not allowed)",
            )),
        }
    }
}

/// A host as the URL parser reads one (lowercase, punycode, IPv4 in any notation), without
/// a trailing dot. `Host::parse` accepts some characters that URLs never put in a host
/// (`*`, for one); they are refused here so that a typo is an error, not a dead entry.
fn parse_host(text: &str) -> Option<url::Host<String>> {
    let text = text.strip_suffix('.').unwrap_or(text);
    if text.is_empty()
        || text.contains(['*', ':', '@', '?', '#', '\\', ' ']) && !text.starts_with('[')
    {
        return None;
    }
    url::Host::parse(text).ok()
}

impl AllowEntry {
    /// Whether this entry opens the host name `name` (as a URL spells it).
    pub(crate) fn matches_name(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        match self {
            AllowEntry::Host(host) => host.eq_ignore_ascii_case(name),
            // `get`, not slicing: a name that is not ASCII must not panic on a char boundary.
            AllowEntry::Subdomains(domain) => name
                .len()
                .checked_sub(domain.len() + 1)
                .filter(|&dot| dot > 0)
                .is_some_and(|dot| {
                    name.as_bytes()[dot] == b'.'
                        && name
                            .get(dot + 1..)
                            .is_some_and(|tail| tail.eq_ignore_ascii_case(domain))
                }),
            AllowEntry::Ip(_) | AllowEntry::Cidr(_) => false,
        }
    }

    /// Whether this entry opens the address `ip`.
    pub(crate) fn matches_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            AllowEntry::Ip(entry) => *entry == ip,
            AllowEntry::Cidr(net) => net.contains(&ip),
            AllowEntry::Host(_) | AllowEntry::Subdomains(_) => false,
        }
    }

    /// Whether this entry names exactly the address `ip`, as opening a cloud metadata
    /// address requires: a range or a name that happens to cover it is not enough.
    pub(crate) fn names_exactly(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            AllowEntry::Ip(entry) => *entry == ip,
            AllowEntry::Cidr(net) => net.prefix_len() == net.max_prefix_len() && net.addr() == ip,
            AllowEntry::Host(_) | AllowEntry::Subdomains(_) => false,
        }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowEntry::Host(name) => f.write_str(name),
            AllowEntry::Subdomains(domain) => write!(f, "*.{domain}"),
            AllowEntry::Ip(ip) => write!(f, "{ip}"),
            AllowEntry::Cidr(net) => write!(f, "{net}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> AllowEntry {
        text.parse().unwrap()
    }

    #[test]
    fn entries_parse_in_every_form() {
        assert_eq!(
            entry("Hooks.Internal."),
            AllowEntry::Host("hooks.internal".into())
        );
        assert_eq!(
            entry("*.corp.example"),
            AllowEntry::Subdomains("corp.example".into())
        );
        assert_eq!(
            entry("10.0.0.5"),
            AllowEntry::Ip("10.0.0.5".parse().unwrap())
        );
        assert_eq!(
            entry("0x7f.1"),
            AllowEntry::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            entry("[fd00::5]"),
            AllowEntry::Ip("fd00::5".parse().unwrap())
        );
        assert_eq!(entry("fd00::5"), AllowEntry::Ip("fd00::5".parse().unwrap()));
        assert_eq!(
            entry("::ffff:10.0.0.5"),
            AllowEntry::Ip("10.0.0.5".parse().unwrap())
        );
        assert_eq!(
            entry("10.1.2.3/8"),
            AllowEntry::Cidr("10.0.0.0/8".parse().unwrap())
        );
        assert_eq!(entry("bücher.example").to_string(), "xn--bcher-kva.example");
        for bad in [
            "",
            "10.0.0.0/33",
            "example.com:8080",
            "http://example.com",
            "*.",
            "a*b.example",
            "user@host",
        ] {
            assert!(bad.parse::<AllowEntry>().is_err(), "{bad}");
        }
        let error = "example.com:80".parse::<AllowEntry>().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid allowlist entry `example.com:80`: "),
            "{error}"
        );
    }

    #[test]
    fn names_match_exactly_or_below_a_wildcard() {
        let host = entry("hooks.internal");
        assert!(host.matches_name("hooks.internal"));
        assert!(host.matches_name("HOOKS.internal."));
        assert!(!host.matches_name("a.hooks.internal"));
        let wildcard = entry("*.corp.example");
        assert!(wildcard.matches_name("ci.corp.example"));
        assert!(wildcard.matches_name("a.b.corp.example"));
        assert!(!wildcard.matches_name("corp.example"));
        assert!(!wildcard.matches_name("evilcorp.example"));
        assert!(!wildcard.matches_name("é.corp.exampl"));
        assert!(!wildcard.matches_name(".corp.example"));
    }

    #[test]
    fn addresses_match_in_either_ip_form_and_metadata_needs_an_exact_entry() {
        let mapped: IpAddr = "::ffff:10.0.0.5".parse().unwrap();
        assert!(entry("10.0.0.5").matches_ip(mapped));
        assert!(entry("10.0.0.0/8").matches_ip(mapped));
        assert!(!entry("10.0.0.0/8").matches_ip("11.0.0.1".parse().unwrap()));
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        assert!(entry("169.254.169.254").names_exactly(metadata));
        assert!(entry("169.254.169.254/32").names_exactly(metadata));
        assert!(!entry("169.254.0.0/16").names_exactly(metadata));
        assert!(entry("169.254.0.0/16").matches_ip(metadata));
    }
}
