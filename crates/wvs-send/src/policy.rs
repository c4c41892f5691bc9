//! The outbound policy (where deliveries may go) and the refusals it gives. The decision
//! for one address is a pure function here; `guard.rs` applies it to URLs and to what names
//! resolve to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::address::{self, AddressKind, canonical};
use crate::allowlist::AllowEntry;

/// Where deliveries may go: the SSRF guard's settings. The default is the safe one: project
/// and group hooks reach public addresses only; system hooks, which only administrators
/// create, may also reach the local network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Let project and group hooks reach loopback, private, link-local, shared-address and
    /// unspecified addresses. Default `false`.
    pub allow_local_requests: bool,
    /// The same for system hooks. Default `true`.
    pub allow_local_requests_from_system_hooks: bool,
    /// Destinations open to every hook whatever the settings above: host names, IP
    /// addresses, CIDR ranges. A cloud metadata address is opened only by an entry naming
    /// it exactly.
    pub allowlist: Vec<AllowEntry>,
    /// Refuse everything that is not on the allowlist, public addresses included.
    /// Default `false`.
    pub deny_all_requests_except_allowed: bool,
    /// This instance's listen addresses: always refused, so that no hook can call the
    /// instance's own API. An unspecified IP (`0.0.0.0:8080`, `[::]:8080`) stands for every
    /// non-public address of this host on that port.
    pub own_addresses: Vec<SocketAddr>,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy {
            allow_local_requests: false,
            allow_local_requests_from_system_hooks: true,
            allowlist: Vec::new(),
            deny_all_requests_except_allowed: false,
            own_addresses: Vec::new(),
        }
    }
}

/// Why a URL may not be requested. `Display` is one sentence to show the user or store in
/// the delivery log; it never quotes the URL, so it holds no credentials and no value of a
/// URL variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("invalid URL: {0}")]
    InvalidUrl(url::ParseError),
    #[error("invalid URL: the scheme must be http or https")]
    Scheme,
    #[error(transparent)]
    Blocked(#[from] Blocked),
}

impl Refusal {
    /// The same refusal without the parts of the destination that came from URL variables:
    /// the address of a host from a variable tells the variable's value, and so does a port.
    pub(crate) fn hiding(self, hidden: Hidden) -> Refusal {
        match self {
            Refusal::Blocked(blocked) => Refusal::Blocked(Blocked { hidden, ..blocked }),
            other => other,
        }
    }
}

/// Which parts of a destination a message must not name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Hidden {
    pub host: bool,
    pub port: bool,
}

/// A destination address the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The refused address, as it would have been connected to.
    pub address: IpAddr,
    /// The destination port, when known.
    pub port: Option<u16>,
    pub reason: BlockReason,
    /// What the message does not name: "the host's address" stands for a hidden address.
    hidden: Hidden,
}

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockReason {
    /// A local address, and local requests are not allowed for this kind of hook.
    Local {
        kind: AddressKind,
        system_hook: bool,
    },
    /// A cloud metadata address that no allowlist entry names exactly.
    CloudMetadata,
    /// An address that cannot hold a receiver (multicast, broadcast, documentation,
    /// reserved) and is not allowlisted.
    Unroutable(AddressKind),
    /// Only allowlisted destinations are allowed, and this is not one.
    NotAllowlisted,
    /// One of this instance's own listen addresses.
    OwnAddress,
}

impl std::error::Error for Blocked {}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("blocked: ")?;
        if self.hidden.host {
            f.write_str("the host's address")?;
        } else {
            match (self.reason, self.port) {
                (BlockReason::OwnAddress, Some(port)) if !self.hidden.port => {
                    write!(f, "{}", SocketAddr::new(self.address, port))?
                }
                _ => write!(f, "{}", self.address)?,
            }
            if let Some(v4) = self.embedded() {
                write!(f, " ({v4})")?;
            }
        }
        match self.reason {
            BlockReason::Local { kind, system_hook } => {
                let from = if system_hook { " from system hooks" } else { "" };
                write!(f, " is {kind}; local requests{from} are not allowed")
            }
            BlockReason::CloudMetadata => f.write_str(
                " is a cloud metadata address; only an allowlist entry for this exact address opens it",
            ),
            BlockReason::Unroutable(kind) => write!(f, " is {kind}, which cannot receive webhooks"),
            BlockReason::NotAllowlisted => {
                f.write_str(" is not on the allowlist, and only allowlisted destinations are allowed")
            }
            BlockReason::OwnAddress => f.write_str(" is this instance's own address"),
        }
    }
}

