//! Which address a request comes from: the socket's peer, or, when that
//! peer is a proxy the operator trusts (`USERHUB_TRUSTED_PROXIES`), the
//! address the proxies recorded in `X-Forwarded-For`.
//!
//! Security intent: a client can write any `X-Forwarded-For` it likes, so
//! the header is read only when the peer is a trusted proxy, and only from
//! the right: each trusted proxy appends the address it received the
//! request from, so the rightmost entry that is not a trusted proxy is the
//! first address no trusted proxy vouches for beyond it. Entries left of it
//! are the client's own claims and are ignored. An entry that is no address
//! ends the walk at the last trusted hop (never a spoofed address). Login
//! throttling counts failures by this address, so a client outside the
//! trusted proxies cannot pick its own count.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed: a list of networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma- or space-separated list of CIDR networks (`10.0.0.0/8`,
    /// `fd00::/8`) or single addresses (`192.0.2.10`); empty trusts none.
    fn from_str(list: &str) -> Result<Self, String> {
        list.split([',', ' '])
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        format!(
                            "--trusted-proxies: {item:?} is not a CIDR network or an IP address"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

/// An address as the proxies compare it (IPv4-mapped IPv6 as IPv4).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether the list is empty (no header is ever believed).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client's address for a request from `peer` carrying these
    /// `X-Forwarded-For` values (in header order).
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.into_iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> TrustedProxies {
        "10.0.0.0/8, 192.0.2.10 fd00::/8".parse().unwrap()
    }

    #[test]
    fn parses_networks_and_single_addresses() {
        let p = proxies();
        assert!(p.trusts(ip("10.1.2.3")));
        assert!(p.trusts(ip("192.0.2.10")));
        assert!(!p.trusts(ip("192.0.2.11")));
        assert!(p.trusts(ip("fd00::1")));
        assert!(p.trusts(ip("::ffff:10.0.0.1")));
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        let error = "10.0.0.0/8,nonsense".parse::<TrustedProxies>().unwrap_err();
        assert!(error.contains("nonsense"), "{error}");
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let client = proxies().client(ip("203.0.113.5"), ["198.51.100.1"]);
        assert_eq!(client, ip("203.0.113.5"));
        let nobody = TrustedProxies::default();
        assert_eq!(
            nobody.client(ip("10.0.0.1"), ["198.51.100.1"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies();
        // The client claims 1.1.1.1; the first proxy saw 203.0.113.5.
        let client = p.client(ip("10.0.0.2"), ["1.1.1.1, 203.0.113.5", "10.0.0.1"]);
        assert_eq!(client, ip("203.0.113.5"));
        // With a port, and IPv6 in brackets.
        assert_eq!(
            p.client(ip("10.0.0.2"), ["203.0.113.5:4711"]),
            ip("203.0.113.5")
        );
        assert_eq!(
            p.client(ip("10.0.0.2"), ["[2001:db8::7]:4711"]),
            ip("2001:db8::7")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            p.client(ip("10.0.0.2"), ["10.0.0.9, 10.0.0.1"]),
            ip("10.0.0.9")
        );
        // No header: the proxy itself.
        assert_eq!(p.client(ip("10.0.0.2"), []), ip("10.0.0.2"));
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        let p = proxies();
        assert_eq!(
            p.client(ip("10.0.0.2"), ["203.0.113.9, unknown, 10.0.0.1"]),
            ip("10.0.0.1")
        );
        assert_eq!(p.client(ip("10.0.0.2"), ["not an address"]), ip("10.0.0.2"));
    }
}
