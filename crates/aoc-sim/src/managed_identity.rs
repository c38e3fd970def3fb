//! The managed identities of the host the simulated tenant pretends to run on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The managed identities of the host the simulated tenant pretends to run on, as the Azure
/// Instance Metadata Service (`/metadata/identity/oauth2/token`) and the App Service identity
/// endpoint (`/msi/token`) hand out tokens for them.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedIdentityConfig {
    /// Client id of the system-assigned identity (used when a request names none).
    pub system_assigned_client_id: String,
    /// Client ids of the user-assigned identities attached to the host.
    pub user_assigned_client_ids: Vec<String>,
    /// What App Service puts in `IDENTITY_HEADER`; `/msi/token` requires it back in
    /// `X-IDENTITY-HEADER`.
    pub identity_header: String,
}

impl Default for ManagedIdentityConfig {
    fn default() -> Self {
        ManagedIdentityConfig {
            system_assigned_client_id: "00000000-0000-0000-0000-0000000000d1".to_string(),
            user_assigned_client_ids: vec!["00000000-0000-0000-0000-0000000000d2".to_string()],
            identity_header: "aoc-sim-identity-header".to_string(),
        }
    }
}

impl ManagedIdentityConfig {
    /// The client id a token is issued for: the named user-assigned identity, or the
    /// system-assigned one. `None` when the host has no identity by that client id.
    pub(crate) fn resolve(&self, client_id: Option<&str>) -> Option<&str> {
        match client_id {
            None => Some(self.system_assigned_client_id.as_str()),
            Some(id) => self
                .user_assigned_client_ids
                .iter()
                .chain(std::iter::once(&self.system_assigned_client_id))
                .find(|known| known.eq_ignore_ascii_case(id))
                .map(String::as_str),
        }
    }
}

impl fmt::Debug for ManagedIdentityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentityConfig")
            .field("system_assigned_client_id", &self.system_assigned_client_id)
            .field("user_assigned_client_ids", &self.user_assigned_client_ids)
            .field("identity_header", &"<redacted>")
            .finish()
    }
}
