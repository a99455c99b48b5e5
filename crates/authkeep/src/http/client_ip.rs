//! Who the client is, by IP: better-auth's `getIP` (configured headers in order; without
//! trusted proxies only a header holding exactly one address counts; with them
//! `X-Forwarded-For` is read from the right, skipping trusted hops), plus the TCP peer, which
//! better-auth does not see. With trusted proxies configured, headers count only on a
//! connection from one of them, so a client talking to us directly cannot pick its bucket
//! (ADR 0011).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::model::Cidr;
use crate::model::ip::normal_form;

/// better-auth's `advanced.ipAddress`, checked.
#[derive(Debug, Clone)]
pub struct IpPolicy {
    /// Lower-cased header names, tried in order.
    pub headers: Vec<String>,
    pub trusted_proxies: Vec<Cidr>,
    pub ipv6_subnet: u8,
    /// Record no IP and rate-limit nothing (`disableIpTracking`).
    pub disable_tracking: bool,
}

impl Default for IpPolicy {
    fn default() -> Self {
        Self {
            headers: vec!["x-forwarded-for".into()],
            trusted_proxies: Vec::new(),
            ipv6_subnet: 64,
            disable_tracking: false,
        }
    }
}

/// The client of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp {
    /// From the headers, as better-auth resolves it (normal form); what sessions record.
    pub forwarded: Option<String>,
    /// The TCP peer in normal form (absent only when the server was not given it).
    pub peer: Option<String>,
}

impl ClientIp {
    /// The rate-limit bucket's address: the header's, else the peer's.
    pub fn for_limits(&self) -> Option<&str> {
        self.forwarded.as_deref().or(self.peer.as_deref())
    }
}

impl IpPolicy {
    pub fn resolve(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> ClientIp {
        if self.disable_tracking {
            return ClientIp {
                forwarded: None,
                peer: None,
            };
        }
        let peer_ip = peer.map(|p| p.ip());
        // A direct client is not a proxy: whatever it says about others is its own invention.
        let headers_count = self.trusted_proxies.is_empty()
            || peer_ip.is_none_or(|ip| self.trusted_proxies.iter().any(|c| c.contains(ip)));
        let forwarded = headers_count
            .then(|| {
                self.headers.iter().find_map(|name| {
                    // Repeated lines are one list, in order (RFC 9110 §5.3; Node joins them
                    // too): a proxy that appends its own line after the client's must be read
                    // from that last line, not the client's first one.
                    let lines: Vec<&str> = headers
                        .get_all(name.as_str())
                        .iter()
                        .map(|v| v.to_str().ok())
                        .collect::<Option<_>>()?;
                    if lines.is_empty() {
                        return None;
                    }
                    self.client_in_header(&lines.join(","))
                })
            })
            .flatten();
        ClientIp {
            forwarded,
            peer: peer_ip.map(|ip| normal_form(ip, self.ipv6_subnet)),
        }
    }

    /// One header's value → the client address, or `None` when it names none we can trust.
    fn client_in_header(&self, value: &str) -> Option<String> {
        let hops: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if self.trusted_proxies.is_empty() {
            let [only] = hops.as_slice() else {
                return None;
            };
            let ip: IpAddr = only.parse().ok()?;
            return Some(normal_form(ip, self.ipv6_subnet));
        }
        for hop in hops.iter().rev() {
            // A hop that is not an address ends the walk: nothing left of it can be trusted.
            let ip: IpAddr = hop.parse().ok()?;
            if self.trusted_proxies.iter().any(|c| c.contains(ip)) {
                continue;
            }
            return Some(normal_form(ip, self.ipv6_subnet));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn resolve(p: &IpPolicy, xff: &str, peer: &str) -> ClientIp {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        p.resolve(&h, Some(format!("{peer}:4000").parse().unwrap()))
    }

    #[test]
    fn repeated_header_lines_are_one_list() {
        let p = IpPolicy {
            trusted_proxies: vec![Cidr::parse("127.0.0.1").unwrap()],
            ..IpPolicy::default()
        };
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("6.6.7.1"));
        h.append("x-forwarded-for", HeaderValue::from_static("203.0.113.10"));
        let peer = Some("127.0.0.1:4000".parse().unwrap());
        assert_eq!(
            p.resolve(&h, peer).forwarded.as_deref(),
            Some("203.0.113.10"),
            "the proxy's line, last, names the client"
        );
        // Without trusted proxies two lines are a chain, which names nobody.
        assert_eq!(IpPolicy::default().resolve(&h, peer).forwarded, None);
    }

    #[test]
    fn without_trusted_proxies_only_one_address_counts() {
        let p = IpPolicy::default();
        let r = resolve(&p, "203.0.113.7", "127.0.0.1");
        assert_eq!(r.forwarded.as_deref(), Some("203.0.113.7"));
        assert_eq!(r.peer.as_deref(), Some("127.0.0.1"));
        assert_eq!(resolve(&p, "1.2.3.4, 5.6.7.8", "127.0.0.1").forwarded, None);
        assert_eq!(resolve(&p, "garbage", "127.0.0.1").forwarded, None);
        assert_eq!(
            resolve(&p, "2001:db8::1", "127.0.0.1").forwarded.as_deref(),
            Some("2001:0db8:0000:0000:0000:0000:0000:0000")
        );
        assert_eq!(
            resolve(&p, "::ffff:192.0.2.1", "127.0.0.1")
                .forwarded
                .as_deref(),
            Some("192.0.2.1")
        );
        assert_eq!(
            resolve(&p, "1.2.3.4, 5.6.7.8", "10.0.0.9").for_limits(),
            Some("10.0.0.9")
        );
    }

    #[test]
    fn trusted_proxies_are_walked_from_the_right_and_must_be_the_peer() {
        let p = IpPolicy {
            trusted_proxies: vec![
                Cidr::parse("10.0.0.0/8").unwrap(),
                Cidr::parse("127.0.0.1").unwrap(),
            ],
            ..IpPolicy::default()
        };
        let r = resolve(&p, "6.6.6.6, 198.51.100.4, 10.1.1.1", "127.0.0.1");
        assert_eq!(r.forwarded.as_deref(), Some("198.51.100.4"));
        assert_eq!(
            resolve(&p, "10.0.0.1, 10.0.0.2", "127.0.0.1").forwarded,
            None
        );
        assert_eq!(
            resolve(&p, "6.6.6.6, x, 10.0.0.2", "127.0.0.1").forwarded,
            None
        );
        // From a peer that is no proxy of ours, the header is the client's own claim.
        let spoof = resolve(&p, "6.6.6.6", "192.0.2.50");
        assert_eq!(spoof.forwarded, None);
        assert_eq!(spoof.for_limits(), Some("192.0.2.50"));
    }

    #[test]
    fn tracking_can_be_off() {
        let p = IpPolicy {
            disable_tracking: true,
            ..IpPolicy::default()
        };
        assert_eq!(resolve(&p, "1.2.3.4", "127.0.0.1").for_limits(), None);
    }
}
