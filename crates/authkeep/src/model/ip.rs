//! IP addresses as better-auth's rate limiter and sessions see them: CIDR ranges for trusted
//! proxies, and the normal form of an address (IPv4-mapped IPv6 as IPv4, IPv6 fully expanded
//! in lower case and cut to a subnet, so one host cannot spread over 2^64 buckets).

use std::net::{IpAddr, Ipv4Addr};

/// An IP range (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `None` for anything that is not an address or a range of its family.
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, prefix) = match s.rsplit_once('/') {
            Some((a, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                (a, Some(p.parse::<u8>().ok()?))
            }
            Some(_) => return None,
            None => (s, None),
        };
        let net = unmap(addr.parse::<IpAddr>().ok()?);
        let bits = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, unmap(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(&n.octets(), self.prefix) == masked(&a.octets(), self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(&n.octets(), self.prefix) == masked(&a.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(bytes: &[u8], prefix: u8) -> Vec<u8> {
    let mut left = u32::from(prefix);
    bytes
        .iter()
        .map(|b| {
            let take = left.min(8);
            left -= take;
            if take == 0 {
                0
            } else {
                b & (0xffu8 << (8 - take))
            }
        })
        .collect()
}

/// IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is the IPv4 address it carries.
pub fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// The address as better-auth records it: IPv4 dotted, IPv6 as eight four-digit lower-case
/// groups with the bits past `ipv6_subnet` cleared (`2001:0db8:0000:0000:0000:0000:0000:0000`).
pub fn normal_form(ip: IpAddr, ipv6_subnet: u8) -> String {
    match unmap(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let keep = ipv6_subnet.min(128);
            let bits = u128::from(v6);
            let mask = if keep == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(keep))
            };
            let cut = std::net::Ipv6Addr::from(bits & mask);
            cut.segments()
                .iter()
                .map(|s| format!("{s:04x}"))
                .collect::<Vec<_>>()
                .join(":")
        }
    }
}

/// The loopback address, for clients known by nothing else.
pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.1.2.3")) && !c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.9.9.9")));
        let one = Cidr::parse("203.0.113.5").unwrap();
        assert!(one.contains(ip("203.0.113.5")) && !one.contains(ip("203.0.113.6")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0.0/x").is_none());
        assert!(Cidr::parse("nonsense").is_none());
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
    }

    #[test]
    fn normal_forms_match_better_auth() {
        assert_eq!(normal_form(ip("203.0.113.7"), 64), "203.0.113.7");
        assert_eq!(
            normal_form(ip("2001:DB8:abcd:12:ffff::2"), 64),
            "2001:0db8:abcd:0012:0000:0000:0000:0000"
        );
        assert_eq!(
            normal_form(ip("2001:db8::1"), 128),
            "2001:0db8:0000:0000:0000:0000:0000:0001"
        );
        assert_eq!(
            normal_form(ip("2001:db8:ffff::1"), 40),
            "2001:0db8:ff00:0000:0000:0000:0000:0000"
        );
        assert_eq!(normal_form(ip("::ffff:192.0.2.1"), 64), "192.0.2.1");
    }
}
