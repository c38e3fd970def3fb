//! The one guard for every outbound request the service makes to a destination an operator
//! configures (alert webhooks, SIEM forwarding, an LLM endpoint): without it, a URL setting is
//! a way to make the server talk to its own network (SSRF).
//!
//! Two checks, because one is not enough:
//! - [`EgressPolicy::check_url`] at configuration time: https only, no credentials in the URL,
//!   the host within the use's domain allowlist, and no literal address inside a private range.
//! - [`EgressPolicy::client`] at connect time: a resolver that refuses a name resolving to a
//!   private address, so a public name re-pointed at 127.0.0.1 (DNS rebinding) gets nowhere.
//!   Redirects are not followed (a hop would escape the configuration-time check) and proxies
//!   are not used (the resolver would then only see the proxy's name).
//!
//! `EGRESS_ALLOW_PRIVATE` opens private destinations on purpose (an on-premises SIEM, a local
//! test receiver); plain http is accepted only for those.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// How long a connection may take to open, and a whole request to finish.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Addresses where clouds serve instance credentials. A CIDR in `EGRESS_ALLOW_PRIVATE` does not
/// open them: only the address itself, listed on its own.
const METADATA_ADDRS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
];

/// The private destinations `EGRESS_ALLOW_PRIVATE` opens: addresses and ranges, and host names
/// (whatever those resolve to is allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowPrivate {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

impl AllowPrivate {
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.hosts.is_empty()
    }

    fn allows_host_name(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.hosts.contains(&host)
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        if METADATA_ADDRS.contains(&ip) {
            return self
                .nets
                .iter()
                .any(|n| n.prefix_len() == n.max_prefix_len() && n.addr() == ip);
        }
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Parse `EGRESS_ALLOW_PRIVATE`: a comma list of IP addresses, CIDRs and host names, e.g.
/// `127.0.0.1,10.0.0.0/8,siem.corp.local`. Empty means nothing private is allowed.
pub fn parse_allow_private(value: &str) -> Result<AllowPrivate, String> {
    let mut allow = AllowPrivate::default();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Ok(net) = item.parse::<IpNet>() {
            allow.nets.push(net.trunc());
        } else if let Ok(ip) = item.trim_matches(['[', ']']).parse::<IpAddr>() {
            allow.nets.push(IpNet::from(canonical_ip(ip)));
        } else if item.contains('/') {
            return Err(format!(
                "EGRESS_ALLOW_PRIVATE: {item:?} is not a valid CIDR (expected e.g. 10.0.0.0/8)"
            ));
        } else {
            let host = parse_host_name(item).map_err(|e| format!("EGRESS_ALLOW_PRIVATE: {e}"))?;
            allow.hosts.push(host);
        }
    }
    Ok(allow)
}

/// One entry of a domain allowlist: `example.com` is that host only, `*.example.com` any of its
/// subdomains (not `example.com` itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainPattern {
    Exact(String),
    Subdomains(String),
}

impl DomainPattern {
    pub fn matches(&self, host: &str) -> bool {
        let host = normalize_host(host);
        match self {
            Self::Exact(domain) => host == *domain,
            Self::Subdomains(domain) => host
                .strip_suffix(domain.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(domain) => f.write_str(domain),
            Self::Subdomains(domain) => write!(f, "*.{domain}"),
        }
    }
}

/// Parse a domain allowlist (e.g. `ALERT_ALLOWED_DOMAINS`): a comma list of `example.com` and
/// `*.example.com` entries. Empty means any public host.
pub fn parse_domain_list(value: &str) -> Result<Vec<DomainPattern>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| match item.strip_prefix("*.") {
            Some(rest) => parse_host_name(rest).map(DomainPattern::Subdomains),
            None if item.contains('*') => Err(format!(
                "{item:?}: a wildcard is only allowed as a leading \"*.\" (e.g. *.example.com)"
            )),
            None => parse_host_name(item).map(DomainPattern::Exact),
        })
        .collect()
}

