//! One id per request, so the log lines a request caused can be told from the others and
//! matched with what the client (or the proxy in front) saw: the id is in the `request` span
//! that wraps the whole handling, and in the `X-Request-Id` response header of every answer.
//!
//! A proxy in TRUSTED_PROXIES may name the id (it then matches the proxy's own log); anyone
//! else could use the header to forge or garble log lines, so their id is replaced.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::client_ip::TrustedProxies;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a proxy: room for any UUID, trace or ULID format, no room for a
/// payload.
pub const MAX_LEN: usize = 128;

/// An id a proxy may hand us: 1..=128 visible ASCII characters (no spaces, no control
/// characters, nothing a log reader could take for a field separator or a new line).
pub fn acceptable(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

/// A fresh random id (UUID v4, hyphenated).
pub fn generate() -> HeaderValue {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The id of a request from `peer` carrying `sent` as its X-Request-Id.
fn choose(
    trusted: &TrustedProxies,
    peer: Option<SocketAddr>,
    sent: Option<&HeaderValue>,
) -> HeaderValue {
    let from_proxy = peer.is_some_and(|p| trusted.trusts(p.ip().to_canonical()));
    match sent {
        Some(id) if from_proxy && acceptable(id.as_bytes()) => id.clone(),
        _ => generate(),
    }
}

/// The middleware: outermost, so the span covers every other layer (authentication, rate
/// limits, errors) and every answer carries the header.
pub async fn assign(
    State(trusted): State<Arc<TrustedProxies>>,
    req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let id = choose(&trusted, peer, req.headers().get(&X_REQUEST_ID));
    // Only the path: a query string may hold a validation token or search terms. Neither the
    // id nor a path has spaces or quotes, so they go unquoted (`id=abc-123`), easy to grep for.
    // Error level, so the span is there whatever level AOC_LOG lets through.
    let span = tracing::error_span!(
        "request",
        id = %id.to_str().unwrap_or_default(),
        method = %req.method(),
        path = %req.uri().path(),
    );
    let mut res = next.run(req).instrument(span).await;
    res.headers_mut().insert(X_REQUEST_ID.clone(), id);
    res
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn acceptable_ids() {
        for good in [
            &b"abc-123"[..],
            b"x",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"{weird}:but/visible=ok",
            &[b'a'; MAX_LEN],
        ] {
            assert!(acceptable(good), "{good:?}");
        }
        for bad in [
            &b""[..],
            &[b'a'; MAX_LEN + 1],
            b"with space",
            b"tab\there",
            b"new\nline",
            b"esc\x1b[31m",
            b"del\x7f",
            "caf\u{e9}".as_bytes(),
            b"nul\0",
        ] {
            assert!(!acceptable(bad), "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_fresh_uuids() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(acceptable(a.as_bytes()));
        assert!(uuid::Uuid::parse_str(a.to_str().unwrap()).is_ok());
    }

    #[test]
    fn only_a_trusted_proxy_names_the_id() {
        let sent = HeaderValue::from_static("abc-123");
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            choose(&trusted, peer("10.1.2.3:5000"), Some(&sent)),
            "abc-123"
        );
        // An IPv4 proxy on an IPv6 socket is still that proxy.
        assert_eq!(
            choose(&trusted, peer("[::ffff:10.1.2.3]:5000"), Some(&sent)),
            "abc-123"
        );
        assert_ne!(
            choose(&trusted, peer("192.0.2.1:5000"), Some(&sent)),
            "abc-123"
        );
        assert_ne!(
            choose(&proxies(&[]), peer("10.1.2.3:5000"), Some(&sent)),
            "abc-123"
        );
        assert_ne!(choose(&trusted, None, Some(&sent)), "abc-123");
        // A proxy's unusable id is replaced, not refused.
        let long = HeaderValue::from_str(&"a".repeat(MAX_LEN + 1)).unwrap();
        let fresh = choose(&trusted, peer("10.1.2.3:5000"), Some(&long));
        assert!(uuid::Uuid::parse_str(fresh.to_str().unwrap()).is_ok());
        let fresh = choose(&trusted, peer("10.1.2.3:5000"), None);
        assert!(uuid::Uuid::parse_str(fresh.to_str().unwrap()).is_ok());
    }
}
