//! Who the client is, decided once per request. Behind a reverse proxy every request comes from
//! the proxy's address; the proxy names the real client in `X-Forwarded-For` or `Forwarded`.
//! Anyone can send those headers, so they are believed only when the TCP peer is one of
//! TRUSTED_PROXIES, and then only as far as the chain of trusted proxies reaches: the client is
//! the right-most address that is not itself a trusted proxy.
//!
//! When a proxy sends both headers, X-Forwarded-For wins: it is the one nearly every proxy
//! appends to, and a client could otherwise pick its address with a `Forwarded` header the
//! proxy passes through untouched.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The client's address as the server believes it. Absent on requests that did not come over
/// a socket (a router called directly in a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    /// Whether `ip` is one of the proxies (the request id is believed only from them).
    pub(crate) fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` with these headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // Walk from the proxy nearest to us towards the client. An entry that cannot be read
        // ends the walk: what lies left of it was never vouched for, so the last address that
        // could be read stands for the client.
        let mut client = peer;
        for hop in forwarded_chain(headers).into_iter().rev() {
            let Some(ip) = hop else { break };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The middleware: puts [`ClientIp`] on the request, before authentication and rate limits.
pub async fn resolve(
    State(trusted): State<Arc<TrustedProxies>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let ip = trusted.client(peer.ip(), req.headers());
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// The addresses the proxies reported, client-most first; None for an entry that is not an
/// address (`unknown`, an obfuscated name, garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff = headers.get_all("x-forwarded-for");
    if xff.iter().next().is_some() {
        return xff
            .iter()
            .flat_map(|v| match v.to_str() {
                Ok(s) => s.split(',').map(parse_node).collect::<Vec<_>>(),
                Err(_) => vec![None],
            })
            .collect();
    }
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(s) => split_unquoted(s, ',')
                .into_iter()
                .map(forwarded_for)
                .collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The `for=` node of one RFC 7239 forwarded-element (`for=192.0.2.60;proto=http;by=...`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    split_unquoted(element, ';').into_iter().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(&unquote(value.trim())))?
    })
}

/// Split on `sep` outside double quotes (a quoted value may hold `,` or `;`).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(s.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}

/// A quoted-string's content (`"[2001:db8::1]:80"`), or the token as it is.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An address with an optional port: `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:443` (RFC 7239 also allows an obfuscated `_port`).
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Some(rest) = node.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let ip: Ipv6Addr = inner.parse().ok()?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return port_ok.then_some(IpAddr::V6(ip));
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    let (host, port) = node.rsplit_once(':')?;
    let ip: Ipv4Addr = host.parse().ok()?;
    is_port(port).then_some(IpAddr::V4(ip))
}

fn is_port(p: &str) -> bool {
    let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok();
    let obfuscated = p.len() > 1
        && p.starts_with('_')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    digits || obfuscated
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        h
    }

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    #[test]
    fn nodes() {
        assert_eq!(parse_node(" 192.0.2.1 "), Some(ip("192.0.2.1")));
        assert_eq!(parse_node("192.0.2.1:8080"), Some(ip("192.0.2.1")));
        assert_eq!(parse_node("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("192.0.2.1:_abc"), Some(ip("192.0.2.1")));
        for bad in [
            "",
            "unknown",
            "_hidden",
            "example.com",
            "192.0.2.1:",
            "192.0.2.1:http",
            "192.0.2.1:123456",
            "192.0.2.1:65536",
            "192.0.2.256",
            "[2001:db8::1",
            "[2001:db8::1]443",
            "[192.0.2.1]",
            "2001:db8::1:99999",
            "fe80::1%eth0",
            "1.2.3.4, 5.6.7.8",
        ] {
            assert_eq!(parse_node(bad), None, "{bad}");
        }
    }

    #[test]
    fn x_forwarded_for_entries_in_order_across_header_lines() {
        let h = headers(&[
            ("x-forwarded-for", b"203.0.113.9, 198.51.100.2:4711"),
            ("x-forwarded-for", b"[2001:db8::5]:80,garbage"),
        ]);
        assert_eq!(
            forwarded_chain(&h),
            [
                Some(ip("203.0.113.9")),
                Some(ip("198.51.100.2")),
                Some(ip("2001:db8::5")),
                None
            ]
        );
        assert_eq!(
            forwarded_chain(&headers(&[("x-forwarded-for", b"\xff")])),
            [None]
        );
        assert!(forwarded_chain(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn forwarded_for_with_quotes_brackets_and_ports() {
        let h = headers(&[(
            "forwarded",
            br#"for=192.0.2.43;proto=https, For="[2001:db8:cafe::17]:4711";by=10.0.0.1, proto=http;for="198.51.100.7", for=unknown, for="_hidden""#,
        )]);
        assert_eq!(
            forwarded_chain(&h),
            [
                Some(ip("192.0.2.43")),
                Some(ip("2001:db8:cafe::17")),
                Some(ip("198.51.100.7")),
                None,
                None
            ]
        );
        // A quoted value may hold the separators.
        let h = headers(&[("forwarded", br#"for="192.0.2.1";by="a,b;c", for=192.0.2.2"#)]);
        assert_eq!(
            forwarded_chain(&h),
            [Some(ip("192.0.2.1")), Some(ip("192.0.2.2"))]
        );
        // An element without for= says nothing about the client.
        let h = headers(&[("forwarded", b"proto=https;by=10.0.0.1")]);
        assert_eq!(forwarded_chain(&h), [None]);
        // Garbage of every kind reads as "no address", never as a panic.
        for junk in [
            &b"for="[..],
            b"for=\"",
            b"for=\"[::1]",
            b";;;,,,",
            b"for=\"\\\"",
            b"=====",
            b"for=[::1]:99999",
        ] {
            let chain = forwarded_chain(&headers(&[("forwarded", junk)]));
            assert!(chain.iter().all(Option::is_none), "{junk:?}: {chain:?}");
        }
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_send() {
        let h = headers(&[
            ("x-forwarded-for", b"192.0.2.7"),
            ("forwarded", b"for=192.0.2.8"),
        ]);
        let none = trusted(&[]);
        assert_eq!(none.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
        let other = trusted(&["10.0.0.0/8"]);
        assert_eq!(other.client(ip("203.0.113.1"), &h), ip("203.0.113.1"));
        // An IPv4 peer on an IPv6 socket is still that IPv4 address.
        assert_eq!(none.client(ip("::ffff:203.0.113.1"), &h), ip("203.0.113.1"));
    }

    #[test]
    fn trusted_peers_name_the_right_most_untrusted_address() {
        let proxies = trusted(&["10.0.0.0/8", "127.0.0.1/32"]);
        let client =
            |xff: &[u8]| proxies.client(ip("10.0.0.1"), &headers(&[("x-forwarded-for", xff)]));
        // The client made up the first entry; the proxies appended the rest.
        assert_eq!(client(b"192.0.2.7, 203.0.113.5"), ip("203.0.113.5"));
        assert_eq!(
            client(b"192.0.2.7, 203.0.113.5, 10.1.1.1"),
            ip("203.0.113.5")
        );
        assert_eq!(client(b"::ffff:203.0.113.5"), ip("203.0.113.5"));
        // Only proxies all the way: the farthest one we can read.
        assert_eq!(client(b"10.9.9.9, 10.1.1.1"), ip("10.9.9.9"));
        // Unreadable entries stop the walk at the last readable address.
        assert_eq!(client(b"203.0.113.5, unknown, 10.1.1.1"), ip("10.1.1.1"));
        assert_eq!(client(b"garbage"), ip("10.0.0.1"));
        // No header: the proxy itself.
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_is_used_only_without_x_forwarded_for() {
        let proxies = trusted(&["127.0.0.1/32"]);
        let fwd = headers(&[("forwarded", br#"for="[2001:db8::9]:1234""#)]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &fwd), ip("2001:db8::9"));
        let both = headers(&[
            ("forwarded", b"for=192.0.2.7"),
            ("x-forwarded-for", b"203.0.113.5"),
        ]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &both), ip("203.0.113.5"));
    }
}
