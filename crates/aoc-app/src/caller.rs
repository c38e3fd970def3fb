/// Who is asking: the signed-in user (from a validated token) or anonymous when auth is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Display name or UPN for comments and the activity log; "anonymous" without auth.
    pub name: String,
    /// Token subject (rate-limit key); None when anonymous.
    pub subject: Option<String>,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
}

impl Caller {
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".into(),
            ..Default::default()
        }
    }

    pub fn has_any_role(&self, roles: &[String]) -> bool {
        self.roles
            .iter()
            .any(|r| roles.iter().any(|a| a.eq_ignore_ascii_case(r)))
    }
}
