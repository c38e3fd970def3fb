//! The client handle: configuration, token provider, transport and Graph pacing, shared by every
//! clone.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::RequestBuilder;
use secrecy::ExposeSecret;

use crate::config::{Endpoints, M365Config, default_scope, origin_of};
use crate::error::{M365Error, Service};
use crate::http::{Answer, Pacer, Transport};
use crate::retry::RetryPolicy;
use crate::token::{Clock, SystemClock, TokenProvider};

/// Client for one tenant's Graph audit logs and Management Activity API. Cheap to clone; clones
/// share the token cache and the Graph pacing.
#[derive(Clone, Debug)]
pub struct M365Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: M365Config,
    pub endpoints: Endpoints,
    pub transport: Transport,
    pub tokens: TokenProvider,
    pub graph_scope: String,
    pub manage_scope: String,
    pub graph_origin: String,
    pub manage_origin: String,
    pub graph_pacer: Pacer,
}

/// Which API a call goes to: decides the token scope and the name in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Graph,
    Management,
}

impl M365Client {
    /// Validates `config` and builds the HTTP client. Makes no request.
    pub fn new(config: M365Config) -> Result<Self, M365Error> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    pub(crate) fn with_clock(config: M365Config, clock: Arc<dyn Clock>) -> Result<Self, M365Error> {
        let endpoints = config.validate()?;
        let policy = RetryPolicy {
            max_attempts: config.max_attempts,
            base_delay: config.retry_base_delay,
            max_delay: config.retry_max_delay,
        };
        let transport = Transport::new(config.request_timeout, policy)?;
        let bad = |name: &str| M365Error::Config(format!("{name} has no usable origin"));
        let graph_scope = default_scope(&endpoints.graph).ok_or_else(|| bad("graph_base_url"))?;
        let manage_scope =
            default_scope(&endpoints.manage).ok_or_else(|| bad("manage_base_url"))?;
        let graph_origin = origin_of(&endpoints.graph).ok_or_else(|| bad("graph_base_url"))?;
        let manage_origin = origin_of(&endpoints.manage).ok_or_else(|| bad("manage_base_url"))?;
        let tokens = TokenProvider::new(
            transport.clone(),
            &endpoints.login,
            config.tenant_id.trim(),
            config.client_id.trim(),
            config.client_secret.clone(),
            clock,
        );
        let graph_pacer = Pacer::new(config.graph_min_interval);
        Ok(M365Client {
            inner: Arc::new(Inner {
                config,
                endpoints,
                transport,
                tokens,
                graph_scope,
                manage_scope,
                graph_origin,
                manage_origin,
                graph_pacer,
            }),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &M365Config {
        &self.inner.config
    }

    /// Sends an authenticated request, retrying per policy; a 401 drops the cached token and the
    /// request is sent once more with a fresh one.
    pub(crate) async fn call(
        &self,
        api: Api,
        paced: bool,
        build: &(dyn Fn() -> RequestBuilder + Send + Sync),
    ) -> Result<Answer, M365Error> {
        let (service, scope) = match api {
            Api::Graph => (Service::Graph, self.inner.graph_scope.as_str()),
            Api::Management => (Service::Management, self.inner.manage_scope.as_str()),
        };
        let pacer = paced.then_some(&self.inner.graph_pacer);
        let mut token = self.inner.tokens.token(scope).await?;
        let mut refreshed = false;
        loop {
            let current = token.clone();
            let authed = move || build().bearer_auth(current.expose_secret());
            match self.inner.transport.send(service, pacer, &authed).await {
                Err(e) if e.status() == Some(401) && !refreshed => {
                    refreshed = true;
                    self.inner.tokens.invalidate(scope, &token);
                    token = self.inner.tokens.token(scope).await?;
                }
                other => return other,
            }
        }
    }

    /// Refuses to send a token to a host other than the API's own: paging links and content
    /// URIs come from response bodies.
    pub(crate) fn check_origin(&self, api: Api, link: &str) -> Result<(), M365Error> {
        let (service, expected) = match api {
            Api::Graph => (Service::Graph, &self.inner.graph_origin),
            Api::Management => (Service::Management, &self.inner.manage_origin),
        };
        match origin_of(link) {
            Some(origin) if origin.eq_ignore_ascii_case(expected) => Ok(()),
            _ => Err(M365Error::Malformed {
                service,
                message: format!("link {link:?} is not on {expected}; not following it"),
            }),
        }
    }
}

/// `2026-11-02T08:00:00Z`, with microseconds only when the instant has a fraction: Graph's
/// OData parser accepts at most seven fractional digits.
pub(crate) fn graph_time(t: DateTime<Utc>) -> String {
    use chrono::{SecondsFormat, Timelike};
    let format = if t.nanosecond() == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    t.to_rfc3339_opts(format, true)
}