/// Lower case, without a trailing dot: how names are compared.
fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn parse_host_name(item: &str) -> Result<String, String> {
    let host = normalize_host(item);
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if valid {
        Ok(host)
    } else {
        Err(format!("{item:?} is not a valid host name"))
    }
}

/// Why a destination was refused. Messages name the scheme, host and port only: the rest of a
/// webhook URL (path, query, userinfo) is often its secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("not a valid URL: {0}")]
    InvalidUrl(String),
    #[error("{url}: only https is allowed (plain http only for hosts in EGRESS_ALLOW_PRIVATE)")]
    Scheme { url: String },
    #[error("{url}: credentials in the URL are not allowed")]
    Userinfo { url: String },
    #[error("{url}: the URL has no host")]
    NoHost { url: String },
    #[error("{url}: host {host} is not in the allowed domains ({allowed})")]
    DomainNotAllowed {
        url: String,
        host: String,
        allowed: String,
    },
    #[error(
        "{host}: {addr} is a private, loopback, link-local or metadata address; list it in EGRESS_ALLOW_PRIVATE to allow it"
    )]
    PrivateAddress { host: String, addr: IpAddr },
    #[error("{host}: cannot resolve: {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// `scheme://host[:port]`: what may be logged or shown of a destination URL.
pub fn redacted(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        (None, _) => format!("{}:", url.scheme()),
    }
}

/// What outbound requests may reach. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    allow: Arc<AllowPrivate>,
}

impl EgressPolicy {
    pub fn new(allow: AllowPrivate) -> Self {
        Self {
            allow: Arc::new(allow),
        }
    }

    pub fn allow_private(&self) -> &AllowPrivate {
        &self.allow
    }

    /// Whether connecting to `ip` is fine: a public address, or one EGRESS_ALLOW_PRIVATE opens.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.allow.allows_ip(ip) || (is_public(ip) && !METADATA_ADDRS.contains(&canonical_ip(ip)))
    }

    /// Check a configured destination (see the module doc); `allowed_domains` empty = any host.
    /// Host names are only resolved at connect time, by [`EgressPolicy::client`].
    pub fn check_url(
        &self,
        url: &str,
        allowed_domains: &[DomainPattern],
    ) -> Result<Url, EgressError> {
        let url = Url::parse(url.trim()).map_err(|e| EgressError::InvalidUrl(e.to_string()))?;
        let shown = redacted(&url);
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EgressError::Userinfo { url: shown });
        }
        let host = url
            .host()
            .ok_or_else(|| EgressError::NoHost { url: shown.clone() })?;
        let ip = match host {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        };
        let host_name = url.host_str().unwrap_or_default().to_string();
        let private_allowed = match ip {
            Some(ip) => self.allow.allows_ip(ip),
            None => self.allow.allows_host_name(&host_name),
        };
        match url.scheme() {
            "https" => {}
            "http" if private_allowed => {}
            _ => return Err(EgressError::Scheme { url: shown }),
        }
        if !allowed_domains.is_empty() && !allowed_domains.iter().any(|d| d.matches(&host_name)) {
            return Err(EgressError::DomainNotAllowed {
                url: shown,
                host: host_name,
                allowed: allowed_domains
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let Some(ip) = ip
            && !self.allows_ip(ip)
        {
            return Err(EgressError::PrivateAddress {
                host: host_name,
                addr: ip,
            });
        }
        Ok(url)
    }

    /// A client builder enforcing this policy when connecting: the guarded resolver, no
    /// redirects, no proxy, timeouts. Callers may add headers and the like.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(GuardedResolver {
                policy: self.clone(),
            })
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
    }

    pub fn client(&self) -> Result<reqwest::Client, EgressError> {
        self.client_builder()
            .build()
            .map_err(|e| EgressError::Client(e.to_string()))
    }

    /// Resolve `host` and refuse it when any address is one this policy does not allow (a name
    /// listed in EGRESS_ALLOW_PRIVATE may resolve to anything).
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, EgressError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| EgressError::Resolve {
                host: host.to_string(),
                reason: e.to_string(),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(EgressError::Resolve {
                host: host.to_string(),
                reason: "no addresses".into(),
            });
        }
        if !self.allow.allows_host_name(host) {
            // Any bad address refuses the name: the connector may try them in any order.
            if let Some(bad) = addrs.iter().find(|a| !self.allows_ip(a.ip())) {
                return Err(EgressError::PrivateAddress {
                    host: host.to_string(),
                    addr: bad.ip(),
                });
            }
        }
        Ok(addrs)
    }
}

