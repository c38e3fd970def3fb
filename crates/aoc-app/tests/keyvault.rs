//! Key Vault secrets at start-up, through HTTP against the simulated tenant on 127.0.0.1:
//! identity token, vault reads, the overlay in front of the environment, and the settings built
//! from it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use aoc_app::Settings;
use aoc_app::keyvault::{self, KeyVaultError, VaultSecrets};
use aoc_sim::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Endpoint, KeyVaultConfig, RunningSim, SimConfig,
    Target,
};
use secrecy::ExposeSecret;

const CLIENT_SECRET: &str = "kv-client-secret-7f3a9c";
const LLM_API_KEY: &str = "kv-llm-key-51be02";
const WEBHOOK_SECRET: &str = "kv-webhook-state-c0ffee";
const DATABASE_URL: &str = "sqlite://kv-vault-only.db";
const ALL_VALUES: &[&str] = &[CLIENT_SECRET, LLM_API_KEY, WEBHOOK_SECRET, DATABASE_URL];

fn full_vault() -> BTreeMap<String, String> {
    [
        ("aoc-client-secret", CLIENT_SECRET),
        ("aoc-llm-api-key", LLM_API_KEY),
        ("aoc-webhook-client-secret", WEBHOOK_SECRET),
        ("aoc-database-url", DATABASE_URL),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn sim(secrets: BTreeMap<String, String>, denied: &[&str]) -> RunningSim {
    aoc_sim::start(SimConfig {
        key_vault: KeyVaultConfig {
            name: "contoso-kv".into(),
            secrets,
            denied: denied.iter().map(|d| d.to_string()).collect(),
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

type Env = HashMap<String, String>;

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The vault named as an operator would, at the simulator's address.
fn vault_at(sim: &RunningSim) -> Env {
    env(&[
        ("AZURE_KEY_VAULT_NAME", "contoso-kv"),
        ("AZURE_KEY_VAULT_URL", &sim.base_url),
    ])
}

/// A service principal against the simulator's login endpoint.
fn client_credentials(sim: &RunningSim) -> Env {
    let mut e = vault_at(sim);
    e.extend(env(&[
        ("AZURE_TENANT_ID", &sim.handle.config().tenant_id),
        ("AZURE_CLIENT_ID", DEFAULT_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        ("AZURE_AUTHORITY_HOST", &sim.base_url),
    ]));
    e
}

/// The simulator as the VM's Instance Metadata Service (given as a bare host, as the default
/// `http://169.254.169.254` would be).
fn imds(sim: &RunningSim) -> Env {
    let mut e = vault_at(sim);
    e.insert("AZURE_IMDS_ENDPOINT".into(), sim.base_url.clone());
    e
}

fn with(mut base: Env, pairs: &[(&str, &str)]) -> Env {
    base.extend(env(pairs));
    base
}

async fn load(e: &Env) -> Result<VaultSecrets, KeyVaultError> {
    keyvault::load(&|k: &str| e.get(k).cloned()).await
}

/// The settings as start-up builds them: the environment, then the vault.
fn settings(e: &Env, secrets: &VaultSecrets) -> Settings {
    let base = |k: &str| e.get(k).cloned();
    let lookup = secrets.over(&base);
    Settings::from_lookup(&lookup).unwrap()
}

/// An error fit to print: names the vault, and carries no secret value nor credential.
fn assert_safe(err: &KeyVaultError, extra: &[&str]) -> String {
    let text = err.to_string();
    let debug = format!("{err:?}");
    for value in ALL_VALUES.iter().chain(extra) {
        assert!(!text.contains(value), "value {value} in: {text}");
        assert!(!debug.contains(value), "value {value} in: {debug}");
    }
    assert!(!text.contains("sim1."), "a token in: {text}");
    text
}

#[tokio::test]
async fn client_credentials_load_each_secret_into_its_variable() {
    let sim = sim(full_vault(), &[]).await;
    let e = with(
        client_credentials(&sim),
        &[("TENANT_ID", "t"), ("CLIENT_ID", "c")],
    );
    let secrets = load(&e).await.unwrap();
    assert_eq!(
        secrets.loaded(),
        [
            "CLIENT_SECRET",
            "LLM_API_KEY",
            "WEBHOOK_CLIENT_SECRET",
            "DATABASE_URL"
        ]
    );
    assert_eq!(secrets.vault(), Some("contoso-kv"));

    let s = settings(&e, &secrets);
    let m365 = s.m365.as_ref().expect("fetching configured");
    assert_eq!(m365.client_secret.expose_secret(), CLIENT_SECRET);
    assert_eq!(
        s.webhook_client_secret.as_ref().unwrap().expose_secret(),
        WEBHOOK_SECRET
    );
    let base = |k: &str| e.get(k).cloned();
    let lookup = secrets.over(&base);
    assert_eq!(lookup("DATABASE_URL").as_deref(), Some(DATABASE_URL));
    assert_eq!(lookup("LLM_API_KEY").as_deref(), Some(LLM_API_KEY));
    assert_eq!(lookup("TENANT_ID").as_deref(), Some("t"));

    assert_eq!(sim.handle.request_count(Endpoint::Token), 1, "one token");
    assert_eq!(sim.handle.request_count(Endpoint::VaultSecret), 4);
    let shown = format!("{secrets:?} {}", secrets.summary().unwrap());
    for value in ALL_VALUES {
        assert!(!shown.contains(value), "{shown}");
    }
}

#[tokio::test]
async fn a_vm_managed_identity_reads_the_vault_through_imds() {
    let sim = sim(full_vault(), &[]).await;
    let secrets = load(&imds(&sim)).await.unwrap();
    assert_eq!(
        secrets.get("WEBHOOK_CLIENT_SECRET").as_deref(),
        Some(WEBHOOK_SECRET)
    );
    assert_eq!(secrets.loaded().len(), 4);
    assert_eq!(sim.handle.request_count(Endpoint::ManagedIdentityToken), 1);
    assert_eq!(sim.handle.request_count(Endpoint::Token), 0);
}

#[tokio::test]
async fn an_app_service_managed_identity_reads_the_vault() {
    let sim = sim(full_vault(), &[]).await;
    let header = sim.handle.config().managed_identity.identity_header.clone();
    let e = with(
        vault_at(&sim),
        &[
            ("IDENTITY_ENDPOINT", &format!("{}/msi/token", sim.base_url)),
            ("IDENTITY_HEADER", &header),
        ],
    );
    let secrets = load(&e).await.unwrap();
    assert_eq!(secrets.get("CLIENT_SECRET").as_deref(), Some(CLIENT_SECRET));
    assert_eq!(sim.handle.request_count(Endpoint::ManagedIdentityToken), 1);

    // The wrong header is refused, and the header is not repeated in the message.
    let e = with(e, &[("IDENTITY_HEADER", "not-the-identity-header")]);
    let err = load(&e).await.unwrap_err();
    assert!(
        matches!(err, KeyVaultError::IdentityRefused { .. }),
        "{err}"
    );
    let text = assert_safe(&err, &["not-the-identity-header", &header]);
    assert!(
        text.contains("contoso-kv") && text.contains("App Service"),
        "{text}"
    );
}

#[tokio::test]
async fn azure_client_id_selects_a_user_assigned_identity() {
    let sim = sim(full_vault(), &[]).await;
    let user = sim
        .handle
        .config()
        .managed_identity
        .user_assigned_client_ids[0]
        .clone();
    let secrets = load(&with(imds(&sim), &[("AZURE_CLIENT_ID", &user)]))
        .await
        .unwrap();
    assert_eq!(secrets.loaded().len(), 4);

    let stranger = "11111111-2222-3333-4444-555555555555";
    let err = load(&with(imds(&sim), &[("AZURE_CLIENT_ID", stranger)]))
        .await
        .unwrap_err();
    let text = assert_safe(&err, &[]);
    assert!(
        text.contains("contoso-kv") && text.contains("IMDS") && text.contains("Identity not found"),
        "{text}"
    );
}

#[tokio::test]
async fn an_environment_variable_wins_and_its_secret_is_not_asked_for() {
    // The database URL is denied: asking for it would stop start-up, so this also proves the
    // loader leaves alone what the environment already sets (here through a _FILE variable).
    let sim = sim(full_vault(), &["aoc-database-url"]).await;
    let e = with(
        client_credentials(&sim),
        &[
            ("TENANT_ID", "t"),
            ("CLIENT_ID", "c"),
            ("CLIENT_SECRET", "from-the-environment"),
            ("DATABASE_URL_FILE", "/run/secrets/database-url"),
        ],
    );
    let secrets = load(&e).await.unwrap();
    assert_eq!(secrets.loaded(), ["LLM_API_KEY", "WEBHOOK_CLIENT_SECRET"]);
    assert_eq!(
        secrets.from_environment(),
        ["CLIENT_SECRET", "DATABASE_URL"]
    );
    assert_eq!(sim.handle.request_count(Endpoint::VaultSecret), 2);

    let e = with(
        client_credentials(&sim),
        &[("TENANT_ID", "t"), ("CLIENT_ID", "c")],
    );
    let e = with(
        e,
        &[
            ("CLIENT_SECRET", "from-the-environment"),
            ("DATABASE_URL", "sqlite://env.db"),
        ],
    );
    let secrets = load(&e).await.unwrap();
    let s = settings(&e, &secrets);
    assert_eq!(
        s.m365.unwrap().client_secret.expose_secret(),
        "from-the-environment"
    );
    assert_eq!(
        s.webhook_client_secret.unwrap().expose_secret(),
        WEBHOOK_SECRET,
        "the vault still fills what the environment leaves unset"
    );
}

#[tokio::test]
async fn a_secret_missing_from_the_vault_is_not_used() {
    let only_webhook = BTreeMap::from([(
        "aoc-webhook-client-secret".to_string(),
        WEBHOOK_SECRET.to_string(),
    )]);
    let sim = sim(only_webhook, &[]).await;
    let e = client_credentials(&sim);
    let secrets = load(&e).await.unwrap();
    assert_eq!(secrets.loaded(), ["WEBHOOK_CLIENT_SECRET"]);
    assert_eq!(
        secrets.not_in_vault(),
        ["aoc-client-secret", "aoc-llm-api-key", "aoc-database-url"]
    );
    let s = settings(&e, &secrets);
    assert!(
        s.m365.is_none(),
        "no CLIENT_SECRET anywhere: fetching stays off"
    );
    let base = |k: &str| e.get(k).cloned();
    assert_eq!(
        secrets.over(&base)("DATABASE_URL"),
        None,
        "the default applies"
    );
}

#[tokio::test]
async fn a_denied_secret_stops_start_up_naming_vault_and_secret() {
    let sim = sim(full_vault(), &["aoc-webhook-client-secret"]).await;
    let err = load(&client_credentials(&sim)).await.unwrap_err();
    assert!(matches!(err, KeyVaultError::Forbidden { .. }), "{err:?}");
    let text = assert_safe(&err, &[DEFAULT_CLIENT_SECRET]);
    assert!(
        text.starts_with(
            "Key Vault 'contoso-kv': secret 'aoc-webhook-client-secret': access denied (403 Forbidden): give the identity 'Get' permission on secrets"
        ),
        "{text}"
    );
    assert!(
        text.contains("AccessDenied"),
        "the vault's reason is quoted: {text}"
    );
}

#[tokio::test]
async fn an_unreachable_vault_is_a_clear_start_up_error() {
    let sim = sim(full_vault(), &[]).await;
    let closed = closed_port().await;
    let e = with(
        client_credentials(&sim),
        &[("AZURE_KEY_VAULT_URL", &format!("http://127.0.0.1:{closed}"))],
    );
    let err = load(&e).await.unwrap_err();
    assert!(matches!(err, KeyVaultError::Unreachable { .. }), "{err:?}");
    let text = assert_safe(&err, &[DEFAULT_CLIENT_SECRET]);
    assert!(
        text.starts_with(&format!(
            "Key Vault 'contoso-kv' is unreachable at http://127.0.0.1:{closed}: "
        )),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[tokio::test]
async fn an_unreachable_identity_endpoint_is_named() {
    let sim = sim(full_vault(), &[]).await;
    let closed = closed_port().await;
    let e = with(
        vault_at(&sim),
        &[("AZURE_IMDS_ENDPOINT", &format!("http://127.0.0.1:{closed}"))],
    );
    let err = load(&e).await.unwrap_err();
    let text = assert_safe(&err, &[]);
    assert!(
        matches!(err, KeyVaultError::IdentityUnreachable { .. }),
        "{text}"
    );
    assert!(
        text.contains("managed identity (IMDS)") && text.contains(&closed.to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_without_repeating_it() {
    let sim = sim(full_vault(), &[]).await;
    let wrong = "wrong-client-secret-93d1";
    let e = with(client_credentials(&sim), &[("AZURE_CLIENT_SECRET", wrong)]);
    let err = load(&e).await.unwrap_err();
    let text = assert_safe(&err, &[wrong]);
    assert!(
        matches!(err, KeyVaultError::IdentityRefused { .. }),
        "{text}"
    );
    assert!(
        text.contains("invalid_client") && text.contains("401"),
        "{text}"
    );
    assert_eq!(sim.handle.request_count(Endpoint::VaultSecret), 0);
}

#[tokio::test]
async fn throttling_is_retried() {
    let sim = sim(full_vault(), &[]).await;
    sim.handle.throttle(Target::ManagedIdentity, 1, None);
    sim.handle.throttle(Target::KeyVault, 1, Some(1));
    let secrets = load(&imds(&sim)).await.unwrap();
    assert_eq!(secrets.loaded().len(), 4);
    assert_eq!(sim.handle.request_count(Endpoint::ManagedIdentityToken), 2);
    assert_eq!(sim.handle.request_count(Endpoint::VaultSecret), 5);

    // A vault that stays down gives up after a few attempts, with the status in the message.
    sim.handle.fail(Target::KeyVault, 503);
    let err = load(&imds(&sim)).await.unwrap_err();
    let text = assert_safe(&err, &[]);
    assert!(text.contains("503 Service Unavailable"), "{text}");
}

#[tokio::test]
async fn a_404_from_something_that_is_not_a_vault_is_not_taken_for_a_missing_secret() {
    let sim = sim(full_vault(), &[]).await;
    let e = with(
        client_credentials(&sim),
        &[(
            "AZURE_KEY_VAULT_URL",
            &format!("{}/not-a-vault", sim.base_url),
        )],
    );
    let err = load(&e).await.unwrap_err();
    let text = assert_safe(&err, &[]);
    assert!(
        text.contains("404") && text.contains("a Key Vault?"),
        "{text}"
    );
}

#[tokio::test]
async fn without_a_vault_nothing_is_asked() {
    let sim = sim(full_vault(), &[]).await;
    let mut e = client_credentials(&sim);
    e.remove("AZURE_KEY_VAULT_NAME");
    e.remove("AZURE_KEY_VAULT_URL");
    let secrets = load(&e).await.unwrap();
    assert!(secrets.loaded().is_empty() && secrets.vault().is_none());
    assert!(sim.handle.request_counts().is_empty());

    // And with every variable already set, the vault is not asked either.
    let all_set = with(
        client_credentials(&sim),
        &[
            ("CLIENT_SECRET", "a"),
            ("LLM_API_KEY", "b"),
            ("WEBHOOK_CLIENT_SECRET", "c"),
            ("DATABASE_URL", "sqlite://d.db"),
        ],
    );
    let secrets = load(&all_set).await.unwrap();
    assert!(secrets.loaded().is_empty());
    assert!(sim.handle.request_counts().is_empty());
}

/// A port on 127.0.0.1 nothing listens on: bound, then released.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}
