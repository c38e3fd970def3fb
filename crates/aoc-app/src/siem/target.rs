//! What a SIEM target is, and how the SIEM_* / SPLUNK_HEC_* / SYSLOG_* settings become targets.
//! Every destination passes the egress guard here: a refused one stops start-up with the
//! setting's name, rather than events silently going nowhere.

use std::path::PathBuf;

use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::config::SiemSettings;
use crate::egress::{DomainPattern, EgressPolicy, parse_domain_list};

/// A setting the guard or the parser refused: (variable, reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct TargetError {
    pub var: &'static str,
    pub message: String,
}

fn refused(var: &'static str, message: impl Into<String>) -> TargetError {
    TargetError {
        var,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Webhook,
    SplunkHec,
    Syslog,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::SplunkHec => "splunk_hec",
            Self::Syslog => "syslog",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// One JSON array per batch.
    JsonArray,
    /// One event per line.
    Ndjson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogPayload {
    Json,
    Cef,
}

#[derive(Debug, Clone)]
pub struct SyslogEndpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
    pub payload: SyslogPayload,
}

/// How one target is reached.
#[derive(Debug, Clone)]
pub enum Destination {
    Webhook {
        url: Url,
        format: WebhookFormat,
        /// Secret header (name, value), e.g. Authorization.
        auth: Option<(HeaderName, SecretHeader)>,
    },
    SplunkHec {
        url: Url,
        token: SecretString,
        index: Option<String>,
        sourcetype: String,
    },
    Syslog(SyslogEndpoint),
}

/// A header value that never shows in Debug output.
#[derive(Clone)]
pub struct SecretHeader(pub HeaderValue);

impl std::fmt::Debug for SecretHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    /// `webhook`, `splunk` or `syslog`; the consumer cursor is `siem:<name>`.
    pub name: String,
    pub kind: TargetKind,
    pub destination: Destination,
}

impl Target {
    /// The host to resolve at start-up (and, for syslog, at every connect).
    pub fn host(&self) -> Option<&str> {
        match &self.destination {
            Destination::Webhook { url, .. } | Destination::SplunkHec { url, .. } => url.host_str(),
            Destination::Syslog(s) => Some(&s.host),
        }
    }

    /// The setting that names this target, for error messages.
    pub fn setting(&self) -> &'static str {
        match self.kind {
            TargetKind::Webhook => "SIEM_WEBHOOK_URL",
            TargetKind::SplunkHec => "SPLUNK_HEC_URL",
            TargetKind::Syslog => "SYSLOG_URL",
        }
    }
}

/// The targets the settings name (none while SIEM_ENABLED is off), each checked by `egress`.
pub fn targets_from_settings(
    s: &SiemSettings,
    egress: &EgressPolicy,
) -> Result<Vec<Target>, TargetError> {
    let configured =
        s.webhook_url.is_some() || s.splunk_hec_url.is_some() || s.syslog_url.is_some();
    if !s.enabled {
        if configured {
            tracing::warn!("SIEM targets are set but SIEM_ENABLED is off: nothing is forwarded");
        }
        return Ok(Vec::new());
    }
    if !configured {
        return Err(refused(
            "SIEM_ENABLED",
            "no target is set (SIEM_WEBHOOK_URL, SPLUNK_HEC_URL or SYSLOG_URL)",
        ));
    }
    let domains =
        parse_domain_list(&s.allowed_domains).map_err(|e| refused("SIEM_ALLOWED_DOMAINS", e))?;
    let mut targets = Vec::new();
    if let Some(url) = &s.webhook_url {
        targets.push(webhook(s, url, egress, &domains)?);
    }
    if let (Some(url), Some(token)) = (&s.splunk_hec_url, &s.splunk_hec_token) {
        targets.push(splunk(s, url, token, egress, &domains)?);
    }
    if let Some(url) = &s.syslog_url {
        targets.push(syslog(s, url, egress, &domains)?);
    }
    Ok(targets)
}

fn webhook(
    s: &SiemSettings,
    url: &SecretString,
    egress: &EgressPolicy,
    domains: &[DomainPattern],
) -> Result<Target, TargetError> {
    let url = egress
        .check_url(url.expose_secret(), domains)
        .map_err(|e| refused("SIEM_WEBHOOK_URL", e.to_string()))?;
    let format = if s.webhook_format == "ndjson" {
        WebhookFormat::Ndjson
    } else {
        WebhookFormat::JsonArray
    };
    let auth = s
        .webhook_auth_header
        .as_ref()
        .map(|h| parse_header(h.expose_secret()))
        .transpose()?;
    Ok(Target {
        name: "webhook".into(),
        kind: TargetKind::Webhook,
        destination: Destination::Webhook { url, format, auth },
    })
}

