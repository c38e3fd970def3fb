//! Settings that make the demo's server trust the simulated tenant as its sign-in provider.
//! (Placeholder until the simulated tenant's OIDC endpoints land.)

pub fn auth_env(_sim_base_url: &str, _tenant_id: &str) -> Vec<(String, String)> {
    Vec::new()
}

pub fn describe_users() -> String {
    "    (sign-in for the demo is not available yet)".to_string()
}
