//! Which address a request comes from: the peer's, unless the peer is a proxy the operator
//! trusts (`TRUSTED_PROXIES`), in which case `X-Forwarded-For` is read from the right, past
//! every trusted hop. Anyone else's `X-Forwarded-For` is ignored: a client could write anything.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// The client address that rate limits are counted under. IPv6 addresses count by their /64,
/// which is what one subscriber is given, so hopping addresses inside it buys nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(IpAddr);

impl ClientAddr {
    pub fn new(addr: IpAddr) -> Self {
        Self(match addr.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
            v4 => v4,
        })
    }

    pub fn ip(&self) -> IpAddr {
        self.0
    }
}

/// The client of a request from `peer` that carried `forwarded_for` (every `X-Forwarded-For`
/// header, joined with commas in order).
pub fn client_addr(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&ip.to_canonical()));
    let mut client = peer;
    let Some(forwarded_for) = forwarded_for else {
        return client;
    };
    for hop in forwarded_for.rsplit(',') {
        if !is_trusted(&client) {
            break;
        }
        // A hop that is not an address ends the chain: what is left of it cannot be trusted.
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(texts: &[&str]) -> Vec<IpNet> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let client = client_addr(
            ip("203.0.113.9"),
            Some("198.51.100.1"),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_chain_is_read_from_the_right_to_the_first_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let forwarded = "1.1.1.1, 198.51.100.7, 10.0.0.2";
        assert_eq!(
            client_addr(ip("10.0.0.1"), Some(forwarded), &trusted),
            ip("198.51.100.7")
        );
        // Every hop trusted: the leftmost is as far as the chain goes.
        assert_eq!(
            client_addr(ip("10.0.0.1"), Some("10.1.1.1"), &trusted),
            ip("10.1.1.1")
        );
        // Garbage stops the walk at the last hop that could be trusted.
        assert_eq!(
            client_addr(ip("10.0.0.1"), Some("1.1.1.1, junk"), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(client_addr(ip("10.0.0.1"), None, &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a = ClientAddr::new(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientAddr::new(ip("2001:db8:1:2:bbbb::2"));
        let other = ClientAddr::new(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(
            ClientAddr::new(ip("::ffff:192.0.2.1")).ip(),
            ip("192.0.2.1")
        );
    }
}
