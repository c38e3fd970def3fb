//! Connection settings for one tenant, and the base URLs of Microsoft's clouds.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::M365Error;

/// The content types AOC subscribes to unless told otherwise. `Audit.AzureActiveDirectory` is left
/// out on purpose: directory changes come from Graph `directoryAudits` with richer records.
pub const DEFAULT_CONTENT_TYPES: [&str; 3] =
    ["Audit.Exchange", "Audit.SharePoint", "Audit.General"];

/// A Microsoft cloud: its sign-in, Graph and Management Activity API hosts.
///
/// The hosts come from Microsoft's national-cloud and Management Activity API pages. 21Vianet
/// (China) is not listed because the Management Activity API host there is not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// Commercial (worldwide) Microsoft 365.
    Global,
    /// US Government Community Cloud: commercial sign-in and Graph, its own Management API host.
    UsGovGcc,
    /// US Government GCC High.
    UsGovGccHigh,
    /// US Government DoD.
    UsGovDod,
}

impl Cloud {
    /// `(login, graph, manage)` base URLs.
    pub fn base_urls(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Cloud::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://manage.office.com",
            ),
            Cloud::UsGovGcc => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://manage-gcc.office.com",
            ),
            Cloud::UsGovGccHigh => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://manage.office365.us",
            ),
            Cloud::UsGovDod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
                "https://manage.protection.apps.mil",
            ),
        }
    }
}

/// Everything the clients need to talk to one tenant. Build it with [`M365Config::new`] and adjust
/// the public fields; [`crate::M365Client::new`] validates it.
///
/// `Debug` is safe to log: the client secret prints as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct M365Config {
    /// Directory (tenant) ID, a GUID.
    pub tenant_id: String,
    /// Application (client) ID of the app registration.
    pub client_id: String,
    pub client_secret: SecretString,
    /// Default `https://login.microsoftonline.com`.
    pub login_base_url: String,
    /// Default `https://graph.microsoft.com`. Its origin + `/.default` is the Graph token scope.
    pub graph_base_url: String,
    /// Default `https://manage.office.com`. Its origin + `/.default` is the Management API scope.
    pub manage_base_url: String,
    /// Management Activity API content types to subscribe to and list.
    pub unified_content_types: Vec<String>,
    /// `PublisherIdentifier` sent on every Management API call. `None` = the tenant ID, which is
    /// what Microsoft asks of an organisation reading its own tenant.
    pub publisher_identifier: Option<String>,
    /// Timeout of each single HTTP request (connect + headers + body).
    pub request_timeout: Duration,
    /// Attempts per request, the first included (throttling and transient failures retry).
    pub max_attempts: u32,
    /// First backoff step when no Retry-After is given; doubles per attempt, with jitter.
    pub retry_base_delay: Duration,
    /// Cap on any single wait, Retry-After included.
    pub retry_max_delay: Duration,
    /// Content blobs downloaded at once by `fetch_blobs`.
    pub blob_concurrency: usize,
    /// Minimum spacing between Graph audit-log requests. The identity reports API allows about
    /// five requests per ten seconds per app and tenant, so the default is two seconds.
    pub graph_min_interval: Duration,
}

