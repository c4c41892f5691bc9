//! What kind of destination an IP address is: the classification the outbound policy
//! decides on. Pure functions over `IpAddr`, no I/O.
//!
//! IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
//! `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`,
//! 6to4 `2002::/16`, Teredo `2001::/32`) are classified by the IPv4 address they carry: a
//! connection to them may end at that IPv4 address (the kernel, a NAT64 gateway or a tunnel
//! takes it there), so `[::ffff:127.0.0.1]` must count as loopback.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Known cloud metadata endpoints. They hand out instance credentials, so they stay closed
/// even when local requests are allowed; only an allowlist entry naming the exact address
/// opens one. AWS, Azure, GCP, DigitalOcean and others share 169.254.169.254.
pub const CLOUD_METADATA: &[IpAddr] = &[
    // AWS, Azure, GCP, DigitalOcean, OpenStack... (IMDS)
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    // AWS ECS task metadata and credentials
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    // AWS EKS Pod Identity agent
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)),
    // Alibaba Cloud
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    // Oracle Cloud (IMDS on the IETF protocol-assignment range)
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    // AWS IMDS over IPv6
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    // AWS EKS Pod Identity agent over IPv6
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
];

/// The kind of destination an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// Publicly routable: the usual webhook receiver.
    Global,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 0.0.0.0/8 ("this network"; 0.0.0.0 reaches the local host on Linux), ::.
    Unspecified,
    /// RFC 1918: 10/8, 172.16/12, 192.168/16.
    Private,
    /// fc00::/7, the IPv6 private range.
    UniqueLocal,
    /// fec0::/10, deprecated but still routed locally by some stacks.
    SiteLocal,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 100.64.0.0/10, carrier-grade NAT: inside a provider's network, not the internet.
    SharedAddressSpace,
    /// 198.18.0.0/15, network benchmarking: lab networks, never the internet.
    Benchmarking,
    /// One of [`CLOUD_METADATA`].
    CloudMetadata,
    /// 255.255.255.255.
    Broadcast,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// Everything else that is not globally routable: 240/4, 192.0.0.0/24, 192.88.99.0/24,
    /// 100::/64, ORCHID, and IPv6 outside 2000::/3 that has no other meaning.
    Reserved,
}

impl AddressKind {
    /// Whether the "allow local requests" settings open this kind: addresses of the local
    /// host and the networks around it. Cloud metadata is local too, but never opened by
    /// them; the unroutable kinds cannot hold a receiver at all.
    pub fn is_local(self) -> bool {
        matches!(
            self,
            AddressKind::Loopback
                | AddressKind::Unspecified
                | AddressKind::Private
                | AddressKind::UniqueLocal
                | AddressKind::SiteLocal
                | AddressKind::LinkLocal
                | AddressKind::SharedAddressSpace
                | AddressKind::Benchmarking
        )
    }
}

impl fmt::Display for AddressKind {
    /// With its article, to read "127.0.0.1 is a loopback address".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressKind::Global => "a public address",
            AddressKind::Loopback => "a loopback address",
            AddressKind::Unspecified => "an unspecified address",
            AddressKind::Private => "a private address",
            AddressKind::UniqueLocal => "a unique local (private IPv6) address",
            AddressKind::SiteLocal => "a site-local address",
            AddressKind::LinkLocal => "a link-local address",
            AddressKind::SharedAddressSpace => "a shared address space (carrier-grade NAT) address",
            AddressKind::Benchmarking => "a benchmarking address",
            AddressKind::CloudMetadata => "a cloud metadata address",
            AddressKind::Broadcast => "a broadcast address",
            AddressKind::Multicast => "a multicast address",
            AddressKind::Documentation => "a documentation address",
            AddressKind::Reserved => "a reserved address",
        })
    }
}

/// An address's kind, and the IPv4 address its IPv6 form carries, if that decided the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classified {
    pub kind: AddressKind,
    pub embedded: Option<Ipv4Addr>,
}

/// The kind of `ip`.
pub(crate) fn classify(ip: IpAddr) -> Classified {
    if CLOUD_METADATA.contains(&ip) {
        return plain(AddressKind::CloudMetadata);
    }
    match ip {
        IpAddr::V4(v4) => plain(classify_v4(v4)),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => {
                let kind = match classify(IpAddr::V4(v4)).kind {
                    // The IPv4-compatible form of a public address is deprecated and has no
                    // route; a tunnel or NAT64 form of one is an ordinary public address.
                    AddressKind::Global if is_v4_compatible(v6) => AddressKind::Reserved,
                    kind => kind,
                };
                Classified {
                    kind,
                    embedded: Some(v4),
                }
            }
            None => plain(classify_v6(v6)),
        },
    }
}

fn plain(kind: AddressKind) -> Classified {
    Classified {
        kind,
        embedded: None,
    }
}

/// `ip` with an IPv4-mapped IPv6 address turned into its IPv4 address: the same
/// destination, so an allowlist entry or an own address written either way matches both.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn classify_v4(ip: Ipv4Addr) -> AddressKind {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (0, _, _) => AddressKind::Unspecified,
        (10, _, _) => AddressKind::Private,
        (100, 64..=127, _) => AddressKind::SharedAddressSpace,
        (127, _, _) => AddressKind::Loopback,
        (169, 254, _) => AddressKind::LinkLocal,
        (172, 16..=31, _) => AddressKind::Private,
        (192, 0, 0) => AddressKind::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressKind::Documentation,
        (192, 88, 99) => AddressKind::Reserved,
        (192, 168, _) => AddressKind::Private,
        (198, 18..=19, _) => AddressKind::Benchmarking,
        (224..=239, _, _) => AddressKind::Multicast,
        _ if ip.is_broadcast() => AddressKind::Broadcast,
        (240..=255, _, _) => AddressKind::Reserved,
        _ => AddressKind::Global,
    }
}

