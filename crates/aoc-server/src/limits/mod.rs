//! Rate limits per category, as the original service had them: running a fetch 10 per hour,
//! writes (tags, comments) 20 per minute, everything else under /api RATE_LIMIT_REQUESTS per
//! RATE_LIMIT_WINDOW_SECONDS (120 per minute). Keyed by the token's subject when the caller
//! signed in, else by the client's address.
//!
//! Counted in-process by default; in Redis when REDIS_URL is set, so replicas share the budget.
//! When Redis cannot answer, requests are refused (429) rather than let through unlimited.

mod memory;
mod redis_store;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use aoc_app::Caller;
use aoc_app::config::RateLimitSettings;

use crate::client_ip::ClientIp;

pub use redis_store::RedisError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Fetch,
    /// Ask and explain (they may call a language model): 30 a minute.
    Ask,
    Write,
    Default,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Fetch => "fetch",
            Category::Ask => "ask",
            Category::Write => "write",
            Category::Default => "default",
        }
    }

    /// Which budget a request spends from; None for requests that are not limited.
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        // MCP posts are reads (tool calls), so they spend from the general budget.
        if path == "/mcp" || path.starts_with("/mcp/") {
            return Some(Category::Default);
        }
        if !path.starts_with("/api/") {
            return None;
        }
        if path == "/api/fetch-audit-logs" {
            return Some(Category::Fetch);
        }
        if *method == Method::POST
            && (path == "/api/ask"
                || (path.starts_with("/api/events/") && path.ends_with("/explain")))
        {
            return Some(Category::Ask);
        }
        // Graph notifications come in bursts from Microsoft's addresses; they only nudge the
        // scheduler, so they spend from the general budget rather than the write one.
        if path == "/api/webhooks/graph" {
            return Some(Category::Default);
        }
        if matches!(
            *method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        ) {
            return Some(Category::Write);
        }
        Some(Category::Default)
    }
}

/// Requests allowed per window, for one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub requests: u32,
    pub window: Duration,
}

impl Quota {
    /// Time between two requests at the sustained rate (at least 1 µs).
    pub fn interval(self) -> Duration {
        (self.window / self.requests.max(1)).max(Duration::from_micros(1))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub fetch: Quota,
    pub ask: Quota,
    pub write: Quota,
    pub default: Quota,
}

impl Quotas {
    pub fn from_settings(s: &RateLimitSettings) -> Self {
        Self {
            fetch: Quota {
                requests: 10,
                window: Duration::from_secs(3600),
            },
            ask: Quota {
                requests: 30,
                window: Duration::from_secs(60),
            },
            write: Quota {
                requests: 20,
                window: Duration::from_secs(60),
            },
            default: Quota {
                requests: s.requests.max(1),
                window: s.window.max(Duration::from_secs(1)),
            },
        }
    }

    pub fn get(&self, c: Category) -> Quota {
        match c {
            Category::Fetch => self.fetch,
            Category::Ask => self.ask,
            Category::Write => self.write,
            Category::Default => self.default,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { retry_after: Duration },
}

/// How long to tell clients to wait when the shared store cannot be asked.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

enum Backend {
    Memory(memory::MemoryLimiter),
    Redis(redis_store::RedisLimiter),
}

pub struct RateLimiter {
    backend: Backend,
}

impl RateLimiter {
    pub fn new(settings: &RateLimitSettings) -> Result<Self, RedisError> {
        let quotas = Quotas::from_settings(settings);
        let backend = match &settings.redis_url {
            Some(url) => Backend::Redis(redis_store::RedisLimiter::new(url.expose(), quotas)?),
            None => Backend::Memory(memory::MemoryLimiter::new(quotas)),
        };
        Ok(Self { backend })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "in-process",
            Backend::Redis(_) => "redis",
        }
    }

    pub async fn check(&self, category: Category, key: &str) -> Decision {
        match &self.backend {
            Backend::Memory(m) => m.check(category, key),
            Backend::Redis(r) => match r.check(category, key).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "rate limit store unreachable: refusing the request");
                    Decision::Deny {
                        retry_after: UNAVAILABLE_RETRY_AFTER,
                    }
                }
            },
        }
    }
}

/// Whose budget a request spends: the signed-in subject, else the client's address (the peer,
/// or the address a trusted proxy forwarded: a header from anyone else changes nothing).
fn client_key(req: &Request) -> String {
    if let Some(subject) = req
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.subject.as_deref())
    {
        return format!("sub:{subject}");
    }
    match req.extensions().get::<ClientIp>() {
        Some(ClientIp(ip)) => format!("ip:{ip}"),
        None => "ip:unknown".to_string(),
    }
}

/// The middleware; runs after authentication so it can key by subject.
pub async fn limit(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    let Some(category) = Category::of(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let key = client_key(&req);
    match limiter.check(category, &key).await {
        Decision::Allow => next.run(req).await,
        Decision::Deny { retry_after } => {
            metrics::counter!(crate::metrics::names::RATE_LIMITED, "category" => category.name())
                .increment(1);
            too_many_requests(retry_after)
        }
    }
}

fn too_many_requests(retry_after: Duration) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({ "error": "too many requests: try again later" })),
    )
        .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    res
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn categories() {
        assert_eq!(
            Category::of(&Method::GET, "/api/fetch-audit-logs"),
            Some(Category::Fetch)
        );
        assert_eq!(
            Category::of(&Method::PATCH, "/api/events/x/tags"),
            Some(Category::Write)
        );
        assert_eq!(
            Category::of(&Method::POST, "/api/events/x/comments"),
            Some(Category::Write)
        );
        assert_eq!(
            Category::of(&Method::POST, "/api/webhooks/graph"),
            Some(Category::Default)
        );
        assert_eq!(
            Category::of(&Method::GET, "/api/events"),
            Some(Category::Default)
        );
        assert_eq!(
            Category::of(&Method::POST, "/mcp/messages/"),
            Some(Category::Default)
        );
        assert_eq!(Category::of(&Method::GET, "/health"), None);
        assert_eq!(Category::of(&Method::GET, "/app.js"), None);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let res = too_many_requests(Duration::from_millis(1500));
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        let res = too_many_requests(Duration::ZERO);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn quotas_from_settings() {
        let s = RateLimitSettings {
            enabled: true,
            requests: 3,
            window: Duration::from_secs(30),
            redis_url: None,
        };
        let q = Quotas::from_settings(&s);
        assert_eq!(
            q.get(Category::Default),
            Quota {
                requests: 3,
                window: Duration::from_secs(30)
            }
        );
        assert_eq!(q.fetch.interval(), Duration::from_secs(360));
        assert_eq!(q.write.interval(), Duration::from_secs(3));
    }
}