impl M365Config {
    /// A configuration for the commercial cloud with the default limits.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        let (login, graph, manage) = Cloud::Global.base_urls();
        M365Config {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret,
            login_base_url: login.to_owned(),
            graph_base_url: graph.to_owned(),
            manage_base_url: manage.to_owned(),
            unified_content_types: DEFAULT_CONTENT_TYPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            publisher_identifier: None,
            request_timeout: Duration::from_secs(60),
            max_attempts: 5,
            retry_base_delay: Duration::from_secs(1),
            retry_max_delay: Duration::from_secs(120),
            blob_concurrency: 4,
            graph_min_interval: Duration::from_secs(2),
        }
    }

    /// Points the three base URLs at a national cloud.
    pub fn with_cloud(mut self, cloud: Cloud) -> Self {
        let (login, graph, manage) = cloud.base_urls();
        self.login_base_url = login.to_owned();
        self.graph_base_url = graph.to_owned();
        self.manage_base_url = manage.to_owned();
        self
    }

    /// Points all three base URLs at one server (a simulator or a test double).
    pub fn with_single_base_url(mut self, base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        self.login_base_url = base.clone();
        self.graph_base_url = base.clone();
        self.manage_base_url = base;
        self
    }

    pub(crate) fn publisher_identifier(&self) -> &str {
        self.publisher_identifier
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or(&self.tenant_id)
    }

    pub(crate) fn validate(&self) -> Result<Endpoints, M365Error> {
        let tenant = self.tenant_id.trim();
        if tenant.is_empty()
            || tenant.contains("..")
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        {
            return Err(M365Error::Config(
                "tenant_id must be a GUID or a domain name".into(),
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(M365Error::Config("client_id is empty".into()));
        }
        if self.max_attempts == 0 {
            return Err(M365Error::Config("max_attempts must be at least 1".into()));
        }
        if self.blob_concurrency == 0 {
            return Err(M365Error::Config(
                "blob_concurrency must be at least 1".into(),
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(M365Error::Config("request_timeout must be positive".into()));
        }
        Ok(Endpoints {
            login: base_url("login_base_url", &self.login_base_url)?,
            graph: base_url("graph_base_url", &self.graph_base_url)?,
            manage: base_url("manage_base_url", &self.manage_base_url)?,
        })
    }
}

/// Validated base URLs, without a trailing slash.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub login: String,
    pub graph: String,
    pub manage: String,
}

fn base_url(name: &str, raw: &str) -> Result<String, M365Error> {
    let parsed = Url::parse(raw.trim())
        .map_err(|e| M365Error::Config(format!("{name} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(M365Error::Config(format!("{name} must be an http(s) URL")));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(M365Error::Config(format!(
            "{name} must not carry a query or fragment"
        )));
    }
    Ok(raw.trim().trim_end_matches('/').to_owned())
}

/// `scheme://host[:port]` of a URL, the part that names the resource in a `.default` scope and the
/// part a followed link must share with its base.
pub(crate) fn origin_of(raw: &str) -> Option<String> {
    let url = Url::parse(raw).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{}://{}:{}", url.scheme(), host, port),
        None => format!("{}://{}", url.scheme(), host),
    })
}

/// The client-credentials scope for a resource: its origin followed by `/.default`.
pub(crate) fn default_scope(base: &str) -> Option<String> {
    origin_of(base).map(|o| format!("{o}/.default"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn cfg() -> M365Config {
        M365Config::new(
            "11111111-2222-3333-4444-555555555555",
            "client",
            SecretString::from("very-secret-value"),
        )
    }

    #[test]
    fn debug_hides_the_secret() {
        let text = format!("{:?}", cfg());
        assert!(!text.contains("very-secret-value"), "{text}");
        assert!(text.contains("tenant_id"));
    }

    #[test]
    fn defaults_follow_the_commercial_cloud() {
        let c = cfg();
        assert_eq!(c.login_base_url, "https://login.microsoftonline.com");
        assert_eq!(c.graph_base_url, "https://graph.microsoft.com");
        assert_eq!(c.manage_base_url, "https://manage.office.com");
        assert_eq!(
            c.unified_content_types,
            vec!["Audit.Exchange", "Audit.SharePoint", "Audit.General"]
        );
        assert_eq!(c.publisher_identifier(), c.tenant_id);
        c.validate().unwrap();
    }

    #[test]
    fn scopes_use_the_origin_so_national_clouds_work() {
        let c = cfg().with_cloud(Cloud::UsGovGccHigh);
        assert_eq!(
            default_scope(&c.graph_base_url).unwrap(),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(
            default_scope(&c.manage_base_url).unwrap(),
            "https://manage.office365.us/.default"
        );
        assert_eq!(
            default_scope("http://127.0.0.1:8080/graph/").unwrap(),
            "http://127.0.0.1:8080/.default"
        );
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let mut c = cfg();
        c.tenant_id = "../etc".into();
        assert!(c.validate().is_err());
        let mut c = cfg();
        c.graph_base_url = "ftp://x".into();
        assert!(c.validate().is_err());
        let mut c = cfg();
        c.max_attempts = 0;
        assert!(c.validate().is_err());
        let c = cfg().with_single_base_url("http://127.0.0.1:9/");
        let e = c.validate().unwrap();
        assert_eq!(e.graph, "http://127.0.0.1:9");
    }
}
