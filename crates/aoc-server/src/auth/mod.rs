//! Bearer-token authentication for the API (AUTH_ENABLED).
//!
//! Tokens are Entra ID (or another OIDC provider's) access tokens for our API: RS256 only,
//! verified against the provider's published keys, with issuer, audience and lifetime checked.
//! The caller found in the token goes on the request for handlers, privacy gating and rate
//! limits. Failures answer 401/403 with a JSON error and `WWW-Authenticate`, and say nothing
//! more than that: the reason goes to the debug log.

pub mod jwks;
mod token;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use aoc_app::Caller;
use aoc_app::config::AuthSettings;

use crate::client_ip::ClientIp;

pub use token::{TokenError, TokenVerifier};

/// Where Entra ID publishes its OpenID configuration.
pub const ENTRA_LOGIN_BASE: &str = "https://login.microsoftonline.com";

/// The OpenID discovery document to read keys from: an explicit override, else the one of
/// AUTH_ISSUER, else Entra ID's v2.0 document for AUTH_TENANT_ID.
pub fn discovery_url(settings: &AuthSettings, override_url: Option<&str>) -> String {
    if let Some(url) = override_url.map(str::trim).filter(|u| !u.is_empty()) {
        return url.to_string();
    }
    if !settings.issuer.is_empty() {
        return format!(
            "{}/.well-known/openid-configuration",
            settings.issuer.trim_end_matches('/')
        );
    }
    format!(
        "{ENTRA_LOGIN_BASE}/{}/v2.0/.well-known/openid-configuration",
        settings.tenant_id
    )
}

/// The OpenID provider the UI signs in with: AUTH_ISSUER when set (its discovery document is
/// at `{issuer}/.well-known/openid-configuration`), else Entra ID's v2.0 authority of
/// AUTH_TENANT_ID.
pub fn authority(settings: &AuthSettings) -> String {
    if !settings.issuer.is_empty() {
        return settings.issuer.trim_end_matches('/').to_string();
    }
    format!("{ENTRA_LOGIN_BASE}/{}/v2.0", settings.tenant_id)
}

/// What the UI asks for: AUTH_SCOPES (with `openid`, which sign-in needs), else sign-in
/// (`openid profile`) and an access token for this API, whose app registration exposes the
/// conventional delegated scope `access_as_user`.
pub fn ui_scopes(settings: &AuthSettings) -> Vec<String> {
    if settings.scopes.is_empty() {
        return vec![
            "openid".into(),
            "profile".into(),
            format!("api://{}/access_as_user", settings.client_id),
        ];
    }
    let mut scopes = settings.scopes.clone();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    scopes
}

