//! Client networks: what a per-client limit counts, and what a notice shows.
//!
//! One IPv6 subscriber usually holds a whole /64 and can pick any address
//! in it, so per-client limits key IPv6 by its /64. An IPv4-mapped IPv6
//! address (`::ffff:203.0.113.7`, as a dual-stack socket reports IPv4
//! callers) is its IPv4 address, so the two spellings share one limit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4-mapped IPv6 address as the IPv4 address it is; others as they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The IPv6 address with all but its first `bits` bits cleared.
fn prefix(v6: Ipv6Addr, bits: u32) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    Ipv6Addr::from(u128::from(v6) & mask)
}

/// The key per-client limits count under: an IPv4 address as itself, an
/// IPv6 address as its /64 (`2001:db8:1:2::/64`), an IPv4-mapped one as
/// its IPv4 address.
pub fn client_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{}/64", prefix(v6, 64)),
    }
}

/// The network as a notice shows it, never the whole address: IPv4 as its
/// /24 (`203.0.113.0/24`), IPv6 as its /48 — but a 6to4 address
/// (`2002::/16`), whose /48 is a whole IPv4 address, as that IPv4's /24.
pub fn masked(ip: IpAddr) -> String {
    let ip = match canonical(ip) {
        IpAddr::V6(v6) if v6.segments()[0] == 0x2002 => {
            let [_, _, a, b, c, ..] = v6.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        other => other,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{}/24", Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => format!("{}/48", prefix(v6, 48)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s} is an address"))
    }

    #[test]
    fn ipv4_is_keyed_by_address() {
        assert_eq!(client_key(ip("203.0.113.7")), "203.0.113.7");
        assert_ne!(client_key(ip("203.0.113.7")), client_key(ip("203.0.113.8")));
    }

    #[test]
    fn ipv6_is_keyed_by_its_64() {
        let a = client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, client_key(ip("2001:db8:1:2::1")));
        assert_ne!(a, client_key(ip("2001:db8:1:3::1")));
    }

    #[test]
    fn ipv4_mapped_is_the_ipv4_address() {
        assert_eq!(client_key(ip("::ffff:203.0.113.7")), client_key(ip("203.0.113.7")));
        assert_eq!(masked(ip("::ffff:203.0.113.7")), "203.0.113.0/24");
    }

    #[test]
    fn masks_hide_the_host() {
        assert_eq!(masked(ip("203.0.113.7")), "203.0.113.0/24");
        assert_eq!(masked(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1::/48");
        // 6to4: the /48 would be the whole IPv4 address 203.0.113.7.
        assert_eq!(masked(ip("2002:cb00:7107::1")), "203.0.113.0/24");
    }
}