/// `Name: value`; the value is never echoed (it is the secret).
fn parse_header(line: &str) -> Result<(HeaderName, SecretHeader), TargetError> {
    const VAR: &str = "SIEM_WEBHOOK_AUTH_HEADER";
    let (name, value) = line.split_once(':').ok_or_else(|| {
        refused(
            VAR,
            "expected `Name: value`, e.g. `Authorization: Bearer x`",
        )
    })?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| refused(VAR, format!("'{}' is not a header name", name.trim())))?;
    let mut value = HeaderValue::from_str(value.trim())
        .map_err(|_| refused(VAR, "the value holds characters a header cannot carry"))?;
    value.set_sensitive(true);
    Ok((name, SecretHeader(value)))
}

fn splunk(
    s: &SiemSettings,
    url: &str,
    token: &SecretString,
    egress: &EgressPolicy,
    domains: &[DomainPattern],
) -> Result<Target, TargetError> {
    let mut url = egress
        .check_url(url, domains)
        .map_err(|e| refused("SPLUNK_HEC_URL", e.to_string()))?;
    // A base URL gets the event endpoint; a full one is kept as written.
    if url.path().trim_end_matches('/').is_empty() {
        url.set_path("/services/collector/event");
    }
    if HeaderValue::from_str(&format!("Splunk {}", token.expose_secret())).is_err() {
        return Err(refused(
            "SPLUNK_HEC_TOKEN",
            "holds characters a header cannot carry",
        ));
    }
    Ok(Target {
        name: "splunk".into(),
        kind: TargetKind::SplunkHec,
        destination: Destination::SplunkHec {
            url,
            token: token.clone(),
            index: s.splunk_hec_index.clone(),
            sourcetype: s.splunk_hec_sourcetype.clone(),
        },
    })
}