/// Why a request was turned away. The variants map to responses; their detail is for logs.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed Authorization header")]
    Malformed,
    #[error("invalid token: {0}")]
    Invalid(#[from] TokenError),
    #[error("token grants no allowed role or group")]
    Forbidden,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (status, message, challenge) = match self {
            AuthError::Missing => (
                StatusCode::UNAUTHORIZED,
                "authentication required",
                r#"Bearer realm="aoc""#,
            ),
            AuthError::Malformed | AuthError::Invalid(TokenError::Rejected(_)) => (
                StatusCode::UNAUTHORIZED,
                "invalid or expired token",
                r#"Bearer realm="aoc", error="invalid_token""#,
            ),
            AuthError::Invalid(TokenError::KeysUnavailable) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "sign-in is temporarily unavailable",
                r#"Bearer realm="aoc""#,
            ),
            AuthError::Forbidden => (
                StatusCode::FORBIDDEN,
                "access denied",
                r#"Bearer realm="aoc", error="insufficient_scope""#,
            ),
        };
        let mut res = (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

pub struct Auth {
    verifier: TokenVerifier,
    allowed_roles: Vec<String>,
    allowed_groups: Vec<String>,
    /// Graph change notifications cannot carry our token; they are authenticated by their
    /// clientState instead, so the webhook is open only when WEBHOOK_CLIENT_SECRET is set.
    webhook_open: bool,
}

impl Auth {
    pub fn new(settings: &AuthSettings, discovery_url: String, webhook_open: bool) -> Self {
        if settings.allowed_roles.is_empty() && settings.allowed_groups.is_empty() {
            tracing::warn!(
                "AUTH_ENABLED without AUTH_ALLOWED_ROLES or AUTH_ALLOWED_GROUPS: any valid token for this API is let in"
            );
        }
        Self {
            verifier: TokenVerifier::new(settings, discovery_url),
            allowed_roles: settings.allowed_roles.clone(),
            allowed_groups: settings.allowed_groups.clone(),
            webhook_open,
        }
    }

    pub fn with_verifier(
        settings: &AuthSettings,
        verifier: TokenVerifier,
        webhook_open: bool,
    ) -> Self {
        Self {
            verifier,
            allowed_roles: settings.allowed_roles.clone(),
            allowed_groups: settings.allowed_groups.clone(),
            webhook_open,
        }
    }

    /// Does this request need a token? The API does; the UI's files, /health, /metrics (which
    /// has its own address check) and the sign-in configuration the UI reads first do not.
    pub fn protects(&self, method: &Method, path: &str) -> bool {
        let api = path == "/api" || path.starts_with("/api/");
        let mcp = path == "/mcp" || path.starts_with("/mcp/");
        if !(api || mcp) {
            return false;
        }
        if path == "/api/config/auth" && method == Method::GET {
            return false;
        }
        if path == "/api/webhooks/graph" && self.webhook_open {
            return false;
        }
        true
    }

    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        let token = bearer_token(headers)?;
        let caller = self.verifier.verify(token).await?;
        if self.grants_access(&caller) {
            Ok(caller)
        } else {
            Err(AuthError::Forbidden)
        }
    }

    fn grants_access(&self, caller: &Caller) -> bool {
        if self.allowed_roles.is_empty() && self.allowed_groups.is_empty() {
            return true;
        }
        caller.has_any_role(&self.allowed_roles)
            || caller.groups.iter().any(|g| {
                self.allowed_groups
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(g))
            })
    }
}

