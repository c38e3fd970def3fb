//! Sign-in end to end over HTTP: the simulated tenant as OpenID provider (authorization code +
//! PKCE S256, as the web UI runs it), and our server accepting the tokens it issues: the admin
//! and the reader get in, the user without a role gets 403, privacy gating follows the roles.

use std::collections::HashMap;

use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::common::TestApp;

pub struct Demo {
    pub sim: aoc_sim::RunningSim,
    pub app: TestApp,
    /// Does not follow redirects, so each step of the flow can be checked.
    pub browser: reqwest::Client,
}

impl Demo {
    /// The simulator plus a server with `aoc demo --auth`'s settings (and `extra`).
    pub async fn start(extra: &[(&str, &str)]) -> Demo {
        let sim = aoc_sim::start(aoc_sim::SimConfig::default()).await.unwrap();
        let tenant = sim.handle.config().tenant_id.clone();
        let env = aoc::commands::demo_auth::auth_env(&sim.base_url, &tenant);
        let mut vars: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        vars.extend_from_slice(extra);
        let app = TestApp::start_with(&vars).await;
        let browser = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        Demo { sim, app, browser }
    }

    /// The UI's flow for demo user `user`: returns the token endpoint's answer.
    pub async fn sign_in(&self, user: &str) -> Value {
        let flow = self.begin().await;
        let code = self.pick_user(&flow, user).await;
        let (status, body) = self.redeem(&flow, &code, &flow.verifier).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn access_token(&self, user: &str) -> String {
        self.sign_in(user).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn begin(&self) -> Flow {
        let (status, cfg) = self.app.get_json("/api/config/auth").await;
        assert_eq!(status, 200);
        assert_eq!(cfg["auth_enabled"], true);
        let authority = cfg["authority"].as_str().unwrap().to_string();
        let discovery: Value = self
            .browser
            .get(format!("{authority}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let verifier = format!("{}-{}", "v".repeat(40), crate::auth::uuid_like());
        Flow {
            client_id: cfg["client_id"].as_str().unwrap().to_string(),
            scope: cfg["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" "),
            authorize: discovery["authorization_endpoint"]
                .as_str()
                .unwrap()
                .to_string(),
            token: discovery["token_endpoint"].as_str().unwrap().to_string(),
            redirect_uri: format!("{}/", self.app.base),
            challenge: aoc_sim::oidc::pkce_challenge(&verifier),
            verifier,
            state: format!("st-{}", crate::auth::uuid_like()),
        }
    }

    pub fn authorize_params(&self, flow: &Flow) -> Vec<(String, String)> {
        [
            ("client_id", flow.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", flow.redirect_uri.as_str()),
            ("scope", flow.scope.as_str()),
            ("state", flow.state.as_str()),
            ("nonce", "n-0S6_WzA2Mj"),
            ("code_challenge", flow.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Show the sign-in page, pick `user`, follow the redirect back: the code.
    pub async fn pick_user(&self, flow: &Flow, user: &str) -> String {
        let params = self.authorize_params(flow);
        let page = self
            .browser
            .get(&flow.authorize)
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("data-user=\"{user}\"")), "{html}");
        let mut form = params.clone();
        form.push(("user".into(), user.into()));
        let res = self
            .browser
            .post(&flow.authorize)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 302);
        let location =
            url::Url::parse(res.headers()[reqwest::header::LOCATION].to_str().unwrap()).unwrap();
        assert!(location.as_str().starts_with(&flow.redirect_uri));
        let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
        assert_eq!(q.get("state"), Some(&flow.state), "state comes back");
        q["code"].clone()
    }

    pub async fn redeem(&self, flow: &Flow, code: &str, verifier: &str) -> (u16, Value) {
        let res = self
            .browser
            .post(&flow.token)
            .header(reqwest::header::ORIGIN, self.app.base.as_str())
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", flow.client_id.as_str()),
                ("code", code),
                ("redirect_uri", flow.redirect_uri.as_str()),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert_eq!(
            res.headers()
                .get(reqwest::header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .map(|v| v.to_str().unwrap()),
            Some("*"),
            "the browser must be able to read the answer"
        );
        (status, res.json().await.unwrap())
    }
}

#[derive(Clone)]
pub struct Flow {
    pub client_id: String,
    pub scope: String,
    pub authorize: String,
    pub token: String,
    pub redirect_uri: String,
    pub verifier: String,
    pub challenge: String,
    pub state: String,
}

fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn sim_sign_in_gives_tokens_the_server_accepts() {
    let demo = Demo::start(&[]).await;
    let (status, _) = demo.app.get_json("/api/events").await;
    assert_eq!(status, 401, "signed out");

    let answer = demo.sign_in("admin").await;
    assert_eq!(answer["token_type"], "Bearer");
    let access = answer["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    let tenant = demo.sim.handle.config().tenant_id.clone();
    assert_eq!(claims["aud"], aoc_sim::oidc::DEMO_APP_CLIENT_ID);
    assert_eq!(
        claims["iss"],
        format!("{}/{tenant}/v2.0", demo.sim.base_url)
    );
    assert_eq!(claims["name"], "Adele Vance");
    assert_eq!(claims["roles"], json!(["AOC.Admin", "AOC.PrivacyViewer"]));
    assert!(claims["exp"].as_i64().unwrap() > claims["nbf"].as_i64().unwrap());
    let id = claims_of(answer["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["preferred_username"], "adele.vance@contoso.com");

    let (status, _, _) = demo.app.get_bearer("/api/events", access).await;
    assert_eq!(status, 200, "admin gets in");
    let reader = demo.access_token("reader").await;
    assert_eq!(demo.app.get_bearer("/api/events", &reader).await.0, 200);
    let nobody = demo.access_token("nobody").await;
    let (status, body, challenge) = demo.app.get_bearer("/api/events", &nobody).await;
    assert_eq!(status, 403, "a valid token without a role: {body}");
    assert!(challenge.unwrap().contains("insufficient_scope"));
}

#[tokio::test]
async fn sim_enforces_pkce_codes_and_redirects() {
    let demo = Demo::start(&[]).await;

    // Wrong verifier: refused, and the code is spent.
    let flow = demo.begin().await;
    let code = demo.pick_user(&flow, "reader").await;
    let wrong = format!("{}x", flow.verifier);
    let (status, body) = demo.redeem(&flow, &code, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = demo.redeem(&flow, &code, &flow.verifier).await;
    assert_eq!(status, 400, "a code is single use");

    // A code cannot be redeemed twice, nor with another redirect URI.
    let code = demo.pick_user(&flow, "reader").await;
    assert_eq!(demo.redeem(&flow, &code, &flow.verifier).await.0, 200);
    assert_eq!(demo.redeem(&flow, &code, &flow.verifier).await.0, 400);
    let code = demo.pick_user(&flow, "reader").await;
    let mut other = flow.clone();
    other.redirect_uri = "http://127.0.0.1:1/elsewhere".into();
    let (status, _) = demo.redeem(&other, &code, &flow.verifier).await;
    assert_eq!(status, 400, "redirect_uri must match");

    // Without PKCE, or with the plain method, the app gets an error back, not a code.
    for (drop, method) in [(true, "S256"), (false, "plain")] {
        let mut params = demo.authorize_params(&flow);
        if drop {
            params.retain(|(k, _)| !k.starts_with("code_challenge"));
        } else {
            for (k, v) in params.iter_mut() {
                if k == "code_challenge_method" {
                    *v = method.into();
                }
            }
        }
        let res = demo
            .browser
            .get(&flow.authorize)
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 302);
        let location = res.headers()[reqwest::header::LOCATION].to_str().unwrap();
        assert!(location.contains("error=invalid_request"), "{location}");
        assert!(!location.contains("code="), "{location}");
    }

    // An unknown app is told so on the page; nothing goes to its redirect URI.
    let mut params = demo.authorize_params(&flow);
    params[0].1 = "11111111-2222-3333-4444-555555555555".into();
    let res = demo
        .browser
        .get(&flow.authorize)
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);

    // The client-credentials grant still works beside the new one.
    let cfg = demo.sim.handle.config();
    let res = demo
        .browser
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            demo.sim.base_url, cfg.tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

#[tokio::test]
async fn demo_users_see_what_their_roles_allow() {
    let demo = Demo::start(&[]).await;
    assert_eq!(demo.app.import("mixed.jsonl").await.new, 5);
    let admin = demo.access_token("admin").await;
    let reader = demo.access_token("reader").await;
    let (_, all, _) = demo.app.get_bearer("/api/events", &admin).await;
    let (_, some, _) = demo.app.get_bearer("/api/events", &reader).await;
    let services = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["service"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(services(&all).iter().any(|s| s == "Exchange"));
    assert!(!services(&some).iter().any(|s| s == "Exchange"));
    assert!(services(&some).len() < services(&all).len());
}

#[tokio::test]
async fn csp_lets_the_ui_reach_the_provider_only_with_auth_on() {
    let demo = Demo::start(&[]).await;
    let res = demo.app.http.get(demo.app.url("/")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let origin = demo.sim.base_url.clone();
    assert!(
        csp.contains(&format!("connect-src 'self' {origin};")),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("form-action 'self' {origin};")),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");

    let plain = TestApp::start().await;
    let res = plain.http.get(plain.url("/")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    let (_, cfg) = plain.get_json("/api/config/auth").await;
    assert_eq!(cfg["auth_enabled"], false);
    assert_eq!(cfg["authority"], "");
}
