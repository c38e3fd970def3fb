//! The simulated Key Vault and managed identity endpoints through HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use aoc_sim::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Endpoint, KeyVaultConfig, RunningSim, SimConfig,
    Target, start,
};
use reqwest::StatusCode;
use serde_json::Value;

const API: &str = "api-version=7.4";

async fn sim() -> RunningSim {
    start(SimConfig {
        key_vault: KeyVaultConfig {
            name: "sim-kv".into(),
            secrets: BTreeMap::from([
                ("aoc-client-secret".into(), "value-one".into()),
                ("aoc-database-url".into(), "value-two".into()),
            ]),
            denied: vec!["aoc-database-url".into()],
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn client_credentials_token(sim: &RunningSim, scope: &str) -> String {
    let resp = http()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            sim.base_url,
            sim.handle.config().tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

async fn get_secret(sim: &RunningSim, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = http().get(format!("{}{path}", sim.base_url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn a_vault_token_reads_a_secret_bundle() {
    let sim = sim().await;
    let token = client_credentials_token(&sim, "https://vault.azure.net/.default").await;
    let (status, body) = get_secret(
        &sim,
        &format!("/secrets/AOC-Client-Secret?{API}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], "value-one");
    assert_eq!(body["attributes"]["enabled"], true);
    let id = body["id"].as_str().unwrap();
    let prefix = format!("{}/secrets/aoc-client-secret/", sim.base_url);
    assert!(id.starts_with(&prefix), "{id}");

    // The id's version can be asked for again; another version is not there.
    let path = id.strip_prefix(&sim.base_url).unwrap();
    let (status, again) = get_secret(&sim, &format!("{path}?{API}"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["value"], "value-one");
    let (status, _) = get_secret(
        &sim,
        &format!("/secrets/aoc-client-secret/{}?{API}", "0".repeat(32)),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(sim.handle.request_count(Endpoint::VaultSecret), 3);
}

#[tokio::test]
async fn unknown_denied_and_unauthenticated_requests_get_the_vault_error_shapes() {
    let sim = sim().await;
    let token = client_credentials_token(&sim, "https://vault.azure.net/.default").await;

    let (status, body) = get_secret(&sim, &format!("/secrets/nope?{API}"), Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "SecretNotFound");
    assert!(body["error"]["message"].as_str().unwrap().contains("nope"));

    let (status, body) = get_secret(
        &sim,
        &format!("/secrets/aoc-database-url?{API}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Forbidden");
    assert_eq!(body["error"]["innererror"]["code"], "AccessDenied");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("secrets get permission") && message.contains("sim-kv"));
    assert!(!body.to_string().contains("value-two"));

    let resp = http()
        .get(format!("{}/secrets/aoc-client-secret?{API}", sim.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("resource=\"https://vault.azure.net\""),
        "{challenge}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Unauthorized");

    let (status, body) = get_secret(&sim, "/secrets/aoc-client-secret", Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "api-version is required");
    assert_eq!(body["error"]["code"], "BadParameter");
    let (status, _) = get_secret(&sim, &format!("/secrets/bad_name?{API}"), Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn only_a_token_for_the_vault_audience_opens_the_vault() {
    let sim = sim().await;
    let graph = client_credentials_token(&sim, "https://graph.microsoft.com/.default").await;
    let own = client_credentials_token(&sim, &format!("{}/.default", sim.base_url)).await;
    for token in [&graph, &own] {
        let (status, body) = get_secret(
            &sim,
            &format!("/secrets/aoc-client-secret?{API}"),
            Some(token),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("audience")
        );
    }
    // And a vault token does not open Graph.
    let vault = client_credentials_token(&sim, "https://vault.azure.net/.default").await;
    let resp = http()
        .get(format!("{}/v1.0/auditLogs/directoryAudits", sim.base_url))
        .bearer_auth(vault)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn imds_requires_the_metadata_header_and_knows_its_identities() {
    let sim = sim().await;
    let url = |extra: &str| {
        format!(
            "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net{extra}",
            sim.base_url
        )
    };
    let resp = http().get(url("")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let resp = http()
        .get(url(""))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["resource"], "https://vault.azure.net");
    assert!(
        body["expires_in"].is_string(),
        "IMDS writes numbers as strings"
    );
    let mi = &sim.handle.config().managed_identity;
    assert_eq!(body["client_id"], mi.system_assigned_client_id.as_str());
    let token = body["access_token"].as_str().unwrap().to_string();
    let (status, secret) = get_secret(
        &sim,
        &format!("/secrets/aoc-client-secret?{API}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(secret["value"], "value-one");

    let user = mi.user_assigned_client_ids[0].clone();
    let resp = http()
        .get(url(&format!("&client_id={user}")))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["client_id"], user.as_str());
    let resp = http()
        .get(url("&client_id=11111111-1111-1111-1111-111111111111"))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.handle.request_count(Endpoint::ManagedIdentityToken), 4);
}

#[tokio::test]
async fn app_service_endpoint_requires_the_identity_header() {
    let sim = sim().await;
    let url = format!(
        "{}/msi/token?api-version=2019-08-01&resource=https://vault.azure.net",
        sim.base_url
    );
    let resp = http().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = http()
        .get(&url)
        .header("X-IDENTITY-HEADER", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let header = sim.handle.config().managed_identity.identity_header.clone();
    let resp = http()
        .get(&url)
        .header("X-IDENTITY-HEADER", header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body.get("expires_in").is_none(),
        "App Service sends expires_on only"
    );
    assert!(body["expires_on"].is_string());
}

#[tokio::test]
async fn vault_switches_throttle_and_any_leaves_the_vault_alone() {
    let sim = sim().await;
    let token = client_credentials_token(&sim, "https://vault.azure.net/.default").await;
    sim.handle.unavailable(Target::Any, 1, None);
    let (status, _) = get_secret(
        &sim,
        &format!("/secrets/aoc-client-secret?{API}"),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "Target::Any is for the audit APIs");

    sim.handle.clear_faults();
    sim.handle.throttle(Target::KeyVault, 1, Some(2));
    let resp = http()
        .get(format!("{}/secrets/aoc-client-secret?{API}", sim.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "2");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Throttled");
}

#[test]
fn vault_values_stay_out_of_debug_output() {
    let cfg = SimConfig {
        key_vault: KeyVaultConfig {
            secrets: BTreeMap::from([("s".into(), "do-not-print-me".into())]),
            ..KeyVaultConfig::default()
        },
        ..SimConfig::default()
    };
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains("do-not-print-me"));
    assert!(!dbg.contains(&cfg.managed_identity.identity_header));
}