/// `tcp://host:port` or `tls://host:port`. Plain TCP is to syslog what http is to a webhook:
/// allowed only to hosts EGRESS_ALLOW_PRIVATE opens, so the guard checks it as such.
fn syslog(
    s: &SiemSettings,
    raw: &str,
    egress: &EgressPolicy,
    domains: &[DomainPattern],
) -> Result<Target, TargetError> {
    const VAR: &str = "SYSLOG_URL";
    let parsed = Url::parse(raw.trim())
        .map_err(|_| refused(VAR, "expected tcp://host:port or tls://host:port"))?;
    let (tls, as_http) = match parsed.scheme() {
        "tls" => (true, "https"),
        "tcp" => (false, "http"),
        other => {
            return Err(refused(
                VAR,
                format!("scheme '{other}': expected tcp://host:port or tls://host:port"),
            ));
        }
    };
    let port = parsed.port().ok_or_else(|| {
        refused(
            VAR,
            "the port is required (e.g. tls://siem.example.com:6514)",
        )
    })?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| refused(VAR, "no host"))?;
    let checked = egress
        .check_url(&format!("{as_http}://{host}:{port}/"), domains)
        .map_err(|e| {
            let reason = e.to_string().replace("https", "tls").replace("http", "tcp");
            refused(VAR, reason)
        })?;
    let host = checked
        .host_str()
        .unwrap_or(host)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let payload = if s.syslog_format == "cef" {
        SyslogPayload::Cef
    } else {
        SyslogPayload::Json
    };
    let ca_file = match &s.syslog_ca_file {
        None => None,
        Some(_) if !tls => {
            return Err(refused("SYSLOG_CA_FILE", "only used with tls://"));
        }
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(refused(
                    "SYSLOG_CA_FILE",
                    format!("{} is not a readable file", path.display()),
                ));
            }
            Some(path)
        }
    };
    Ok(Target {
        name: "syslog".into(),
        kind: TargetKind::Syslog,
        destination: Destination::Syslog(SyslogEndpoint {
            host,
            port,
            tls,
            ca_file,
            payload,
        }),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use std::collections::HashMap;

    use crate::config::Settings;
    use crate::egress::parse_allow_private;

    fn targets(pairs: &[(&str, &str)], allow: &str) -> Result<Vec<Target>, TargetError> {
        let mut map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("SIEM_ENABLED".into(), "true".into());
        let settings = Settings::from_map(&map).unwrap();
        let egress = EgressPolicy::new(parse_allow_private(allow).unwrap());
        targets_from_settings(&settings.siem, &egress)
    }

    fn refusal(pairs: &[(&str, &str)], allow: &str) -> TargetError {
        targets(pairs, allow).unwrap_err()
    }

    #[test]
    fn each_target_is_built_and_a_base_hec_url_gets_the_event_path() {
        let t = targets(
            &[
                ("SIEM_WEBHOOK_URL", "https://siem.example.com/in"),
                ("SIEM_WEBHOOK_FORMAT", "ndjson"),
                ("SIEM_WEBHOOK_AUTH_HEADER", "Authorization: Bearer s3cret"),
                ("SPLUNK_HEC_URL", "https://splunk.example.com:8088"),
                ("SPLUNK_HEC_TOKEN", "tok"),
                ("SYSLOG_URL", "tls://qradar.example.com:6514"),
                ("SYSLOG_FORMAT", "cef"),
            ],
            "",
        )
        .unwrap();
        let names: Vec<_> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["webhook", "splunk", "syslog"]);
        let Destination::SplunkHec {
            url, sourcetype, ..
        } = &t[1].destination
        else {
            panic!()
        };
        assert_eq!(
            url.as_str(),
            "https://splunk.example.com:8088/services/collector/event"
        );
        assert_eq!(sourcetype, "aoc:event");
        let Destination::Syslog(s) = &t[2].destination else {
            panic!()
        };
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("qradar.example.com", 6514, true)
        );
        assert_eq!(s.payload, SyslogPayload::Cef);
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn refusals_name_the_setting() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            (
                &[("SIEM_WEBHOOK_URL", "http://siem.example.com/in")],
                "",
                "SIEM_WEBHOOK_URL",
            ),
            (
                &[("SIEM_WEBHOOK_URL", "https://10.0.0.5/in")],
                "",
                "SIEM_WEBHOOK_URL",
            ),
            (
                &[
                    ("SIEM_WEBHOOK_URL", "https://evil.example.org/in"),
                    ("SIEM_ALLOWED_DOMAINS", "*.example.com"),
                ],
                "",
                "SIEM_WEBHOOK_URL",
            ),
            (
                &[
                    ("SPLUNK_HEC_URL", "http://splunk.example.com"),
                    ("SPLUNK_HEC_TOKEN", "t"),
                ],
                "",
                "SPLUNK_HEC_URL",
            ),
            (
                &[("SYSLOG_URL", "tcp://siem.example.com:514")],
                "",
                "SYSLOG_URL",
            ),
            (&[("SYSLOG_URL", "tls://127.0.0.1:6514")], "", "SYSLOG_URL"),
            (
                &[("SYSLOG_URL", "udp://siem.example.com:514")],
                "",
                "SYSLOG_URL",
            ),
            (
                &[("SYSLOG_URL", "tls://siem.example.com")],
                "",
                "SYSLOG_URL",
            ),
            (
                &[
                    ("SIEM_WEBHOOK_AUTH_HEADER", "no colon"),
                    ("SIEM_WEBHOOK_URL", "https://a.example.com/"),
                ],
                "",
                "SIEM_WEBHOOK_AUTH_HEADER",
            ),
            (&[], "", "SIEM_ENABLED"),
        ];
        for (pairs, allow, var) in cases {
            assert_eq!(refusal(pairs, allow).var, *var, "{pairs:?}");
        }
    }

    #[test]
    fn private_receivers_need_the_opt_in_and_then_may_use_plain_transport() {
        let pairs = [
            ("SIEM_WEBHOOK_URL", "http://127.0.0.1:9000/in"),
            ("SYSLOG_URL", "tcp://127.0.0.1:6514"),
        ];
        assert!(targets(&pairs, "").is_err());
        let t = targets(&pairs, "127.0.0.1").unwrap();
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn nothing_is_forwarded_while_disabled() {
        let map: HashMap<String, String> =
            HashMap::from([("SIEM_WEBHOOK_URL".into(), "http://10.0.0.1/".into())]);
        let settings = Settings::from_map(&map).unwrap();
        let egress = EgressPolicy::new(parse_allow_private("").unwrap());
        assert!(
            targets_from_settings(&settings.siem, &egress)
                .unwrap()
                .is_empty()
        );
    }
}