/// The middleware: validates the token of protected requests and puts the [`Caller`] on them.
pub async fn require_auth(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    // CORS preflights are answered by the CORS layer before they get here.
    if !auth.protects(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    match auth.authenticate(req.headers()).await {
        Ok(mut caller) => {
            caller.ip = req.extensions().get::<ClientIp>().map(|c| c.0);
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => {
            match &e {
                AuthError::Forbidden => {
                    tracing::info!(path = req.uri().path(), "request refused: {e}")
                }
                _ => tracing::debug!(path = req.uri().path(), "request refused: {e}"),
            }
            e.into_response()
        }
    }
}

/// Longest token accepted: Entra tokens with many groups run to a few KB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The token of a single `Authorization: Bearer <token>` header, shaped like a JWS.
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::Missing);
    };
    if values.next().is_some() {
        return Err(AuthError::Malformed);
    }
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    let token = rest.trim_matches(' ');
    let well_formed = !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token.bytes().filter(|b| *b == b'.').count() == 2
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if well_formed {
        Ok(token)
    } else {
        Err(AuthError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_header_shapes() {
        assert!(matches!(
            bearer_token(&headers(&[])),
            Err(AuthError::Missing)
        ));
        assert_eq!(bearer_token(&headers(&[b"Bearer a.b.c"])).unwrap(), "a.b.c");
        assert_eq!(
            bearer_token(&headers(&[b"bearer a-_.b.c"])).unwrap(),
            "a-_.b.c"
        );
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Basic dXNlcjpwdw==",
            b"Bearer a.b",
            b"Bearer a.b.c.d",
            b"Bearer a.b.c extra",
            b"Bearer a.b.c=",
            b"Bearer a.b.\xc3\xa9",
            b"Token a.b.c",
        ] {
            assert!(
                matches!(bearer_token(&headers(&[bad])), Err(AuthError::Malformed)),
                "{bad:?}"
            );
        }
        assert!(matches!(
            bearer_token(&headers(&[b"Bearer a.b.c", b"Bearer a.b.c"])),
            Err(AuthError::Malformed)
        ));
        let long = format!("Bearer a.b.{}", "c".repeat(MAX_TOKEN_LEN));
        assert!(matches!(
            bearer_token(&headers(&[long.as_bytes()])),
            Err(AuthError::Malformed)
        ));
    }

    fn settings(roles: &[&str], groups: &[&str]) -> AuthSettings {
        AuthSettings {
            enabled: true,
            tenant_id: "t".into(),
            client_id: "c".into(),
            issuer: String::new(),
            allowed_roles: roles.iter().map(|s| s.to_string()).collect(),
            allowed_groups: groups.iter().map(|s| s.to_string()).collect(),
            scopes: Vec::new(),
        }
    }

    #[test]
    fn authority_and_ui_scopes() {
        let mut s = settings(&[], &[]);
        assert_eq!(authority(&s), "https://login.microsoftonline.com/t/v2.0");
        assert_eq!(
            ui_scopes(&s),
            ["openid", "profile", "api://c/access_as_user"]
        );
        s.issuer = "http://127.0.0.1:9/t/v2.0/".into();
        assert_eq!(authority(&s), "http://127.0.0.1:9/t/v2.0");
        s.scopes = vec!["api://c/AOC.Read".into()];
        assert_eq!(ui_scopes(&s), ["openid", "api://c/AOC.Read"]);
    }

    #[test]
    fn roles_or_groups_grant_access() {
        let s = settings(&["AOC.Reader"], &["G1"]);
        let auth = Auth::new(&s, "http://127.0.0.1:9/x".into(), false);
        let with = |roles: &[&str], groups: &[&str]| Caller {
            roles: roles.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            ..Caller::anonymous()
        };
        assert!(auth.grants_access(&with(&["aoc.reader"], &[])));
        assert!(auth.grants_access(&with(&[], &["g1"])));
        assert!(!auth.grants_access(&with(&["Other"], &["G2"])));
        assert!(!auth.grants_access(&with(&[], &[])));
        let open = Auth::new(&settings(&[], &[]), "http://127.0.0.1:9/x".into(), false);
        assert!(open.grants_access(&with(&[], &[])));
    }

    #[test]
    fn what_is_protected() {
        let auth = Auth::new(&settings(&[], &[]), "http://127.0.0.1:9/x".into(), true);
        assert!(auth.protects(&Method::GET, "/api/events"));
        assert!(auth.protects(&Method::GET, "/api/nowhere"));
        assert!(auth.protects(&Method::POST, "/mcp"));
        assert!(auth.protects(&Method::GET, "/mcp/sse"));
        assert!(!auth.protects(&Method::GET, "/mcpx"));
        assert!(auth.protects(&Method::POST, "/api/config/auth"));
        assert!(!auth.protects(&Method::GET, "/api/config/auth"));
        assert!(!auth.protects(&Method::POST, "/api/webhooks/graph"));
        assert!(!auth.protects(&Method::GET, "/health"));
        assert!(!auth.protects(&Method::GET, "/index.html"));
        assert!(!auth.protects(&Method::GET, "/apixyz"));
        let closed = Auth::new(&settings(&[], &[]), "http://127.0.0.1:9/x".into(), false);
        assert!(closed.protects(&Method::POST, "/api/webhooks/graph"));
    }

    #[test]
    fn discovery_urls() {
        let mut s = settings(&[], &[]);
        s.tenant_id = "contoso.onmicrosoft.com".into();
        assert_eq!(
            discovery_url(&s, None),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
        );
        s.issuer = "https://idp.example.com/realms/aoc/".into();
        assert_eq!(
            discovery_url(&s, None),
            "https://idp.example.com/realms/aoc/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url(&s, Some("http://127.0.0.1:1/oidc")),
            "http://127.0.0.1:1/oidc"
        );
    }
}
