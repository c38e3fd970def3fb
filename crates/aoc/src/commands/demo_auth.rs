//! `aoc demo --auth`: the settings that make the demo's server trust the simulated tenant as
//! its OpenID provider, and the demo users to print. The simulator always serves its OpenID
//! endpoints (see `aoc_sim::oidc`); nothing needs switching on there.
//!
//! Demo only: the simulated tenant signs anyone in as any demo user without a password.

use aoc_sim::oidc::{
    DEMO_APP_CLIENT_ID, DEMO_USERS, ROLE_ADMIN, ROLE_PRIVACY, ROLE_READER, issuer,
};

/// The service whose events the demo hides from users without the privacy role, so the
/// difference between the admin and the reader shows.
pub const DEMO_PRIVACY_SERVICES: &str = "Exchange";

/// AUTH_* and PRIVACY_* settings for a server signing users in at the simulator on
/// `sim_base_url` (tenant `tenant_id`).
pub fn auth_env(sim_base_url: &str, tenant_id: &str) -> Vec<(String, String)> {
    [
        ("AUTH_ENABLED", "true".to_string()),
        ("AUTH_TENANT_ID", tenant_id.to_string()),
        ("AUTH_CLIENT_ID", DEMO_APP_CLIENT_ID.to_string()),
        // The simulator is "another OIDC provider": its issuer is its own base URL, and the
        // server finds keys (and the UI its endpoints) through the issuer's discovery document.
        ("AUTH_ISSUER", issuer(sim_base_url, tenant_id)),
        ("AUTH_ALLOWED_ROLES", format!("{ROLE_ADMIN},{ROLE_READER}")),
        ("AUTH_ALLOWED_GROUPS", String::new()),
        ("PRIVACY_SERVICES", DEMO_PRIVACY_SERVICES.to_string()),
        ("PRIVACY_SERVICE_ROLES", ROLE_PRIVACY.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// One line per demo user: who, their roles, and what they may do.
pub fn describe_users() -> String {
    DEMO_USERS
        .iter()
        .map(|u| {
            let roles = u.roles_label();
            format!(
                "    {:<12} {} <{}> [{}]: {}",
                u.key, u.name, u.username, roles, u.about
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn settings_are_valid_and_trust_the_simulator() {
        let tenant = aoc_sim::DEFAULT_TENANT_ID;
        let map: HashMap<String, String> = auth_env("http://127.0.0.1:9100/", tenant)
            .into_iter()
            .collect();
        let s = aoc_app::Settings::from_map(&map).unwrap();
        assert!(s.auth.enabled);
        assert_eq!(s.auth.client_id, DEMO_APP_CLIENT_ID);
        assert_eq!(
            s.auth.issuer,
            format!("http://127.0.0.1:9100/{tenant}/v2.0")
        );
        assert_eq!(s.auth.allowed_roles, vec![ROLE_ADMIN, ROLE_READER]);
        assert_eq!(s.privacy.service_roles, vec![ROLE_PRIVACY]);
        assert_eq!(s.privacy.services, vec![DEMO_PRIVACY_SERVICES]);
    }

    #[test]
    fn every_user_is_described() {
        let text = describe_users();
        for u in DEMO_USERS {
            assert!(text.contains(u.name) && text.contains(u.about));
        }
        assert_eq!(text.lines().count(), DEMO_USERS.len());
    }
}
