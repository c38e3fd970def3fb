use std::net::IpAddr;

/// Who is asking: the signed-in user (from a validated token), anonymous when auth is off, or
/// AOC itself (`cli`, `scheduler`, `webhook`, `import`) for work no person asked for over HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Display name or UPN for comments and the activity log; "anonymous" without auth.
    pub name: String,
    /// Token subject (rate-limit key); None when anonymous.
    pub subject: Option<String>,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    /// The client's address as the server believes it (the peer, or the address a trusted
    /// proxy forwarded); None for callers that are not HTTP requests.
    pub ip: Option<IpAddr>,
}

impl Caller {
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".into(),
            ..Default::default()
        }
    }

    /// AOC acting on its own behalf: `cli`, `scheduler`, `webhook`, `import`. Such a caller has
    /// no roles, so privacy gating applies to it like to any anonymous reader.
    pub fn system(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn has_any_role(&self, roles: &[String]) -> bool {
        self.roles
            .iter()
            .any(|r| roles.iter().any(|a| a.eq_ignore_ascii_case(r)))
    }
}