/// The connect-time half of the guard, plugged into reqwest.
struct GuardedResolver {
    policy: EgressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs = policy.resolve(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is (what the socket really reaches).
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is an ordinary internet address (not private, loopback, link-local,
/// unspecified, multicast, CGNAT, reserved or documentation space).
pub fn is_public(ip: IpAddr) -> bool {
    match canonical_ip(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT, 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240; // reserved
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // Addresses that carry an IPv4 address the packet ends up at: judge that one.
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if seg[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return is_public_v4(embedded_v4(seg[6], seg[7])); // IPv4-compatible (deprecated)
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b {
        return is_public_v4(embedded_v4(seg[6], seg[7])); // NAT64
    }
    if seg[0] == 0x2002 {
        return is_public_v4(embedded_v4(seg[1], seg[2])); // 6to4
    }
    let special = ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local() // fc00::/7, which holds fd00:ec2::254
        || ip.is_unicast_link_local()
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x2001 && seg[1] == 0); // Teredo
    !special
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn policy(allow: &str) -> EgressPolicy {
        EgressPolicy::new(parse_allow_private(allow).unwrap())
    }

    fn domains(list: &str) -> Vec<DomainPattern> {
        parse_domain_list(list).unwrap()
    }

    #[test]
    fn http_is_refused_for_public_hosts() {
        let err = policy("")
            .check_url("http://hooks.example.com/x", &[])
            .unwrap_err();
        assert!(matches!(err, EgressError::Scheme { .. }), "{err}");
        assert!(
            policy("")
                .check_url("ftp://hooks.example.com/x", &[])
                .is_err()
        );
    }

    #[test]
    fn https_public_name_is_accepted() {
        let url = policy("")
            .check_url("https://hooks.slack.com/services/T/B/secret", &[])
            .unwrap();
        assert_eq!(url.host_str(), Some("hooks.slack.com"));
        assert!(policy("").check_url("https://8.8.8.8/hook", &[]).is_ok());
    }

    #[test]
    fn private_literals_are_refused() {
        let p = policy("");
        for url in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.10.1/",
            "https://0.0.0.0/",
            "https://100.64.0.1/",
            "https://224.0.0.1/",
            "https://[::1]/",
            "https://[::]/",
            "https://[fe80::1]/",
            "https://[fc00::1]/",
            "https://[ff02::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[64:ff9b::a00:1]/",
            "https://127.1/",
            "https://2130706433/",
        ] {
            let err = p.check_url(url, &[]).unwrap_err();
            assert!(
                matches!(err, EgressError::PrivateAddress { .. }),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn metadata_addresses_are_refused_even_inside_an_allowed_range() {
        let p = policy("169.254.0.0/16,fd00::/8");
        for url in ["https://169.254.169.254/latest", "https://[fd00:ec2::254]/"] {
            let err = p.check_url(url, &[]).unwrap_err();
            assert!(
                matches!(err, EgressError::PrivateAddress { .. }),
                "{url}: {err}"
            );
        }
        // The range is open otherwise, and the address itself can be listed on purpose.
        assert!(p.check_url("https://169.254.1.1/", &[]).is_ok());
        assert!(
            policy("169.254.169.254")
                .check_url("http://169.254.169.254/", &[])
                .is_ok()
        );
        assert!(
            policy("")
                .check_url("https://[::ffff:169.254.169.254]/", &[])
                .is_err()
        );
    }

    #[test]
    fn a_listed_address_is_allowed_over_http_too() {
        let p = policy("127.0.0.1");
        assert!(p.check_url("http://127.0.0.1:8080/hook", &[]).is_ok());
        assert!(p.check_url("https://127.0.0.1/hook", &[]).is_ok());
        assert!(p.check_url("http://127.0.0.2/hook", &[]).is_err());
        // Listing a private address does not make http fine elsewhere.
        assert!(p.check_url("http://example.com/", &[]).is_err());
    }

    #[test]
    fn a_listed_range_allows_its_addresses() {
        let p = policy(" 10.0.0.0/8 , fd12::/16");
        assert!(p.check_url("http://10.20.30.40/", &[]).is_ok());
        assert!(p.check_url("https://[fd12::5]/", &[]).is_ok());
        assert!(p.check_url("https://11.0.0.1/", &[]).is_ok(), "public");
        assert!(p.check_url("https://192.168.0.1/", &[]).is_err());
    }

    #[test]
    fn a_listed_host_name_allows_http() {
        let p = policy("siem.corp.local");
        assert!(p.check_url("http://SIEM.corp.local:514/in", &[]).is_ok());
        assert!(p.check_url("http://other.corp.local/in", &[]).is_err());
    }

    #[test]
    fn domain_allowlist_exact_wildcard_and_outside() {
        let p = policy("");
        let allowed = domains("*.webhook.office.com, hooks.slack.com");
        assert!(
            p.check_url("https://tenant.webhook.office.com/x", &allowed)
                .is_ok()
        );
        assert!(
            p.check_url("https://a.b.webhook.office.com/x", &allowed)
                .is_ok()
        );
        assert!(p.check_url("https://hooks.slack.com/x", &allowed).is_ok());
        for outside in [
            "https://webhook.office.com/x",
            "https://evilwebhook.office.com/x",
            "https://webhook.office.com.evil.com/x",
            "https://sub.hooks.slack.com/x",
            "https://example.com/x",
        ] {
            let err = p.check_url(outside, &allowed).unwrap_err();
            assert!(
                matches!(err, EgressError::DomainNotAllowed { .. }),
                "{outside}: {err}"
            );
        }
    }

    #[test]
    fn userinfo_is_refused_and_messages_hide_secrets() {
        let err = policy("")
            .check_url("https://user:hunter2@example.com/p?sig=topsecret", &[])
            .unwrap_err();
        assert!(matches!(err, EgressError::Userinfo { .. }));
        let allowed = domains("example.org");
        let err = policy("")
            .check_url(
                "https://example.com/services/T0/B0/pathsecret?sig=topsecret",
                &allowed,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("example.com"), "{err}");
        for secret in ["hunter2", "topsecret", "pathsecret"] {
            assert!(!err.contains(secret), "{err}");
        }
    }

    #[test]
    fn bad_settings_are_reported() {
        assert!(
            parse_allow_private("10.0.0.0/33")
                .unwrap_err()
                .contains("CIDR")
        );
        assert!(parse_allow_private("bad host!").is_err());
        assert!(
            parse_domain_list("ex*ample.com")
                .unwrap_err()
                .contains("wildcard")
        );
        assert!(parse_domain_list("*.").is_err());
        assert_eq!(parse_domain_list(" , ").unwrap(), vec![]);
        assert!(parse_allow_private("").unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
        let err = policy("").resolve("localhost").await.unwrap_err();
        assert!(matches!(err, EgressError::PrivateAddress { .. }), "{err}");

        // Through reqwest: the guarded resolver is what refuses (check_url let the name pass).
        let url = policy("").check_url("https://localhost:9/", &[]).unwrap();
        let err = policy("")
            .client()
            .unwrap()
            .get(url)
            .send()
            .await
            .unwrap_err();
        let mut chain = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(&err);
        while let Some(e) = source {
            chain.push_str(&e.to_string());
            chain.push('\n');
            source = e.source();
        }
        assert!(chain.contains("EGRESS_ALLOW_PRIVATE"), "{chain}");
    }

    #[tokio::test]
    async fn a_listed_name_resolves_to_whatever_it_points_at() {
        let addrs = policy("localhost").resolve("localhost").await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
        // An allowed range covers names resolving into it.
        assert!(policy("127.0.0.0/8,::1").resolve("localhost").await.is_ok());
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "100.128.0.1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "2002:7f00:1::",
            "2001:db8::1",
            "198.18.0.1",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
