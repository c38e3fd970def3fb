//! OpenID Connect endpoints of the simulated tenant (see [`crate::oidc`]: demo only).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde_json::{Value, json};

use super::errors::{PLAIN_JSON, aad_error, json_response};
use super::{login, query_pairs, request_base};
use crate::handle::SimHandle;
use crate::oidc::{DEMO_API_SCOPE, DEMO_APP_CLIENT_ID, DEMO_USERS, DemoUser, demo_user};
use crate::tenant::{DOMAIN, INITIAL_DOMAIN};

/// How long an authorization code may wait to be redeemed (Entra: 10 minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// Codes kept at once; the oldest go first, so a flood of abandoned sign-ins cannot grow memory.
const MAX_PENDING_CODES: usize = 1000;

/// One issued, not yet redeemed authorization code.
struct Pending {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    nonce: Option<String>,
    user: &'static DemoUser,
    issued: Instant,
}

/// Authorization codes waiting for redemption (single use).
#[derive(Default)]
pub(crate) struct Codes(Mutex<HashMap<String, Pending>>);

impl Codes {
    fn insert(&self, code: String, pending: Pending) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, p| p.issued.elapsed() < CODE_LIFETIME);
        if map.len() >= MAX_PENDING_CODES
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, p)| p.issued)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(code, pending);
    }

    fn take(&self, code: &str) -> Option<Pending> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(code)
    }
}

fn known_tenant(handle: &SimHandle, tenant: &str) -> bool {
    [handle.config().tenant_id.as_str(), INITIAL_DOMAIN, DOMAIN]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(tenant))
}

fn known_client(client_id: &str) -> bool {
    client_id.eq_ignore_ascii_case(DEMO_APP_CLIENT_ID)
}

fn unknown_tenant(tenant: &str) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!("Tenant '{tenant}' not found."),
    )
}

/// Discovery documents, keys and token answers are read by single-page apps on other
/// origins; Entra sends `Access-Control-Allow-Origin` on them too.
fn cors(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

pub(crate) async fn openid_configuration(
    State(handle): State<SimHandle>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !known_tenant(&handle, &tenant) {
        return cors(unknown_tenant(&tenant));
    }
    let base = request_base(&handle, &headers);
    let tid = &handle.config().tenant_id;
    let issuer = crate::oidc::issuer(&base, tid);
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "preferred_username", "oid", "tid", "roles", "nonce"],
        "tenant_region_scope": "NA",
    });
    cors(json_response(StatusCode::OK, PLAIN_JSON, &doc))
}

pub(crate) async fn keys(State(handle): State<SimHandle>, Path(tenant): Path<String>) -> Response {
    if !known_tenant(&handle, &tenant) {
        return cors(unknown_tenant(&tenant));
    }
    let Some(signer) = crate::oidc::signer() else {
        return cors(aad_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            "The signing key could not be generated.",
        ));
    };
    cors(json_response(
        StatusCode::OK,
        PLAIN_JSON,
        &json!({ "keys": [signer.jwk()] }),
    ))
}

/// The checked parameters of an authorize request.
struct AuthorizeRequest {
    client_id: String,
    redirect_uri: url::Url,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
}

