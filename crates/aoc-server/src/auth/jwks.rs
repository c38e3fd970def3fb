//! The signing keys of the identity provider, found by OpenID discovery and cached.
//!
//! Keys are kept for an hour. A token whose `kid` is not in the cache triggers one refetch (the
//! provider may have rotated its keys), but such forced refetches are spaced out so a stream of
//! made-up `kid`s cannot turn the server into a load generator against the provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;

/// How long fetched keys are trusted before a scheduled refresh.
pub const KEY_TTL: Duration = Duration::from_secs(3600);
/// Minimum spacing of refetches caused by an unknown `kid`.
pub const FORCED_REFETCH_INTERVAL: Duration = Duration::from_secs(300);
/// After a failed fetch, requests do not wait on the provider again for this long.
const FAILURE_BACKOFF: Duration = Duration::from_secs(10);
/// Discovery documents and key sets are small; anything bigger is not what we asked for.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot reach the identity provider: {0}")]
    Http(String),
    #[error("the identity provider answered {0}")]
    Status(u16),
    #[error("the identity provider sent an unreadable document: {0}")]
    Document(String),
}

/// What a key lookup found.
pub enum KeyLookup {
    Found(Arc<DecodingKey>),
    /// No key with this id, even after a refetch (or a refetch was not allowed yet).
    Unknown,
    /// No keys at all: the provider has never been reached.
    Unavailable,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
    issuer: Option<String>,
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<serde_json::Value>,
}

struct Loaded {
    keys: HashMap<String, Arc<DecodingKey>>,
    /// The `issuer` the discovery document declares (Entra: with the tenant's GUID).
    issuer: Option<String>,
    fetched_at: Instant,
}

pub struct JwksCache {
    http: reqwest::Client,
    discovery_url: String,
    loaded: RwLock<Option<Loaded>>,
    /// One fetch at a time; waiters re-check the cache after it.
    fetching: tokio::sync::Mutex<()>,
    last_forced: Mutex<Option<Instant>>,
    forced_interval: Duration,
    last_failure: Mutex<Option<Instant>>,
}

impl JwksCache {
    pub fn new(discovery_url: String) -> Self {
        Self::with_forced_interval(discovery_url, FORCED_REFETCH_INTERVAL)
    }

    pub fn with_forced_interval(discovery_url: String, forced_interval: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap_or_default();
        Self {
            http,
            discovery_url,
            loaded: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
            last_forced: Mutex::new(None),
            forced_interval,
            last_failure: Mutex::new(None),
        }
    }

    /// The issuer named by the discovery document, once it has been fetched.
    pub fn discovered_issuer(&self) -> Option<String> {
        self.loaded
            .read()
            .ok()
            .and_then(|l| l.as_ref().and_then(|l| l.issuer.clone()))
    }

    pub async fn key(&self, kid: &str) -> KeyLookup {
        let (found, fresh, _) = self.peek(kid);
        if fresh {
            return match found {
                Some(k) => KeyLookup::Found(k),
                None => self.forced(kid).await,
            };
        }
        // Never loaded, or older than the TTL. When the provider cannot be reached, keep using
        // the keys we had rather than lock everyone out.
        self.refresh(self.fetched_at()).await;
        match self.peek(kid) {
            (Some(k), _, _) => KeyLookup::Found(k),
            (None, _, true) => KeyLookup::Unknown,
            (None, _, false) if self.fetched_at().is_some() => KeyLookup::Unknown,
            (None, _, false) => KeyLookup::Unavailable,
        }
    }

    async fn forced(&self, kid: &str) -> KeyLookup {
        let allowed = match self.last_forced.lock() {
            Ok(mut last) => {
                let now = Instant::now();
                if last.is_some_and(|t| now.duration_since(t) < self.forced_interval) {
                    false
                } else {
                    *last = Some(now);
                    true
                }
            }
            Err(_) => false,
        };
        if !allowed {
            return KeyLookup::Unknown;
        }
        tracing::info!("token signed with an unknown key id: refetching the provider's keys");
        let before = self.fetched_at();
        self.refresh(before).await;
        match self.peek(kid).0 {
            Some(k) => KeyLookup::Found(k),
            None => KeyLookup::Unknown,
        }
    }

