pub mod bench;
pub mod demo;
pub mod demo_auth;
pub mod fetch;
pub mod import;
pub mod maintenance;
pub mod serve;
pub mod simulate;

use anyhow::Context;
use std::sync::Arc;

use aoc_app::keyvault::{self, KeyVaultError, VaultSecrets};
use aoc_app::{AppContext, Settings};

/// Settings from the environment, with the secrets Azure Key Vault holds when one is configured
/// (`AZURE_KEY_VAULT_NAME`). Errors name the variable, or the vault and the secret.
pub async fn settings() -> anyhow::Result<Settings> {
    let env = |k: &str| std::env::var(k).ok();
    Ok(settings_from(&env).await?.0)
}

/// [`settings`] over any lookup (`aoc demo` puts its own wiring in front of the environment),
/// with what the vault gave.
pub async fn settings_from(
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> anyhow::Result<(Settings, VaultSecrets)> {
    let secrets = match keyvault::load(lookup).await {
        Ok(secrets) => secrets,
        Err(e @ KeyVaultError::Config { .. }) => {
            return Err(anyhow::Error::new(e).context("invalid configuration"));
        }
        // These name the vault already.
        Err(e) => return Err(e.into()),
    };
    let settings = Settings::from_lookup(&secrets.over(lookup)).context("invalid configuration")?;
    Ok((settings, secrets))
}

pub async fn open_context(settings: Settings) -> anyhow::Result<Arc<AppContext>> {
    Ok(AppContext::open(settings).await?)
}
