pub mod bench;
pub mod demo;
pub mod demo_auth;
pub mod fetch;
pub mod import;
pub mod maintenance;
pub mod mcp;
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

/// With ALERTS_ENABLED, evaluate what the rules have not seen yet (a fetch or import from the
/// command line, with no server evaluating in the background) and say what it raised, on
/// stderr so `--json` output stays one document. A failure here is a warning: the events are
/// stored, and the next run or the server evaluates them.
pub async fn report_alerts(ctx: &AppContext) {
    match ctx.evaluate_alerts_now().await {
        Ok(None) => {}
        Ok(Some(r)) => eprintln!(
            "alert rules: {} events evaluated, {} new alerts, {} open{}",
            r.evaluated,
            r.new_alerts,
            r.open,
            if r.delivered > 0 {
                format!(", {} notifications sent", r.delivered)
            } else {
                String::new()
            }
        ),
        Err(e) => eprintln!("warning: alert rules not evaluated: {e}"),
    }
}

pub async fn open_context(settings: Settings) -> anyhow::Result<Arc<AppContext>> {
    Ok(AppContext::open(settings).await?)
}