/// What is wrong with an authorize request: before the redirect URI is trusted, the error is
/// shown on a page; after, it goes back to the app (RFC 6749 §4.1.2.1).
enum AuthorizeError {
    Page(String),
    Redirect(url::Url, Option<String>, &'static str, String),
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn check_authorize(pairs: &[(String, String)]) -> Result<AuthorizeRequest, AuthorizeError> {
    let client_id = param(pairs, "client_id")
        .ok_or_else(|| AuthorizeError::Page("The request has no client_id.".into()))?;
    if !known_client(client_id) {
        return Err(AuthorizeError::Page(format!(
            "AADSTS700016: Application with identifier '{client_id}' was not found in the directory."
        )));
    }
    let redirect = param(pairs, "redirect_uri")
        .ok_or_else(|| AuthorizeError::Page("The request has no redirect_uri.".into()))?;
    let redirect_uri = url::Url::parse(redirect)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none())
        .ok_or_else(|| {
            AuthorizeError::Page(
                "AADSTS50011: The redirect URI must be an absolute http(s) URI without a fragment."
                    .into(),
            )
        })?;
    let state = param(pairs, "state").map(str::to_string);
    let fail = |error: &'static str, description: &str| {
        AuthorizeError::Redirect(
            redirect_uri.clone(),
            state.clone(),
            error,
            description.to_string(),
        )
    };
    if param(pairs, "response_type") != Some("code") {
        return Err(fail(
            "unsupported_response_type",
            "AADSTS700054: Only response_type 'code' is supported.",
        ));
    }
    if let Some(mode) = param(pairs, "response_mode")
        && mode != "query"
    {
        return Err(fail(
            "invalid_request",
            "Only response_mode 'query' is supported.",
        ));
    }
    let Some(code_challenge) = param(pairs, "code_challenge") else {
        return Err(fail(
            "invalid_request",
            "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
        ));
    };
    if param(pairs, "code_challenge_method") != Some("S256") {
        return Err(fail(
            "invalid_request",
            "AADSTS501491: Only the S256 code_challenge_method is accepted.",
        ));
    }
    let challenge_ok = code_challenge.len() == 43
        && code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if !challenge_ok {
        return Err(fail(
            "invalid_request",
            "The code_challenge must be a base64url SHA-256 digest (43 characters).",
        ));
    }
    let scope = param(pairs, "scope").unwrap_or("openid").to_string();
    if !scope.split_whitespace().any(|s| s == "openid") {
        return Err(fail(
            "invalid_scope",
            "AADSTS900144: The 'openid' scope is required.",
        ));
    }
    Ok(AuthorizeRequest {
        client_id: client_id.to_string(),
        redirect_uri,
        scope,
        state,
        nonce: param(pairs, "nonce").map(str::to_string),
        code_challenge: code_challenge.to_string(),
    })
}

