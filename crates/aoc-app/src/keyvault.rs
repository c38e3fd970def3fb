//! Secret settings from Azure Key Vault at start-up, as the original service read them.
//!
//! With `AZURE_KEY_VAULT_NAME` (or `AZURE_KEY_VAULT_URL`) set, the four secrets below are read
//! once, before the settings, and stand in for their variables:
//!
//! | secret | variable |
//! | --- | --- |
//! | `aoc-client-secret` | `CLIENT_SECRET` |
//! | `aoc-llm-api-key` | `LLM_API_KEY` |
//! | `aoc-webhook-client-secret` | `WEBHOOK_CLIENT_SECRET` |
//! | `aoc-database-url` | `DATABASE_URL` |
//!
//! Precedence: a variable set in the environment (directly or as `NAME_FILE`) wins, and its
//! secret is not even asked for, so an operator can override one secret without touching the
//! vault, and the identity needs no permission on what it does not read. A secret the vault does
//! not have (404 `SecretNotFound`) is simply not used. Anything else (no token, 401, 403, an
//! unreachable vault) stops start-up: running with a default nobody chose (an empty webhook
//! secret, the embedded database) would be worse than not running.
//!
//! The identity that reads the vault: client credentials when `AZURE_TENANT_ID`,
//! `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` are all set, else App Service's managed identity
//! when the platform sets `IDENTITY_ENDPOINT`, else the Instance Metadata Service (virtual
//! machines). `AZURE_CLIENT_ID` alone selects a user-assigned managed identity.
//!
//! Values are held as [`SecretString`] until the settings read them, never logged, and never
//! part of an error.

mod config;
mod error;
mod http;
mod identity;

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use config::{DEFAULT_AUTHORITY_HOST, DEFAULT_IMDS_ENDPOINT, Identity, VaultConfig};
pub use error::KeyVaultError;

/// The Key Vault REST API version the secrets are read with.
pub const API_VERSION: &str = "7.4";

/// Vault secret -> the variable it stands for.
pub const SECRETS: &[(&str, &str)] = &[
    ("aoc-client-secret", "CLIENT_SECRET"),
    ("aoc-llm-api-key", "LLM_API_KEY"),
    ("aoc-webhook-client-secret", "WEBHOOK_CLIENT_SECRET"),
    ("aoc-database-url", "DATABASE_URL"),
];

/// What the vault gave, ready to put in front of the environment with [`VaultSecrets::over`].
/// Empty when no vault is configured.
#[derive(Default)]
pub struct VaultSecrets {
    vault: Option<String>,
    values: Vec<(&'static str, SecretString)>,
    not_in_vault: Vec<&'static str>,
    from_environment: Vec<&'static str>,
}

/// Names only: which variables came from where.
impl fmt::Debug for VaultSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSecrets")
            .field("vault", &self.vault)
            .field("loaded", &self.loaded())
            .field("not_in_vault", &self.not_in_vault)
            .field("from_environment", &self.from_environment)
            .finish()
    }
}

impl VaultSecrets {
    /// The vault's value for `var`, if it gave one.
    pub fn get(&self, var: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(v, _)| *v == var)
            .map(|(_, s)| s.expose_secret().to_string())
    }

    /// The vault's name, when one was read.
    pub fn vault(&self) -> Option<&str> {
        self.vault.as_deref()
    }

    /// Variables the vault supplied.
    pub fn loaded(&self) -> Vec<&'static str> {
        self.values.iter().map(|(v, _)| *v).collect()
    }

    /// Secrets the vault does not have (404), or has empty.
    pub fn not_in_vault(&self) -> &[&'static str] {
        &self.not_in_vault
    }

    /// Variables set in the environment, whose secrets were not asked for.
    pub fn from_environment(&self) -> &[&'static str] {
        &self.from_environment
    }

    /// A lookup that answers from `base` (the environment) and, for what `base` leaves unset
    /// or empty, from the vault: pass it to `Settings::from_lookup`.
    pub fn over<'a>(
        &'a self,
        base: &'a dyn Fn(&str) -> Option<String>,
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |var| {
            base(var)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| self.get(var))
        }
    }

    /// One line for the start-up log (names only); `None` without a vault.
    pub fn summary(&self) -> Option<String> {
        let vault = self.vault.as_ref()?;
        let list = |names: &[&str]| {
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        Some(format!(
            "Key Vault '{vault}': loaded {}; not in the vault: {}; set in the environment: {}",
            list(&self.loaded()),
            list(&self.not_in_vault),
            list(&self.from_environment),
        ))
    }
}

