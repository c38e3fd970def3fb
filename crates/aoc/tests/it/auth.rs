//! Bearer authentication and privacy gating through real HTTP, against a local identity
//! provider that serves an OpenID discovery document and a JWKS signed-with keys from
//! tests/fixtures/keys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::{TestApp, fixture};

pub const TENANT: &str = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c";
pub const OTHER_TENANT: &str = "0a0b0c0d-1111-2222-3333-444455556666";
pub const CLIENT: &str = "3c9d8e7f-aaaa-bbbb-cccc-1234567890ab";
pub const READER_ROLE: &str = "AOC.Reader";
pub const PRIVACY_ROLE: &str = "AOC.Privacy";
pub const ALLOWED_GROUP: &str = "8b7a6c5d-4e3f-4a1b-9c2d-0e1f2a3b4c5d";

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("keys/{name}.pem"))).unwrap()
}

fn encoding_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&pem(name)).unwrap()
}

fn public_jwk(name: &str, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&encoding_key(name), Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_string());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_value(jwk).unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn v2_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

/// A valid access token's claims for our API; `overrides` replace keys (null removes one).
pub fn claims(overrides: Value) -> Value {
    let mut c = json!({
        "iss": v2_issuer(TENANT),
        "aud": CLIENT,
        "iat": now() - 60,
        "nbf": now() - 60,
        "exp": now() + 3600,
        "oid": format!("user-{}", uuid_like()),
        "sub": "pairwise-subject",
        "tid": TENANT,
        "name": "Ada Admin",
        "preferred_username": "ada@contoso.example",
        "roles": [READER_ROLE],
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// Unique enough per call for rate-limit keys (tests run in parallel and Redis outlives runs).
pub fn uuid_like() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        now(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sign `claims` with the named key, RS256, with `kid` in the header.
pub fn sign(key: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(String::from);
    jsonwebtoken::encode(&header, claims, &encoding_key(key)).unwrap()
}

/// A token the provider would issue now: key 1, kid "k1".
pub fn valid_token(overrides: Value) -> String {
    sign("idp-key-1", Some("k1"), &claims(overrides))
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// The local identity provider: discovery documents and one JWKS whose keys can rotate.
pub struct Idp {
    pub base: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_hits: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Clone)]
struct IdpState {
    base: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_hits: Arc<AtomicUsize>,
}

async fn discovery(State(s): State<IdpState>, Path(prefix): Path<String>) -> Json<Value> {
    // Entra's layout ("{tenant}/v2.0") names the Entra issuer; any other prefix is a generic
    // OIDC provider whose issuer is its own URL.
    let issuer = match prefix.strip_suffix("/v2.0") {
        Some(tenant) => v2_issuer(tenant),
        None => format!("{}/{prefix}", s.base),
    };
    Json(
        json!({ "issuer": issuer, "jwks_uri": format!("{}/keys", s.base), "id_token_signing_alg_values_supported": ["RS256"] }),
    )
}

async fn jwks(State(s): State<IdpState>) -> Json<Value> {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": s.keys.lock().unwrap().clone() }))
}

impl Idp {
    /// Publishes key 1 as "k1".
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let keys = Arc::new(Mutex::new(vec![public_jwk("idp-key-1", "k1")]));
        let jwks_hits = Arc::new(AtomicUsize::new(0));
        let state = IdpState {
            base: base.clone(),
            keys: keys.clone(),
            jwks_hits: jwks_hits.clone(),
        };
        let app = Router::new()
            .route("/keys", get(jwks))
            .route("/{*prefix}", get(discovery_any))
            .with_state(state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Self {
            base,
            keys,
            jwks_hits,
            _stop: tx,
        }
    }

    /// Entra ID's discovery URL for our tenant, on this provider.
    pub fn entra_discovery(&self) -> String {
        format!(
            "{}/{TENANT}/v2.0/.well-known/openid-configuration",
            self.base
        )
    }

    /// Key 2 joins the set as "k2" (providers publish the new key beside the old one).
    pub fn rotate(&self) {
        self.keys
            .lock()
            .unwrap()
            .push(public_jwk("idp-key-2", "k2"));
    }

    pub fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    /// A server with auth on for our tenant, its keys taken from this provider.
    pub async fn app(&self, extra: &[(&str, &str)]) -> TestApp {
        let mut vars = vec![
            ("AUTH_ENABLED", "true"),
            ("AUTH_TENANT_ID", TENANT),
            ("AUTH_CLIENT_ID", CLIENT),
        ];
        vars.extend_from_slice(extra);
        let options = aoc_server::ServerOptions {
            openid_config_url: Some(self.entra_discovery()),
            ..Default::default()
        };
        TestApp::start_with_options(&vars, options).await
    }
}

async fn discovery_any(
    state: State<IdpState>,
    Path(path): Path<String>,
) -> Result<Json<Value>, axum::http::StatusCode> {
    match path.strip_suffix("/.well-known/openid-configuration") {
        Some(prefix) => Ok(discovery(state, Path(prefix.to_string())).await),
        None => Err(axum::http::StatusCode::NOT_FOUND),
    }
}

const GENERIC_401: [&str; 2] = ["authentication required", "invalid or expired token"];

/// Every rejection is one of a few fixed answers: nothing that tells an attacker why.
fn assert_refused(case: &str, got: &(u16, Value, Option<String>), status: u16) {
    let (s, body, challenge) = got;
    assert_eq!(*s, status, "{case}: {body}");
    let challenge = challenge
        .as_deref()
        .unwrap_or_else(|| panic!("{case}: no WWW-Authenticate"));
    assert!(
        challenge.starts_with("Bearer realm=\"aoc\""),
        "{case}: {challenge}"
    );
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: not a JSON error: {body}"));
    if status == 401 {
        assert!(GENERIC_401.contains(&message), "{case}: {message}");
    } else {
        assert_eq!(message, "access denied", "{case}");
        assert!(
            challenge.contains("insufficient_scope"),
            "{case}: {challenge}"
        );
    }
}

#[tokio::test]
async fn token_matrix() {
    let idp = Idp::start().await;
    let roles = format!("{READER_ROLE},AOC.Admin");
    let app = idp
        .app(&[
            ("AUTH_ALLOWED_ROLES", &roles),
            ("AUTH_ALLOWED_GROUPS", ALLOWED_GROUP),
        ])
        .await;
    let path = "/api/events";

    // Accepted: the valid forms a real tenant issues.
    let accepted = [
        ("valid v2 token", valid_token(json!({}))),
        (
            "v1 issuer form",
            valid_token(json!({"iss": format!("https://sts.windows.net/{TENANT}/")})),
        ),
        (
            "audience api://client",
            valid_token(json!({"aud": format!("api://{CLIENT}")})),
        ),
        (
            "audience list",
            valid_token(json!({"aud": ["other-api", CLIENT]})),
        ),
        (
            "allowed group, no role",
            valid_token(json!({"roles": null, "groups": ["g-x", ALLOWED_GROUP]})),
        ),
        (
            "expired within the leeway",
            valid_token(json!({"exp": now() - 10})),
        ),
        (
            "only sub, upn",
            valid_token(
                json!({"oid": null, "name": null, "preferred_username": null, "upn": "u@x"}),
            ),
        ),
    ];
    for (case, token) in &accepted {
        let (status, body, _) = app.get_bearer(path, token).await;
        assert_eq!(status, 200, "{case}: {body}");
    }

    let public_pem = std::fs::read(fixture("keys/idp-key-1.pub.pem")).unwrap();
    let hs256_with_public_key = {
        let header = Header {
            kid: Some("k1".into()),
            ..Header::new(Algorithm::HS256)
        };
        jsonwebtoken::encode(
            &header,
            &claims(json!({})),
            &EncodingKey::from_secret(&public_pem),
        )
        .unwrap()
    };
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
        b64(&claims(json!({})))
    );
    let alg_none_signed = {
        let valid = valid_token(json!({}));
        let sig = valid.rsplit('.').next().unwrap().to_string();
        format!(
            "{}.{}.{sig}",
            b64(&json!({"alg": "none", "kid": "k1"})),
            b64(&claims(json!({})))
        )
    };
    let tampered = {
        let valid = valid_token(json!({}));
        let parts: Vec<&str> = valid.split('.').collect();
        let elevated = b64(&claims(json!({"roles": ["AOC.Admin", PRIVACY_ROLE]})));
        format!("{}.{elevated}.{}", parts[0], parts[2])
    };
    let rejected: Vec<(&str, String)> = vec![
        (
            "expired",
            valid_token(json!({"exp": now() - 600, "nbf": now() - 4000})),
        ),
        ("not yet valid", valid_token(json!({"nbf": now() + 600}))),
        ("no exp", valid_token(json!({"exp": null}))),
        (
            "wrong audience",
            valid_token(json!({"aud": "api://someone-else"})),
        ),
        ("no audience", valid_token(json!({"aud": null}))),
        (
            "wrong issuer",
            valid_token(json!({"iss": "https://evil.example/"})),
        ),
        ("no issuer", valid_token(json!({"iss": null}))),
        (
            "other tenant (v2)",
            valid_token(json!({"iss": v2_issuer(OTHER_TENANT), "tid": OTHER_TENANT})),
        ),
        (
            "other tenant (v1)",
            valid_token(json!({"iss": format!("https://sts.windows.net/{OTHER_TENANT}/")})),
        ),
        ("alg none", alg_none),
        ("alg none with a signature", alg_none_signed),
        ("HS256 signed with the public key", hs256_with_public_key),
        (
            "signed by another key under our kid",
            sign("attacker", Some("k1"), &claims(json!({}))),
        ),
        (
            "unknown kid",
            sign("attacker", Some("attacker-kid"), &claims(json!({}))),
        ),
        ("no kid", sign("idp-key-1", None, &claims(json!({})))),
        ("tampered payload", tampered),
        ("no subject", valid_token(json!({"oid": null, "sub": null}))),
        (
            "roles not a list",
            valid_token(json!({"roles": "AOC.Reader"})),
        ),
    ];
    for (case, token) in &rejected {
        let got = app.get_bearer(path, token).await;
        assert_refused(case, &got, 401);
    }

    // Valid tokens without an allowed role or group: 403.
    for (case, token) in [
        ("no roles or groups", valid_token(json!({"roles": null}))),
        (
            "other roles and groups",
            valid_token(json!({"roles": ["Other"], "groups": ["g-x"]})),
        ),
        (
            "empty lists",
            valid_token(json!({"roles": [], "groups": []})),
        ),
    ] {
        let got = app.get_bearer(path, &token).await;
        assert_refused(case, &got, 403);
    }

    // Malformed Authorization headers.
    let valid = valid_token(json!({}));
    let long = format!("Bearer a.b.{}", "c".repeat(20_000));
    let malformed: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("no header", vec![]),
        ("empty", vec![b"".to_vec()]),
        ("scheme only", vec![b"Bearer".to_vec()]),
        ("scheme and space", vec![b"Bearer ".to_vec()]),
        ("basic", vec![b"Basic YWRhOnNlY3JldA==".to_vec()]),
        ("token without scheme", vec![valid.as_bytes().to_vec()]),
        ("two segments", vec![b"Bearer abc.def".to_vec()]),
        ("garbage segments", vec![b"Bearer !!.??.**".to_vec()]),
        ("base64 garbage", vec![b"Bearer aaaa.bbbb.cccc".to_vec()]),
        (
            "trailing junk",
            vec![format!("Bearer {valid} x").into_bytes()],
        ),
        (
            "non-ASCII bytes",
            vec![b"Bearer \xff\xfe.\x80.\x81".to_vec()],
        ),
        (
            "two Authorization headers",
            vec![
                format!("Bearer {valid}").into_bytes(),
                format!("Bearer {valid}").into_bytes(),
            ],
        ),
        ("oversized token", vec![long.into_bytes()]),
    ];
    for (case, values) in malformed {
        let mut req = app.http.get(app.url(path));
        for v in values {
            req = req.header(
                reqwest::header::AUTHORIZATION,
                reqwest::header::HeaderValue::from_bytes(&v).unwrap(),
            );
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let challenge = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        let body: Value = res.json().await.unwrap();
        assert_refused(case, &(status, body, challenge), 401);
    }

    // What stays public with auth on: health, the UI's files, the sign-in configuration.
    assert_eq!(app.get_json("/health").await.0, 200);
    assert_ne!(
        app.http
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let (status, body) = app.get_json("/api/config/auth").await;
    assert_eq!(status, 200);
    assert_eq!(body["auth_enabled"], true);
    // ... and everything else under /api is closed, unknown routes included.
    for p in [
        "/api/version",
        "/api/filter-options",
        "/api/source-health",
        "/api/events/x",
        "/api/no-such-route",
    ] {
        assert_eq!(app.get_json(p).await.0, 401, "{p}");
    }
    let res = app
        .http
        .post(app.url("/api/webhooks/graph"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        401,
        "webhook is closed without WEBHOOK_CLIENT_SECRET"
    );

    // Keys were fetched once for all of that (plus one refetch for the unknown kid).
    assert_eq!(idp.jwks_hits(), 2);
}

#[tokio::test]
async fn the_signed_in_user_is_the_caller() {
    let idp = Idp::start().await;
    let app = idp.app(&[]).await;
    app.import("mixed.jsonl").await;
    let token = valid_token(json!({"name": "Grace Hopper"}));
    let (_, page, _) = app.get_bearer("/api/events", &token).await;
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    let url = app.url(&format!("/api/events/{}/comments", id));
    let res = app
        .http
        .post(url)
        .bearer_auth(&token)
        .json(&json!({"text": "looked at it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let event: Value = res.json().await.unwrap();
    assert_eq!(event["comments"][0]["author"], "Grace Hopper");

    // Without roles configured any valid token passes (and start-up warned about it).
    let (status, _, _) = app
        .get_bearer("/api/version", &valid_token(json!({"roles": null})))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_kid_refetches_once_and_rotation_is_picked_up() {
    // Without rotation: the unknown kid costs one refetch, then no more for a while.
    let idp = Idp::start().await;
    let app = idp.app(&[]).await;
    assert_eq!(
        app.get_bearer("/api/version", &valid_token(json!({})))
            .await
            .0,
        200
    );
    assert_eq!(idp.jwks_hits(), 1);
    let k2 = |c: Value| sign("idp-key-2", Some("k2"), &claims(c));
    assert_eq!(app.get_bearer("/api/version", &k2(json!({}))).await.0, 401);
    assert_eq!(idp.jwks_hits(), 2, "one refetch for the unknown kid");
    for _ in 0..5 {
        assert_eq!(app.get_bearer("/api/version", &k2(json!({}))).await.0, 401);
    }
    assert_eq!(
        idp.jwks_hits(),
        2,
        "refetches on unknown kids are rate-limited"
    );
    // The cached key still works.
    assert_eq!(
        app.get_bearer("/api/version", &valid_token(json!({})))
            .await
            .0,
        200
    );

    // With rotation: a fresh server, keys rotate after it cached them.
    let idp = Idp::start().await;
    let app = idp.app(&[]).await;
    assert_eq!(
        app.get_bearer("/api/version", &valid_token(json!({})))
            .await
            .0,
        200
    );
    idp.rotate();
    assert_eq!(
        app.get_bearer("/api/version", &k2(json!({}))).await.0,
        200,
        "new key found by a refetch"
    );
    assert_eq!(idp.jwks_hits(), 2);
    assert_eq!(
        app.get_bearer("/api/version", &valid_token(json!({})))
            .await
            .0,
        200,
        "old key still valid"
    );
    let unknown = sign("attacker", Some("k3"), &claims(json!({})));
    assert_eq!(app.get_bearer("/api/version", &unknown).await.0, 401);
    assert_eq!(idp.jwks_hits(), 2, "no second forced refetch so soon");
}

#[tokio::test]
async fn provider_unreachable_is_503_not_a_pass() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let vars = [
        ("AUTH_ENABLED", "true"),
        ("AUTH_TENANT_ID", TENANT),
        ("AUTH_CLIENT_ID", CLIENT),
    ];
    let options = aoc_server::ServerOptions {
        openid_config_url: Some(format!(
            "http://127.0.0.1:{closed}/.well-known/openid-configuration"
        )),
        ..Default::default()
    };
    let app = TestApp::start_with_options(&vars, options).await;
    let (status, body, challenge) = app.get_bearer("/api/events", &valid_token(json!({}))).await;
    assert_eq!(status, 503, "{body}");
    assert!(challenge.is_some());
    assert_eq!(
        app.get_json("/api/events").await.0,
        401,
        "no token is still a 401"
    );
}

#[tokio::test]
async fn another_oidc_provider_by_issuer() {
    let idp = Idp::start().await;
    let issuer = format!("{}/realms/aoc", idp.base);
    // No discovery override: the document is found under AUTH_ISSUER.
    let app = TestApp::start_with(&[
        ("AUTH_ENABLED", "true"),
        ("AUTH_ISSUER", &issuer),
        ("AUTH_CLIENT_ID", CLIENT),
    ])
    .await;
    let ok = valid_token(json!({"iss": issuer}));
    assert_eq!(app.get_bearer("/api/version", &ok).await.0, 200);
    let entra = valid_token(json!({}));
    assert_eq!(
        app.get_bearer("/api/version", &entra).await.0,
        401,
        "Entra issuer is not this provider's"
    );
}

#[tokio::test]
async fn webhook_stays_reachable_for_graph_when_it_has_a_client_state() {
    let idp = Idp::start().await;
    let app = idp
        .app(&[("WEBHOOK_CLIENT_SECRET", "graph-client-state")])
        .await;
    let res = app
        .http
        .post(app.url("/api/webhooks/graph?validationToken=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.text().await.unwrap(), "abc");
    let res = app
        .http
        .post(app.url("/api/webhooks/graph"))
        .json(&json!({"value": [{"clientState": "wrong"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
}

// ----- privacy gating through every read path, with real tokens -----

fn export_ids(text: &str, jsonl: bool) -> Vec<String> {
    if jsonl {
        text.lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    } else {
        // CSV: id is the 8th column; our fixture's fields hold no commas before it except quoted ones.
        let mut ids = Vec::new();
        for line in text.lines().skip(1) {
            let cells = split_csv(line);
            ids.push(cells[7].clone());
        }
        ids
    }
}

fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

#[tokio::test]
async fn privacy_gating_on_every_read_path() {
    let idp = Idp::start().await;
    let app = idp
        .app(&[
            ("PRIVACY_SERVICES", "Exchange"),
            ("PRIVACY_SENSITIVE_OPERATIONS", "Update application"),
            ("PRIVACY_SERVICE_ROLES", PRIVACY_ROLE),
        ])
        .await;
    assert_eq!(app.import("mixed.jsonl").await.new, 5);
    let reader = valid_token(json!({"roles": [READER_ROLE]}));
    let privileged = valid_token(json!({"roles": [READER_ROLE, PRIVACY_ROLE]}));

    // Which events are gated, seen by someone allowed to see them.
    let (status, all, _) = app.get_bearer("/api/events", &privileged).await;
    assert_eq!(status, 200);
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let hidden: Vec<String> = items
        .iter()
        .filter(|e| e["service"] == "Exchange" || e["operation"] == "Update application")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        hidden.len(),
        2,
        "the fixture has one gated service event and one sensitive operation"
    );

    // list
    let (_, page, _) = app.get_bearer("/api/events", &reader).await;
    let seen: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen.len(), 3);
    assert!(hidden.iter().all(|h| !seen.contains(&h.as_str())));
    for q in [
        "service=Exchange",
        "operation=Update%20application",
        "search=Set-Mailbox",
        "search=Update%20application",
    ] {
        let (_, page, _) = app.get_bearer(&format!("/api/events?{q}"), &reader).await;
        assert!(
            page["items"].as_array().unwrap().is_empty(),
            "{q} reveals a gated event"
        );
    }

    // get by id (and writes that would confirm the id exists)
    for id in &hidden {
        let enc = crate::common::percent_encode(id);
        assert_eq!(
            app.get_bearer(&format!("/api/events/{enc}"), &reader)
                .await
                .0,
            404
        );
        assert_eq!(
            app.get_bearer(&format!("/api/events/{enc}"), &privileged)
                .await
                .0,
            200
        );
        let res = app
            .http
            .patch(app.url(&format!("/api/events/{enc}/tags")))
            .bearer_auth(&reader)
            .json(&json!({"tags": ["x"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404);
    }

    // count
    assert_eq!(
        app.get_bearer("/api/events/count", &reader).await.1["count"],
        3
    );
    assert_eq!(
        app.get_bearer("/api/events/count", &privileged).await.1["count"],
        5
    );

    // histogram
    let range = "start=2026-03-01T00:00:00Z&end=2026-03-03T00:00:00Z";
    let total = |h: &Value| {
        h["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        total(
            &app.get_bearer(&format!("/api/events/histogram?{range}"), &reader)
                .await
                .1
        ),
        3
    );
    assert_eq!(
        total(
            &app.get_bearer(&format!("/api/events/histogram?{range}"), &privileged)
                .await
                .1
        ),
        5
    );
    assert_eq!(
        total(&app.get_bearer("/api/events/histogram", &reader).await.1),
        3,
        "data range"
    );

    // filter options
    let (_, opts, _) = app.get_bearer("/api/filter-options", &reader).await;
    let has = |o: &Value, k: &str, v: &str| o[k].as_array().unwrap().iter().any(|x| x == v);
    assert!(!has(&opts, "services", "Exchange"));
    assert!(!has(&opts, "operations", "Set-Mailbox"));
    assert!(!has(&opts, "operations", "Update application"));
    let (_, opts, _) = app.get_bearer("/api/filter-options", &privileged).await;
    assert!(has(&opts, "services", "Exchange"));
    assert!(has(&opts, "operations", "Update application"));

    // export, both formats
    for (format, jsonl) in [("csv", false), ("jsonl", true)] {
        let (status, text) = app
            .get_text_bearer(&format!("/api/events/export?format={format}"), &reader)
            .await;
        assert_eq!(status, 200);
        let ids = export_ids(&text, jsonl);
        assert_eq!(ids.len(), 3, "{format}");
        assert!(
            hidden.iter().all(|h| !ids.contains(h)),
            "{format} exports a gated event"
        );
        let (_, text) = app
            .get_text_bearer(&format!("/api/events/export?format={format}"), &privileged)
            .await;
        assert_eq!(export_ids(&text, jsonl).len(), 5, "{format}");
    }
}
