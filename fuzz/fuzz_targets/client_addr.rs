//! The client address behind trusted proxies (`access::client_addr`) and its rate-limit key
//! (`ClientAddr::new`).
//!
//! Input: read by `arbitrary`: the peer, up to four trusted networks, whether an
//! `X-Forwarded-For` was sent, then the rest as its text.
//!
//! Checked: an untrusted peer, or no header, gives the peer; otherwise the client is the peer
//! or one of the forwarded hops, reached only through trusted addresses from the right; the
//! rate-limit key is canonical (IPv4-mapped addresses as IPv4, IPv6 as its /64) and stable.
#![no_main]

use std::net::IpAddr;

use arbitrary::{Arbitrary, Unstructured};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use mediastore::access::{ClientAddr, client_addr};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(peer), Ok(nets), Ok(sent)) = (
        IpAddr::arbitrary(&mut u),
        <Vec<(IpAddr, u8)>>::arbitrary(&mut u),
        bool::arbitrary(&mut u),
    ) else {
        return;
    };
    let trusted: Vec<IpNet> = nets
        .into_iter()
        .take(4)
        .map(|(ip, prefix)| {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            IpNet::new(ip, prefix % (max + 1)).expect("a prefix in range")
        })
        .collect();
    let rest = u.take_rest();
    let Ok(forwarded) = std::str::from_utf8(rest) else {
        return;
    };
    let forwarded = sent.then_some(forwarded);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(&ip.to_canonical()));

    let client = client_addr(peer, forwarded, &trusted);
    match forwarded {
        None => assert_eq!(client, peer),
        Some(_) if !is_trusted(&peer) => {
            assert_eq!(client, peer, "an untrusted peer's header was read")
        }
        Some(text) => {
            // Walk from the right as far as each hop before was trusted: the client is one of
            // the addresses on that walk.
            let mut reachable = vec![peer];
            let mut at = peer;
            for hop in text.rsplit(',') {
                if !is_trusted(&at) {
                    break;
                }
                match hop.trim().parse::<IpAddr>() {
                    Ok(ip) => {
                        reachable.push(ip);
                        at = ip;
                    }
                    Err(_) => break,
                }
            }
            assert_eq!(Some(&client), reachable.last(), "walk {reachable:?}");
            if client != peer {
                assert!(
                    text.split(',')
                        .any(|h| h.trim().parse::<IpAddr>() == Ok(client))
                );
            }
        }
    }

    let key = ClientAddr::new(client);
    assert_eq!(ClientAddr::new(key.ip()), key, "the key is not stable");
    match key.ip() {
        IpAddr::V4(_) => {}
        IpAddr::V6(v6) => {
            assert!(v6.to_ipv4_mapped().is_none(), "an IPv4-mapped key: {v6}");
            assert_eq!(u128::from(v6) & u128::from(u64::MAX), 0, "not a /64: {v6}");
        }
    }
    if let IpAddr::V6(v6) = client
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        assert_eq!(key.ip(), IpAddr::V4(v4));
    }
});
