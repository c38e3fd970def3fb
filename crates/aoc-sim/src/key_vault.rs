//! What the simulated Azure Key Vault holds, and what it refuses.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// `clientState` the demo's Graph change notifications carry; served by the default vault as
/// `aoc-webhook-client-secret`. Not a secret: anyone with the source can read it.
pub const DEFAULT_WEBHOOK_CLIENT_STATE: &str = "aoc-sim-webhook-client-state";

/// The simulated vault behind `GET /secrets/{name}`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyVaultConfig {
    /// The vault's name, as Key Vault names it in a 403 answer.
    pub name: String,
    /// Secret name -> value. Names compare case-insensitively, as Key Vault's do.
    pub secrets: BTreeMap<String, String>,
    /// Secrets the caller has no `get` permission on: 403 `Forbidden`, whether they exist or
    /// not (Key Vault checks permission before it looks the secret up).
    pub denied: Vec<String>,
}

impl Default for KeyVaultConfig {
    fn default() -> Self {
        KeyVaultConfig {
            name: "aoc-sim-kv".to_string(),
            secrets: BTreeMap::from([(
                "aoc-webhook-client-secret".to_string(),
                DEFAULT_WEBHOOK_CLIENT_STATE.to_string(),
            )]),
            denied: Vec::new(),
        }
    }
}

impl KeyVaultConfig {
    /// The stored name and value of `name`, matched case-insensitively.
    pub(crate) fn secret(&self, name: &str) -> Option<(&str, &str)> {
        self.secrets
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub(crate) fn is_denied(&self, name: &str) -> bool {
        self.denied.iter().any(|d| d.eq_ignore_ascii_case(name))
    }
}

/// Values stay out of `Debug`: tests print configs, and the point of a vault is that values
/// do not end up in logs.
impl fmt::Debug for KeyVaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVaultConfig")
            .field("name", &self.name)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("denied", &self.denied)
            .finish()
    }
}