fn redirect_to(mut target: url::Url, params: &[(&str, &str)]) -> Response {
    {
        let mut q = target.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(target.as_str()) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn error_response(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(message) => page(
            StatusCode::BAD_REQUEST,
            &format!(
                "<h1>Sign-in error</h1><p class=\"error\">{}</p>",
                escape(&message)
            ),
        ),
        AuthorizeError::Redirect(uri, state, error, description) => {
            let mut params = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = state.as_deref() {
                params.push(("state", s));
            }
            redirect_to(uri, &params)
        }
    }
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the user picker.
pub(crate) async fn authorize_page(
    State(handle): State<SimHandle>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if !known_tenant(&handle, &tenant) {
        return page(
            StatusCode::BAD_REQUEST,
            &format!(
                "<h1>Sign-in error</h1><p class=\"error\">AADSTS90002: Tenant '{}' not found.</p>",
                escape(&tenant)
            ),
        );
    }
    let pairs = query_pairs(query.as_deref());
    if let Err(e) = check_authorize(&pairs) {
        return error_response(e);
    }
    // The form posts the original request back with the chosen user, so nothing is kept
    // server-side until a code is issued.
    let hidden: String = pairs
        .iter()
        .filter(|(k, _)| k != "user")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let buttons: String = DEMO_USERS
        .iter()
        .map(|u| {
            let roles = u.roles_label();
            format!(
                "<button type=\"submit\" name=\"user\" value=\"{key}\" data-user=\"{key}\"><strong>{name}</strong><span>{upn}</span><span>{roles}</span><em>{about}</em></button>",
                key = escape(u.key),
                name = escape(u.name),
                upn = escape(u.username),
                roles = escape(&roles),
                about = escape(u.about),
            )
        })
        .collect();
    page(
        StatusCode::OK,
        &format!(
            "<h1>Sign in to the simulated tenant</h1>\
             <p>Demo users, no passwords: this sign-in page is for demos and tests only.</p>\
             <form method=\"post\">{hidden}{buttons}</form>"
        ),
    )
}

/// `POST /{tenant}/oauth2/v2.0/authorize`: the user was picked; issue a code.
pub(crate) async fn authorize_submit(
    State(handle): State<SimHandle>,
    Extension(codes): Extension<Arc<Codes>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    if !known_tenant(&handle, &tenant) {
        return page(
            StatusCode::BAD_REQUEST,
            "<h1>Sign-in error</h1><p class=\"error\">Unknown tenant.</p>",
        );
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let request = match check_authorize(&pairs) {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let Some(user) = param(&pairs, "user").and_then(demo_user) else {
        return page(
            StatusCode::BAD_REQUEST,
            "<h1>Sign-in error</h1><p class=\"error\">Pick one of the demo users.</p>",
        );
    };
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let code = hex::encode(bytes);
    codes.insert(
        code.clone(),
        Pending {
            client_id: request.client_id,
            redirect_uri: request.redirect_uri.to_string(),
            code_challenge: request.code_challenge,
            scope: request.scope,
            nonce: request.nonce,
            user,
            issued: Instant::now(),
        },
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = request.state.as_deref() {
        params.push(("state", s));
    }
    redirect_to(request.redirect_uri, &params)
}

/// `GET /{tenant}/oauth2/v2.0/logout`: nothing to forget (no session cookie); go back.
pub(crate) async fn logout(RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    match param(&pairs, "post_logout_redirect_uri")
        .and_then(|u| url::Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    {
        Some(target) => redirect_to(target, &[]),
        None => page(
            StatusCode::OK,
            "<h1>Signed out</h1><p>You have signed out of the simulated tenant.</p>",
        ),
    }
}

/// `POST /{tenant}/oauth2/v2.0/token`: the authorization-code grant here, everything else
/// (client credentials) as before.
pub(crate) async fn token(
    State(handle): State<SimHandle>,
    Extension(codes): Extension<Arc<Codes>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    if param(&form, "grant_type") != Some("authorization_code") {
        return login::token(State(handle), Path(tenant), headers, body).await;
    }
    if !known_tenant(&handle, &tenant) {
        return cors(unknown_tenant(&tenant));
    }
    cors(redeem(&handle, &codes, &form, &headers))
}

fn missing(name: &str) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

fn invalid_grant(code: u32, description: &str) -> Response {
    aad_error(StatusCode::BAD_REQUEST, "invalid_grant", code, description)
}

fn redeem(
    handle: &SimHandle,
    codes: &Codes,
    form: &[(String, String)],
    headers: &HeaderMap,
) -> Response {
    for name in ["code", "client_id", "redirect_uri", "code_verifier"] {
        if param(form, name).is_none() {
            return missing(name);
        }
    }
    let (Some(code), Some(client_id), Some(redirect_uri), Some(verifier)) = (
        param(form, "code"),
        param(form, "client_id"),
        param(form, "redirect_uri"),
        param(form, "code_verifier"),
    ) else {
        return missing("code");
    };
    // A code is gone once presented, whether the redemption succeeds or not (RFC 6749 §4.1.2).
    let Some(pending) = codes.take(code) else {
        return invalid_grant(
            70000,
            "AADSTS70000: The provided authorization code is invalid or has already been redeemed.",
        );
    };
    if pending.issued.elapsed() >= CODE_LIFETIME {
        return invalid_grant(
            70008,
            "AADSTS70008: The provided authorization code has expired.",
        );
    }
    if !pending.client_id.eq_ignore_ascii_case(client_id) {
        return invalid_grant(
            700005,
            "AADSTS700005: The provided authorization code is intended for another app.",
        );
    }
    let same_redirect =
        url::Url::parse(redirect_uri).is_ok_and(|u| u.as_str() == pending.redirect_uri);
    if !same_redirect {
        return invalid_grant(
            50148,
            "AADSTS50148: The redirect_uri does not match the one of the authorization request.",
        );
    }
    let verifier_ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !verifier_ok || crate::oidc::pkce_challenge(verifier) != pending.code_challenge {
        return invalid_grant(
            501481,
            "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        );
    }
    let Some(signer) = crate::oidc::signer() else {
        return aad_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            "The signing key could not be generated.",
        );
    };
    let base = request_base(handle, headers);
    let cfg = handle.config();
    let now = chrono::Utc::now().timestamp();
    let lifetime = cfg.token_lifetime_secs;
    let exp = now.saturating_add(i64::try_from(lifetime).unwrap_or(3600));
    let user = pending.user;
    let issuer = crate::oidc::issuer(&base, &cfg.tenant_id);
    // Pairwise subject per app, as Entra issues it.
    let sub = crate::oidc::pkce_challenge(&format!("{}|{}", user.oid, pending.client_id));
    let api_prefix = format!("api://{DEMO_APP_CLIENT_ID}/");
    let api_scopes: Vec<&str> = pending
        .scope
        .split_whitespace()
        .filter_map(|s| s.strip_prefix(api_prefix.as_str()))
        .collect();
    let mut body = json!({
        "token_type": "Bearer",
        "scope": pending.scope,
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
    });
    if !api_scopes.is_empty() {
        if api_scopes.iter().any(|s| *s != DEMO_API_SCOPE) {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                65005,
                &format!(
                    "AADSTS65005: The app only exposes the scope '{api_prefix}{DEMO_API_SCOPE}'."
                ),
            );
        }
        let access = json!({
            "aud": DEMO_APP_CLIENT_ID,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "azp": pending.client_id,
            "azpacr": "0",
            "name": user.name,
            "oid": user.oid,
            "preferred_username": user.username,
            "roles": user.roles,
            "scp": api_scopes.join(" "),
            "sub": sub,
            "tid": cfg.tenant_id,
            "ver": "2.0",
        });
        match signer.sign(&access) {
            Some(t) => body["access_token"] = Value::String(t),
            None => return signing_failed(),
        }
    }
    let mut id = json!({
        "aud": pending.client_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": exp,
        "name": user.name,
        "oid": user.oid,
        "preferred_username": user.username,
        "sub": sub,
        "tid": cfg.tenant_id,
        "ver": "2.0",
    });
    if let Some(nonce) = pending.nonce {
        id["nonce"] = Value::String(nonce);
    }
    match signer.sign(&id) {
        Some(t) => body["id_token"] = Value::String(t),
        None => return signing_failed(),
    }
    let mut resp = json_response(StatusCode::OK, PLAIN_JSON, &body);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    resp
}

fn signing_failed() -> Response {
    aad_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        50000,
        "The token could not be signed.",
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const PAGE_STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.3rem}form{display:grid;gap:.6rem}\
button{display:grid;text-align:left;gap:.1rem;padding:.7rem 1rem;border:1px solid #8a8886;border-radius:6px;background:#fff;cursor:pointer;font:inherit}\
button:hover,button:focus{border-color:#0f6cbd;outline:2px solid #0f6cbd}\
button span{color:#555;font-size:.9em}button em{font-size:.85em;color:#0f6cbd}.error{color:#a4262c}";

/// A small self-contained page. Its CSP allows only its own inline style; the form may post
/// anywhere (it posts to itself, then redirects to the app, and `form-action` would also
/// govern that redirect).
fn page(status: StatusCode, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Simulated tenant: sign in</title><style>{PAGE_STYLE}</style></head><body>{body}</body></html>"
    );
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn authorize_requires_pkce_s256() {
        let challenge = crate::oidc::pkce_challenge(&"v".repeat(43));
        let ok = [
            ("client_id", DEMO_APP_CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:8000/"),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        assert!(check_authorize(&pairs(&ok)).is_ok());
        let mut plain = ok;
        plain[5].1 = "plain";
        assert!(matches!(
            check_authorize(&pairs(&plain)),
            Err(AuthorizeError::Redirect(..))
        ));
        assert!(matches!(
            check_authorize(&pairs(&ok[..4])),
            Err(AuthorizeError::Redirect(..))
        ));
        let mut other_app = ok;
        other_app[0].1 = "someone-else";
        assert!(matches!(
            check_authorize(&pairs(&other_app)),
            Err(AuthorizeError::Page(_))
        ));
        let mut bad_redirect = ok;
        bad_redirect[1].1 = "javascript:alert(1)";
        assert!(matches!(
            check_authorize(&pairs(&bad_redirect)),
            Err(AuthorizeError::Page(_))
        ));
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