    fn fetched_at(&self) -> Option<Instant> {
        self.loaded
            .read()
            .ok()
            .and_then(|l| l.as_ref().map(|l| l.fetched_at))
    }

    /// (key, cache fresh, cache holds any key)
    fn peek(&self, kid: &str) -> (Option<Arc<DecodingKey>>, bool, bool) {
        let Ok(guard) = self.loaded.read() else {
            return (None, false, false);
        };
        match guard.as_ref() {
            None => (None, false, false),
            Some(l) => (
                l.keys.get(kid).cloned(),
                l.fetched_at.elapsed() < KEY_TTL,
                !l.keys.is_empty(),
            ),
        }
    }

    /// Fetch unless another task already did while we waited (`seen` is the fetch time we
    /// last observed; a newer one means the work is done).
    async fn refresh(&self, seen: Option<Instant>) {
        let _guard = self.fetching.lock().await;
        let someone_else_fetched = match (seen, self.fetched_at()) {
            (Some(a), Some(b)) => b > a,
            (None, Some(_)) => true,
            _ => false,
        };
        let failed_recently = self
            .last_failure
            .lock()
            .map(|t| t.is_some_and(|t| t.elapsed() < FAILURE_BACKOFF))
            .unwrap_or(false);
        if someone_else_fetched || failed_recently {
            return;
        }
        match self.fetch().await {
            Ok(loaded) => {
                tracing::debug!(keys = loaded.keys.len(), "identity provider keys loaded");
                if let Ok(mut slot) = self.loaded.write() {
                    *slot = Some(loaded);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, url = %self.discovery_url, "cannot load the identity provider's keys");
                if let Ok(mut t) = self.last_failure.lock() {
                    *t = Some(Instant::now());
                }
            }
        }
    }

    async fn fetch(&self) -> Result<Loaded, JwksError> {
        let discovery: Discovery = self.get_json(&self.discovery_url).await?;
        let raw: RawKeySet = self.get_json(&discovery.jwks_uri).await?;
        Ok(Loaded {
            keys: usable_keys(&raw.keys),
            issuer: discovery.issuer,
            fetched_at: Instant::now(),
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, JwksError> {
        let mut res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| JwksError::Http(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(JwksError::Status(res.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| JwksError::Http(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(JwksError::Document("too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| JwksError::Document(e.to_string()))
    }
}

/// RSA signing keys with an id, for RS256 (or no stated algorithm). Anything else in the set
/// (encryption keys, other key types, broken entries) is skipped, not fatal.
fn usable_keys(raw: &[serde_json::Value]) -> HashMap<String, Arc<DecodingKey>> {
    let mut keys = HashMap::new();
    for value in raw {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value.clone()) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
            continue;
        }
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        if matches!(jwk.common.key_algorithm, Some(a) if a != KeyAlgorithm::RS256) {
            continue;
        }
        if let Ok(key) = DecodingKey::from_jwk(&jwk) {
            keys.insert(kid, Arc::new(key));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    #[test]
    fn only_rsa_signing_keys_for_rs256_are_kept() {
        let raw = vec![
            json!({"kty": "RSA", "kid": "good", "use": "sig", "n": N, "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "no-use", "n": N, "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "enc", "use": "enc", "n": N, "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "ps", "alg": "PS256", "n": N, "e": "AQAB"}),
            json!({"kty": "RSA", "n": N, "e": "AQAB"}),
            json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
            json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
            json!({"kid": "junk"}),
            json!("not even an object"),
        ];
        let mut kept: Vec<String> = usable_keys(&raw).into_keys().collect();
        kept.sort();
        assert_eq!(kept, vec!["good", "no-use"]);
    }

    #[tokio::test]
    async fn unreachable_provider_means_unavailable_not_a_panic() {
        let cache = JwksCache::new("http://127.0.0.1:9/.well-known/openid-configuration".into());
        assert!(matches!(cache.key("any").await, KeyLookup::Unavailable));
        assert!(cache.discovered_issuer().is_none());
    }
}
