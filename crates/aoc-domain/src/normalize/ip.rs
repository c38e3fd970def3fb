//! Client addresses as the Management Activity API writes them: bare IPv4/IPv6, but also with a
//! port (`1.2.3.4:5678`), bracketed (`[::1]:443`) or IPv4-mapped (`::ffff:1.2.3.4`).

use std::net::{IpAddr, SocketAddr};

/// The bare address in canonical form (ports and brackets dropped, IPv4-mapped IPv6 shown as
/// IPv4, IPv6 compressed). Text that is no address at all comes back trimmed, unchanged.
pub fn normalize_client_ip(raw: &str) -> String {
    let s = raw.trim();
    if s.eq_ignore_ascii_case("<null>") {
        return String::new();
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return ip.to_canonical().to_string();
    }
    if let Ok(sock) = s.parse::<SocketAddr>() {
        return sock.ip().to_canonical().to_string();
    }
    // `[addr]` without a port, or a bracketed address with a zone or odd port.
    if let Some(inner) = s.strip_prefix('[').and_then(|rest| rest.split(']').next())
        && let Ok(ip) = inner.parse::<IpAddr>()
    {
        return ip.to_canonical().to_string();
    }
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ports_and_brackets() {
        let cases = [
            ("1.2.3.4", "1.2.3.4"),
            (" 1.2.3.4 ", "1.2.3.4"),
            ("1.2.3.4:5678", "1.2.3.4"),
            ("[::1]:443", "::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("::ffff:10.0.0.7", "10.0.0.7"),
            ("[::ffff:10.0.0.7]:50123", "10.0.0.7"),
            ("", ""),
            ("<null>", ""),
            ("NotAvailable", "NotAvailable"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_client_ip(input), want, "{input}");
        }
    }
}
