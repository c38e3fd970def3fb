//! Client-credentials access tokens from the Microsoft identity platform, cached per scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::{M365Error, Service};
use crate::http::Transport;

/// A token is refreshed this long before it expires, or 10 % of its lifetime if that is less, so
/// a request never leaves with a token that dies in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Source of "now" for expiry decisions; tests move it by hand.
pub(crate) trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
}

#[derive(Debug, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

pub(crate) fn refresh_margin(lifetime: Duration) -> Duration {
    REFRESH_MARGIN.min(lifetime / 10)
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

/// The pure part: which token is still good for which scope at a given instant.
#[derive(Default)]
pub(crate) struct TokenCache {
    entries: HashMap<String, Cached>,
}

impl TokenCache {
    pub fn get(&self, scope: &str, now: Instant) -> Option<SecretString> {
        self.entries
            .get(scope)
            .filter(|c| now < c.refresh_at)
            .map(|c| c.token.clone())
    }

    pub fn store(&mut self, scope: &str, token: SecretString, lifetime: Duration, now: Instant) {
        let refresh_at = now + lifetime.saturating_sub(refresh_margin(lifetime));
        self.entries
            .insert(scope.to_owned(), Cached { token, refresh_at });
    }

    /// Drops the cached token for `scope` if it is still `rejected`. When several requests get a
    /// 401 with the same token, only the first one's invalidation removes anything, so the
    /// token is fetched once, not once per request.
    pub fn invalidate(&mut self, scope: &str, rejected: &SecretString) -> bool {
        let same = self
            .entries
            .get(scope)
            .is_some_and(|c| c.token.expose_secret() == rejected.expose_secret());
        if same {
            self.entries.remove(scope);
        }
        same
    }
}

/// Fetches and caches tokens; concurrent callers of one scope share a single fetch.
pub(crate) struct TokenProvider {
    transport: Transport,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    clock: Arc<dyn Clock>,
    cache: Mutex<TokenCache>,
    fetch_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    pub fn new(
        transport: Transport,
        login_base: &str,
        tenant_id: &str,
        client_id: &str,
        client_secret: SecretString,
        clock: Arc<dyn Clock>,
    ) -> Self {
        TokenProvider {
            transport,
            token_url: format!("{login_base}/{tenant_id}/oauth2/v2.0/token"),
            client_id: client_id.to_owned(),
            client_secret,
            clock,
            cache: Mutex::new(TokenCache::default()),
            fetch_locks: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, scope: &str) -> Option<SecretString> {
        let now = self.clock.now();
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(scope, now)
    }

    /// A token for `scope` (`https://graph.microsoft.com/.default`, ...), from the cache when it
    /// is not near expiry.
    pub async fn token(&self, scope: &str) -> Result<SecretString, M365Error> {
        if let Some(t) = self.cached(scope) {
            return Ok(t);
        }
        let lock = {
            let mut locks = self
                .fetch_locks
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            locks.entry(scope.to_owned()).or_default().clone()
        };
        let _guard = lock.lock().await;
        // Whoever held the lock before us may have fetched it already.
        if let Some(t) = self.cached(scope) {
            return Ok(t);
        }
        let (token, lifetime) = self.fetch(scope).await?;
        let now = self.clock.now();
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .store(scope, token.clone(), lifetime, now);
        tracing::info!(
            scope,
            lifetime_s = lifetime.as_secs(),
            "acquired access token"
        );
        Ok(token)
    }

    /// Forgets `rejected` after an API refused it with 401.
    pub fn invalidate(&self, scope: &str, rejected: &SecretString) {
        let dropped = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .invalidate(scope, rejected);
        if dropped {
            tracing::info!(scope, "access token rejected with 401; fetching a new one");
        }
    }

    async fn fetch(&self, scope: &str) -> Result<(SecretString, Duration), M365Error> {
        let build = || {
            self.transport.http.post(&self.token_url).form(&[
                ("client_id", self.client_id.as_str()),
                ("scope", scope),
                ("client_secret", self.client_secret.expose_secret()),
                ("grant_type", "client_credentials"),
            ])
        };
        let answer = self.transport.send(Service::Login, None, &build).await?;
        parse_token_response(&answer.json(Service::Login)?)
    }
}

/// `{"token_type":"Bearer","expires_in":3599,"access_token":"..."}`; `expires_in` arrives as a
/// number from the v2.0 endpoint and as a string from older ones, so both are read.
pub(crate) fn parse_token_response(json: &Value) -> Result<(SecretString, Duration), M365Error> {
    let malformed = |message: &str| M365Error::Malformed {
        service: Service::Login,
        message: message.to_owned(),
    };
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed("token response has no access_token"))?;
    if let Some(kind) = json.get("token_type").and_then(Value::as_str)
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(malformed("token response is not a Bearer token"));
    }
    let expires_in = match json.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| malformed("token response has no usable expires_in"))?;
    Ok((
        SecretString::from(token.to_owned()),
        Duration::from_secs(expires_in),
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    /// A clock that only moves when told to.
    pub(crate) struct ManualClock {
        base: Instant,
        offset: Mutex<Duration>,
    }

    impl ManualClock {
        pub fn new() -> Self {
            ManualClock {
                base: Instant::now(),
                offset: Mutex::new(Duration::ZERO),
            }
        }
        pub fn advance(&self, by: Duration) {
            *self.offset.lock().unwrap() += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            self.base + *self.offset.lock().unwrap()
        }
    }

    const GRAPH: &str = "https://graph.microsoft.com/.default";
    const MANAGE: &str = "https://manage.office.com/.default";

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn a_token_is_reused_until_five_minutes_before_expiry() {
        let clock = ManualClock::new();
        let mut cache = TokenCache::default();
        cache.store(GRAPH, secret("t1"), Duration::from_secs(3599), clock.now());
        assert_eq!(cache.get(GRAPH, clock.now()).unwrap().expose_secret(), "t1");
        clock.advance(Duration::from_secs(3599 - 301));
        assert!(cache.get(GRAPH, clock.now()).is_some());
        clock.advance(Duration::from_secs(2));
        assert!(cache.get(GRAPH, clock.now()).is_none());
    }

    #[test]
    fn short_lived_tokens_refresh_at_ninety_percent() {
        let clock = ManualClock::new();
        let mut cache = TokenCache::default();
        cache.store(GRAPH, secret("t"), Duration::from_secs(600), clock.now());
        clock.advance(Duration::from_secs(539));
        assert!(cache.get(GRAPH, clock.now()).is_some());
        clock.advance(Duration::from_secs(1));
        assert!(cache.get(GRAPH, clock.now()).is_none());
        assert_eq!(refresh_margin(Duration::from_secs(3600)), REFRESH_MARGIN);
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn tokens_are_kept_per_scope() {
        let clock = ManualClock::new();
        let mut cache = TokenCache::default();
        cache.store(GRAPH, secret("g"), Duration::from_secs(3600), clock.now());
        assert!(cache.get(MANAGE, clock.now()).is_none());
        cache.store(MANAGE, secret("m"), Duration::from_secs(3600), clock.now());
        assert_eq!(cache.get(GRAPH, clock.now()).unwrap().expose_secret(), "g");
        assert_eq!(cache.get(MANAGE, clock.now()).unwrap().expose_secret(), "m");
    }

    #[test]
    fn invalidation_drops_only_the_rejected_token() {
        let clock = ManualClock::new();
        let mut cache = TokenCache::default();
        cache.store(GRAPH, secret("old"), Duration::from_secs(3600), clock.now());
        cache.store(MANAGE, secret("m"), Duration::from_secs(3600), clock.now());
        assert!(cache.invalidate(GRAPH, &secret("old")));
        assert!(cache.get(GRAPH, clock.now()).is_none());
        assert!(cache.get(MANAGE, clock.now()).is_some());
        // A second 401 with the same stale token must not throw away the fresh one.
        cache.store(GRAPH, secret("new"), Duration::from_secs(3600), clock.now());
        assert!(!cache.invalidate(GRAPH, &secret("old")));
        assert_eq!(
            cache.get(GRAPH, clock.now()).unwrap().expose_secret(),
            "new"
        );
    }

    #[test]
    fn token_responses_are_validated() {
        let (t, life) = parse_token_response(
            &json!({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"abc"}),
        )
        .unwrap();
        assert_eq!(t.expose_secret(), "abc");
        assert_eq!(life, Duration::from_secs(3599));
        let (_, life) =
            parse_token_response(&json!({"expires_in":"3600","access_token":"abc"})).unwrap();
        assert_eq!(life, Duration::from_secs(3600));
        for bad in [
            json!({"expires_in":3600}),
            json!({"access_token":"", "expires_in":3600}),
            json!({"access_token":"a"}),
            json!({"access_token":"a","expires_in":-1}),
            json!({"access_token":"a","expires_in":3600,"token_type":"pop"}),
            json!([1, 2]),
        ] {
            assert!(parse_token_response(&bad).is_err(), "{bad}");
        }
    }
}
