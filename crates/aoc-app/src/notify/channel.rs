//! Channels: where notifications go, and which alerts each one wants.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::egress::{DomainPattern, EgressPolicy};

/// The receiver's message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// The alert as JSON, for any webhook (a SOAR, a ticketing system, a script).
    Generic,
    /// A Microsoft Teams Workflows (or incoming) webhook: a message with an Adaptive Card.
    Teams,
    /// A Slack incoming webhook: text plus blocks.
    Slack,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "generic",
            Self::Teams => "teams",
            Self::Slack => "slack",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Alert severities, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// An alert's severity as stored. One the notifier does not know counts as critical: an
    /// unexpected value should reach every channel rather than none.
    pub fn of_alert(severity: &str) -> Self {
        severity.parse().unwrap_or(Self::Critical)
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            "critical" => Ok(Self::Critical),
            other => Err(format!(
                "{other:?} is not a severity (expected low, medium, high or critical)"
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parse a severity setting (e.g. `ALERT_NOTIFY_MIN_SEVERITY`).
pub fn parse_severity(value: &str) -> Result<Severity, String> {
    value.parse()
}

/// One configured destination. `name` identifies it in the outbox, so renaming a channel
/// leaves what was queued for the old name waiting (and saying why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
    pub url: Url,
    /// Alerts below this severity are not sent here.
    pub min_severity: Severity,
}

impl Channel {
    /// Build a channel from a URL setting, checked by the egress guard.
    pub fn checked(
        policy: &EgressPolicy,
        name: &str,
        kind: ChannelKind,
        url: &str,
        allowed_domains: &[DomainPattern],
        min_severity: Severity,
    ) -> Result<Self, String> {
        let url = policy
            .check_url(url, allowed_domains)
            .map_err(|e| format!("{name} channel: {e}"))?;
        Ok(Self {
            name: name.to_string(),
            kind,
            url,
            min_severity,
        })
    }

    pub fn wants(&self, severity: &str) -> bool {
        Severity::of_alert(severity) >= self.min_severity
    }
}

/// The channels the alert settings describe: `ALERT_WEBHOOK_URL` (channel "webhook", generic),
/// `ALERT_TEAMS_WEBHOOK_URL` ("teams") and `ALERT_SLACK_WEBHOOK_URL` ("slack"), each optional
/// (None or blank = not configured), all checked against `ALERT_ALLOWED_DOMAINS` and sharing
/// `ALERT_NOTIFY_MIN_SEVERITY`.
pub fn channels_from_settings(
    policy: &EgressPolicy,
    webhook_url: Option<&str>,
    teams_url: Option<&str>,
    slack_url: Option<&str>,
    allowed_domains: &[DomainPattern],
    min_severity: Severity,
) -> Result<Vec<Channel>, String> {
    [
        ("webhook", ChannelKind::Generic, webhook_url),
        ("teams", ChannelKind::Teams, teams_url),
        ("slack", ChannelKind::Slack, slack_url),
    ]
    .into_iter()
    .filter_map(|(name, kind, url)| {
        Some((name, kind, url.map(str::trim).filter(|u| !u.is_empty())?))
    })
    .map(|(name, kind, url)| {
        Channel::checked(policy, name, kind, url, allowed_domains, min_severity)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use crate::egress::{parse_allow_private, parse_domain_list};

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Low < Severity::Medium && Severity::High < Severity::Critical);
        assert_eq!(parse_severity(" High ").unwrap(), Severity::High);
        assert!(
            parse_severity("urgent")
                .unwrap_err()
                .contains("low, medium, high or critical")
        );
        assert_eq!(Severity::of_alert("weird"), Severity::Critical);
    }

    #[test]
    fn a_channel_wants_alerts_at_or_above_its_minimum() {
        let policy = EgressPolicy::default();
        let ch = Channel::checked(
            &policy,
            "slack",
            ChannelKind::Slack,
            "https://hooks.slack.com/x",
            &[],
            Severity::High,
        )
        .unwrap();
        assert!(!ch.wants("medium"));
        assert!(ch.wants("high"));
        assert!(ch.wants("critical"));
    }

    #[test]
    fn settings_become_checked_channels() {
        let policy = EgressPolicy::new(parse_allow_private("127.0.0.1").unwrap());
        let domains = parse_domain_list("*.webhook.office.com,hooks.slack.com,127.0.0.1").unwrap();
        let channels = channels_from_settings(
            &policy,
            Some("http://127.0.0.1:9000/hook"),
            Some("https://tenant.webhook.office.com/workflows/x?sig=s"),
            Some("  "),
            &domains,
            Severity::Medium,
        )
        .unwrap();
        let names: Vec<_> = channels.iter().map(|c| (c.name.as_str(), c.kind)).collect();
        assert_eq!(
            names,
            [
                ("webhook", ChannelKind::Generic),
                ("teams", ChannelKind::Teams)
            ]
        );

        let err = channels_from_settings(
            &policy,
            None,
            None,
            Some("https://evil.example/x?token=t"),
            &domains,
            Severity::Low,
        )
        .unwrap_err();
        assert!(
            err.starts_with("slack channel:") && err.contains("evil.example"),
            "{err}"
        );
        assert!(!err.contains("token=t"), "{err}");
    }
}