/// Reads the secrets whose variables `lookup` leaves unset, when a vault is configured in
/// `lookup`; without one, returns an empty [`VaultSecrets`] and makes no request.
pub async fn load(
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<VaultSecrets, KeyVaultError> {
    let Some(vault) = VaultConfig::from_lookup(lookup)? else {
        return Ok(VaultSecrets::default());
    };
    let (from_environment, wanted): (Vec<_>, Vec<_>) = SECRETS
        .iter()
        .copied()
        .partition(|(_, var)| config::is_set(lookup, var));
    let secrets = load_from(&vault, &wanted).await?;
    let mut out = VaultSecrets {
        vault: Some(vault.name.clone()),
        from_environment: from_environment.iter().map(|(_, var)| *var).collect(),
        ..VaultSecrets::default()
    };
    for ((secret, var), value) in wanted.iter().copied().zip(secrets) {
        match value {
            Some(value) => out.values.push((var, value)),
            None => out.not_in_vault.push(secret),
        }
    }
    if let Some(summary) = out.summary() {
        tracing::info!("{summary}");
    }
    Ok(out)
}

/// Reads `secrets` (secret name, variable) from `vault`, in order: `None` for one the vault
/// does not have. Asks for one token, and nothing at all when `secrets` is empty.
pub async fn load_from(
    vault: &VaultConfig,
    secrets: &[(&'static str, &'static str)],
) -> Result<Vec<Option<SecretString>>, KeyVaultError> {
    if secrets.is_empty() {
        return Ok(Vec::new());
    }
    let token = identity::token(vault).await?;
    let client = http::client(false).map_err(|e| KeyVaultError::Client {
        vault: vault.name.clone(),
        reason: e.to_string(),
    })?;
    // Together, so a slow vault costs one round trip at start-up, not four; errors are
    // reported for the first secret in table order, whichever answered first.
    let answers = futures::future::join_all(
        secrets
            .iter()
            .map(|(name, _)| get_secret(&client, vault, &token, name)),
    )
    .await;
    answers.into_iter().collect()
}

#[derive(Deserialize)]
struct SecretBundle {
    value: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<ErrorCode>,
}

#[derive(Deserialize)]
struct ErrorCode {
    code: Option<String>,
}

async fn get_secret(
    client: &reqwest::Client,
    vault: &VaultConfig,
    token: &SecretString,
    name: &str,
) -> Result<Option<SecretString>, KeyVaultError> {
    let url = format!("{}/secrets/{name}", vault.url);
    let build = || {
        client
            .get(&url)
            .query(&[("api-version", API_VERSION)])
            .bearer_auth(token.expose_secret())
    };
    let unreachable = |e: reqwest::Error| KeyVaultError::Unreachable {
        vault: vault.name.clone(),
        url: vault.url.clone(),
        reason: http::transport_reason(&e),
    };
    let resp = http::send(build, &[]).await.map_err(unreachable)?;
    let status = resp.status();
    let malformed = |reason: &str| KeyVaultError::Malformed {
        vault: vault.name.clone(),
        secret: name.to_string(),
        reason: reason.to_string(),
    };
    let Some(body) = http::body(resp, http::MAX_BODY_BYTES)
        .await
        .map_err(unreachable)?
    else {
        return Err(malformed("the answer is too large"));
    };
    if status.is_success() {
        let bundle: SecretBundle =
            serde_json::from_slice(&body).map_err(|_| malformed("not a JSON secret bundle"))?;
        let value = bundle.value.ok_or_else(|| malformed("no value"))?;
        return Ok((!value.trim().is_empty()).then(|| SecretString::from(value)));
    }
    let redact = [token.expose_secret()];
    let detail = http::error_detail(&body, &redact).unwrap_or_else(|| "no error details".into());
    let (vault_name, secret, status_text) = (
        vault.name.clone(),
        name.to_string(),
        http::status_text(status),
    );
    match status.as_u16() {
        404 => {
            let code = serde_json::from_slice::<ErrorBody>(&body)
                .ok()
                .and_then(|b| b.error)
                .and_then(|e| e.code);
            // Only the vault's own "no such secret" means absent: a 404 from something that
            // is not a vault (a wrong URL) must not quietly leave the setting at its default.
            if code.as_deref() == Some("SecretNotFound") {
                Ok(None)
            } else {
                Err(KeyVaultError::Status {
                    vault: vault_name,
                    secret,
                    status: status_text,
                    detail: format!("{detail} (is {} a Key Vault?)", vault.url),
                })
            }
        }
        401 => Err(KeyVaultError::Unauthorized {
            vault: vault_name,
            secret,
            status: status_text,
            detail,
        }),
        403 => Err(KeyVaultError::Forbidden {
            vault: vault_name,
            secret,
            status: status_text,
            detail,
        }),
        _ => Err(KeyVaultError::Status {
            vault: vault_name,
            secret,
            status: status_text,
            detail,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn secrets() -> VaultSecrets {
        VaultSecrets {
            vault: Some("contoso-kv".into()),
            values: vec![("CLIENT_SECRET", SecretString::from("from-the-vault"))],
            not_in_vault: vec!["aoc-llm-api-key"],
            from_environment: vec!["DATABASE_URL"],
        }
    }

    #[test]
    fn the_environment_wins_and_the_vault_fills_the_gaps() {
        let s = secrets();
        let env = |k: &str| match k {
            "DATABASE_URL" => Some("sqlite://x.db".to_string()),
            "CLIENT_SECRET" => Some("  ".to_string()),
            _ => None,
        };
        let lookup = s.over(&env);
        assert_eq!(lookup("DATABASE_URL").as_deref(), Some("sqlite://x.db"));
        assert_eq!(lookup("CLIENT_SECRET").as_deref(), Some("from-the-vault"));
        assert_eq!(lookup("LLM_API_KEY"), None);
    }

    #[test]
    fn debug_and_summary_name_variables_not_values() {
        let s = secrets();
        for text in [format!("{s:?}"), s.summary().unwrap()] {
            assert!(!text.contains("from-the-vault"), "{text}");
            assert!(
                text.contains("CLIENT_SECRET") && text.contains("contoso-kv"),
                "{text}"
            );
        }
        assert_eq!(VaultSecrets::default().summary(), None);
    }

    #[test]
    fn every_secret_stands_for_a_distinct_variable() {
        let mut vars: Vec<&str> = SECRETS.iter().map(|(_, v)| *v).collect();
        vars.sort_unstable();
        vars.dedup();
        assert_eq!(vars.len(), SECRETS.len());
    }
}
