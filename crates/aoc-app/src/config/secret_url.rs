//! A URL that may carry a password (DATABASE_URL, REDIS_URL). Settings are printed with `{:?}`
//! in places nobody audits, so the type itself refuses to show the password.

use std::fmt;
use std::ops::Deref;

#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, password included: for connecting, never for messages.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl Deref for SecretUrl {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

/// Replace the password of a URL with `***`. A string the URL parser rejects (or reads without
/// a host) may still hold credentials, say a password with a character the parser dislikes:
/// there everything before the last `@` goes.
pub fn redact(url: &str) -> String {
    if let Ok(mut u) = url::Url::parse(url)
        && u.has_host()
    {
        if u.password().is_some() && u.set_password(Some("***")).is_ok() {
            return u.to_string();
        }
        return url.to_string();
    }
    match url.rfind('@') {
        None => url.to_string(),
        Some(at) => {
            let (userinfo, rest) = url.split_at(at);
            let scheme = userinfo
                .find("://")
                .map_or("", |i| userinfo.split_at(i + 3).0);
            format!("{scheme}***{rest}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact("sqlite://aoc.db"), "sqlite://aoc.db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        // Unparseable (the port is not a number), yet it carries a password.
        assert_eq!(redact("postgres://u:pw@h:x/db"), "postgres://***@h:x/db");
        // Parsed as a scheme and a path, without a host.
        assert_eq!(redact("u:pw@h"), "***@h");
        assert_eq!(redact("u:pw@h://x"), "***@h://x");
        let url = SecretUrl::new("postgres://u:hunter2@h/db");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://u:hunter2@h/db");
    }
}