/// IPv6 addresses that carry no IPv4 address.
fn classify_v6(ip: Ipv6Addr) -> AddressKind {
    let s = ip.segments();
    if ip.is_unspecified() {
        AddressKind::Unspecified
    } else if ip.is_loopback() {
        AddressKind::Loopback
    } else if s[0] & 0xff00 == 0xff00 {
        AddressKind::Multicast
    } else if s[0] & 0xffc0 == 0xfe80 {
        AddressKind::LinkLocal
    } else if s[0] & 0xffc0 == 0xfec0 {
        AddressKind::SiteLocal
    } else if s[0] & 0xfe00 == 0xfc00 {
        AddressKind::UniqueLocal
    } else if (s[0] == 0x2001 && s[1] == 0x0db8) || s[0] & 0xfff0 == 0x3ff0 {
        AddressKind::Documentation
    } else if s[..4] == [0x100, 0, 0, 0] {
        // Discard-only, RFC 6666.
        AddressKind::Reserved
    } else if s[0] == 0x2001 && s[1] & 0xfe00 == 0 {
        // 2001::/23, IETF protocol assignments (ORCHID, benchmarking 2001:2::/48, ...),
        // except Teredo 2001::/32, which carries an IPv4 address and is handled there.
        AddressKind::Reserved
    } else if s[0] & 0xe000 != 0x2000 {
        // Global unicast is 2000::/3; the rest is unassigned or special.
        AddressKind::Reserved
    } else {
        AddressKind::Global
    }
}

/// The IPv4 address an IPv6 address carries, by the forms that can deliver to it.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last32 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(last32),
        // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765)
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some(last32),
        // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052)
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last32),
        // NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215), address in the last 32 bits
        [0x64, 0xff9b, 1, ..] => Some(last32),
        // 6to4 2002:AABB:CCDD::/48 (RFC 3056)
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        // Teredo 2001:0::/32: the client's address, bits inverted (RFC 4380)
        [0x2001, 0, ..] => Some(Ipv4Addr::from(!u32::from(last32))),
        // IPv4-compatible ::a.b.c.d (deprecated); :: and ::1 are IPv6's own.
        _ if is_v4_compatible(ip) => Some(last32),
        _ => None,
    }
}

fn is_v4_compatible(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ip: &str) -> AddressKind {
        classify(ip.parse().unwrap()).kind
    }

    #[test]
    fn ipv4_ranges() {
        use AddressKind::*;
        for (ip, expected) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("10.255.0.1", Private),
            ("100.63.255.255", Global),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("100.128.0.0", Global),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.1.1", LinkLocal),
            ("169.254.169.254", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("172.15.0.1", Global),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Global),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("192.88.99.1", Reserved),
            ("192.168.1.1", Private),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Broadcast),
            ("8.8.8.8", Global),
            ("93.184.216.34", Global),
        ] {
            assert_eq!(kind(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges() {
        use AddressKind::*;
        for (ip, expected) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fd00:ec2::254", CloudMetadata),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("100::1", Reserved),
            ("2001:10::1", Reserved),
            ("4000::1", Reserved),
            ("2606:4700:4700::1111", Global),
            ("2a00:1450:4001::200e", Global),
        ] {
            assert_eq!(kind(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_take_the_ipv4_kind() {
        use AddressKind::*;
        for (ip, expected) in [
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:7f00:1", Loopback),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:169.254.169.254", CloudMetadata),
            ("::ffff:8.8.8.8", Global),
            ("::ffff:0:127.0.0.1", Loopback),
            ("::127.0.0.1", Loopback),
            ("::10.1.1.1", Private),
            ("::8.8.8.8", Reserved),
            ("64:ff9b::127.0.0.1", Loopback),
            ("64:ff9b::a9fe:a9fe", CloudMetadata),
            ("64:ff9b::8.8.8.8", Global),
            ("64:ff9b:1::c0a8:101", Private),
            ("2002:7f00:1::", Loopback),
            ("2002:c0a8:101::1", Private),
            ("2002:808:808::1", Global),
            // Teredo, client 127.0.0.1 obfuscated: !0x7f000001 = 0x80fffffe
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", Loopback),
        ] {
            assert_eq!(kind(ip), expected, "{ip}");
        }
        assert_eq!(
            classify("::ffff:127.0.0.1".parse().unwrap()).embedded,
            Some(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn only_the_local_kinds_are_opened_by_the_local_settings() {
        assert!(AddressKind::Loopback.is_local());
        assert!(AddressKind::SharedAddressSpace.is_local());
        for closed in [
            AddressKind::Global,
            AddressKind::CloudMetadata,
            AddressKind::Multicast,
            AddressKind::Broadcast,
            AddressKind::Documentation,
            AddressKind::Reserved,
        ] {
            assert!(!closed.is_local(), "{closed:?}");
        }
    }
}