impl Blocked {
    /// The IPv4 address an IPv6 form carries, shown next to it so that `::ffff:7f00:1`
    /// reads as what it is.
    fn embedded(&self) -> Option<Ipv4Addr> {
        match self.address {
            IpAddr::V6(_) => address::classify(self.address).embedded,
            IpAddr::V4(_) => None,
        }
    }
}

impl OutboundPolicy {
    /// Whether a delivery may connect to `ip`.
    ///
    /// `port` is the destination port; `None` (unknown) makes an own address match on its IP
    /// alone, which can only refuse more. `host` is the host name the address was resolved
    /// from (`None` for an IP-literal URL), for host-name allowlist entries.
    ///
    /// The order: own addresses are refused whatever else is set; a cloud metadata address
    /// needs an exact allowlist entry; any other allowlisted destination passes; then
    /// "deny all except allowed" refuses the rest; public addresses pass; local ones pass
    /// when the hook's kind allows local requests; unroutable ones never do.
    pub fn check(
        &self,
        ip: IpAddr,
        port: Option<u16>,
        host: Option<&str>,
        system_hook: bool,
    ) -> Result<(), Blocked> {
        let block = |reason| {
            Err(Blocked {
                address: ip,
                port,
                reason,
                hidden: Hidden::default(),
            })
        };
        if self.is_own_address(ip, port) {
            return block(BlockReason::OwnAddress);
        }
        let kind = address::classify(ip).kind;
        if kind == AddressKind::CloudMetadata {
            return if self.allowlist.iter().any(|entry| entry.names_exactly(ip)) {
                Ok(())
            } else {
                block(BlockReason::CloudMetadata)
            };
        }
        let allowlisted = self
            .allowlist
            .iter()
            .any(|entry| entry.matches_ip(ip) || host.is_some_and(|name| entry.matches_name(name)));
        if allowlisted {
            return Ok(());
        }
        if self.deny_all_requests_except_allowed {
            return block(BlockReason::NotAllowlisted);
        }
        let local_allowed = if system_hook {
            self.allow_local_requests_from_system_hooks
        } else {
            self.allow_local_requests
        };
        match kind {
            AddressKind::Global => Ok(()),
            kind if kind.is_local() && local_allowed => Ok(()),
            kind if kind.is_local() => block(BlockReason::Local { kind, system_hook }),
            kind => block(BlockReason::Unroutable(kind)),
        }
    }

    fn is_own_address(&self, ip: IpAddr, port: Option<u16>) -> bool {
        let ip = canonical(ip);
        self.own_addresses.iter().any(|own| {
            let own_ip = canonical(own.ip());
            let same_port = port.is_none_or(|port| port == own.port());
            // A listener on the unspecified address answers on every address of the host;
            // a connection to the unspecified address reaches whatever listens locally.
            let same_host = own_ip == ip
                || own_ip.is_unspecified() && address::classify(ip).kind != AddressKind::Global
                || ip.is_unspecified()
                    && !matches!(address::classify(own_ip).kind, AddressKind::Global);
            same_port && same_host
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn policy() -> OutboundPolicy {
        OutboundPolicy::default()
    }

    fn message(policy: &OutboundPolicy, address: &str, system_hook: bool) -> String {
        policy
            .check(ip(address), Some(80), None, system_hook)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_default_refuses_local_for_project_hooks_and_allows_it_for_system_hooks() {
        let policy = policy();
        assert_eq!(
            message(&policy, "127.0.0.1", false),
            "blocked: 127.0.0.1 is a loopback address; local requests are not allowed"
        );
        assert!(policy.check(ip("127.0.0.1"), None, None, true).is_ok());
        assert!(policy.check(ip("93.184.216.34"), None, None, false).is_ok());
        let strict_system = OutboundPolicy {
            allow_local_requests_from_system_hooks: false,
            ..policy
        };
        assert_eq!(
            message(&strict_system, "10.0.0.1", true),
            "blocked: 10.0.0.1 is a private address; local requests from system hooks are not allowed"
        );
    }

    #[test]
    fn messages_name_the_ipv4_address_inside_an_ipv6_form() {
        assert_eq!(
            message(&policy(), "::ffff:127.0.0.1", false),
            "blocked: ::ffff:127.0.0.1 (127.0.0.1) is a loopback address; local requests are not allowed"
        );
        assert_eq!(
            message(&policy(), "ff02::1", true),
            "blocked: ff02::1 is a multicast address, which cannot receive webhooks"
        );
    }

    #[test]
    fn metadata_needs_an_exact_entry_even_when_local_requests_are_allowed() {
        let open = OutboundPolicy {
            allow_local_requests: true,
            allowlist: vec!["169.254.0.0/16".parse().unwrap()],
            ..policy()
        };
        assert_eq!(
            message(&open, "169.254.169.254", true),
            "blocked: 169.254.169.254 is a cloud metadata address; only an allowlist entry for this exact address opens it"
        );
        assert!(open.check(ip("169.254.1.1"), None, None, false).is_ok());
        let exact = OutboundPolicy {
            allowlist: vec!["169.254.169.254".parse().unwrap()],
            ..policy()
        };
        assert!(
            exact
                .check(ip("169.254.169.254"), None, None, false)
                .is_ok()
        );
        assert!(
            exact
                .check(ip("::ffff:169.254.169.254"), None, None, false)
                .is_ok()
        );
        let by_name = OutboundPolicy {
            allowlist: vec!["metadata.google.internal".parse().unwrap()],
            ..policy()
        };
        let refused = by_name.check(
            ip("169.254.169.254"),
            None,
            Some("metadata.google.internal"),
            false,
        );
        assert_eq!(refused.unwrap_err().reason, BlockReason::CloudMetadata);
    }

    #[test]
    fn own_addresses_are_refused_always_and_by_port() {
        let policy = OutboundPolicy {
            allow_local_requests: true,
            allowlist: vec!["127.0.0.0/8".parse().unwrap()],
            own_addresses: vec![
                "127.0.0.1:8080".parse().unwrap(),
                "[::]:9090".parse().unwrap(),
            ],
            ..policy()
        };
        let own = |address: &str, port| policy.check(ip(address), port, None, true);
        assert_eq!(
            own("127.0.0.1", Some(8080)).unwrap_err().to_string(),
            "blocked: 127.0.0.1:8080 is this instance's own address"
        );
        assert!(own("::ffff:127.0.0.1", Some(8080)).is_err());
        assert!(own("0.0.0.0", Some(8080)).is_err());
        assert!(own("127.0.0.1", Some(8081)).is_ok());
        assert!(own("127.0.0.1", None).is_err());
        assert!(own("10.1.2.3", Some(9090)).is_err());
        assert!(own("::1", Some(9090)).is_err());
        assert!(own("93.184.216.34", Some(9090)).is_ok());
    }

    #[test]
    fn deny_all_except_allowed_refuses_public_addresses_too() {
        let policy = OutboundPolicy {
            deny_all_requests_except_allowed: true,
            allow_local_requests: true,
            allowlist: vec![
                "hooks.example".parse().unwrap(),
                "203.0.113.0/24".parse().unwrap(),
            ],
            ..policy()
        };
        assert_eq!(
            message(&policy, "93.184.216.34", false),
            "blocked: 93.184.216.34 is not on the allowlist, and only allowlisted destinations are allowed"
        );
        assert!(policy.check(ip("127.0.0.1"), None, None, true).is_err());
        assert!(
            policy
                .check(ip("93.184.216.34"), None, Some("hooks.example"), false)
                .is_ok()
        );
        assert!(policy.check(ip("203.0.113.7"), None, None, false).is_ok());
    }

    #[test]
    fn hiding_the_address_keeps_the_reason() {
        let blocked = policy()
            .check(ip("10.9.8.7"), None, None, false)
            .unwrap_err();
        let host = Hidden {
            host: true,
            port: false,
        };
        assert_eq!(
            Refusal::from(blocked).hiding(host).to_string(),
            "blocked: the host's address is a private address; local requests are not allowed"
        );
        let own = OutboundPolicy {
            own_addresses: vec!["127.0.0.1:8080".parse().unwrap()],
            ..policy()
        }
        .check(ip("127.0.0.1"), Some(8080), None, true)
        .unwrap_err();
        let port = Hidden {
            host: false,
            port: true,
        };
        assert_eq!(
            Refusal::from(own).hiding(port).to_string(),
            "blocked: 127.0.0.1 is this instance's own address"
        );
    }
}
