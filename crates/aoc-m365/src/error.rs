//! The one error type of this crate. No variant ever holds a token or the client secret.

use std::fmt;

/// What a page or blob handler may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which Microsoft endpoint a failure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// The identity platform token endpoint.
    Login,
    /// Microsoft Graph.
    Graph,
    /// The Office 365 Management Activity API (including content blob downloads).
    Management,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Login => "login",
            Service::Graph => "Microsoft Graph",
            Service::Management => "Management Activity API",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum M365Error {
    #[error("invalid M365 configuration: {0}")]
    Config(String),

    /// Microsoft answered with a failure status. `code` is Microsoft's own code where the body
    /// had one: Graph `error.code` (e.g. `Authorization_RequestDenied`), Management API
    /// `error.code` (e.g. `AF20022`), or the OAuth `error` of the token endpoint (e.g.
    /// `invalid_client`, with the `AADSTS…` text in `message`).
    #[error("{service} answered HTTP {status}{}: {message}", fmt_code(code))]
    Api {
        service: Service,
        status: u16,
        code: Option<String>,
        message: String,
        /// Attempts made, the failing one included.
        attempts: u32,
    },

    /// No HTTP answer: connection failure or timeout, after all attempts.
    #[error("{service} request failed after {attempts} attempt(s): {message}")]
    Transport {
        service: Service,
        message: String,
        timed_out: bool,
        attempts: u32,
    },

    /// A success status with a body or header this crate cannot use (malformed JSON, a missing
    /// `value` array, a paging link to another host, ...).
    #[error("unexpected response from {service}: {message}")]
    Malformed { service: Service, message: String },

    /// The caller's page or blob handler failed; paging stopped there.
    #[error("page handler failed: {0}")]
    Handler(BoxError),
}

fn fmt_code(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default()
}

impl M365Error {
    /// HTTP status of an [`M365Error::Api`] failure.
    pub fn status(&self) -> Option<u16> {
        match self {
            M365Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Microsoft's error code of an [`M365Error::Api`] failure.
    pub fn code(&self) -> Option<&str> {
        match self {
            M365Error::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// True when the last answer was throttling (429, 503, or the Management API's 403 `AF429`):
    /// the caller may try the whole run again later.
    pub fn is_throttling(&self) -> bool {
        match self {
            M365Error::Api { status, code, .. } => {
                crate::retry::is_throttling(*status, code.as_deref())
            }
            _ => false,
        }
    }
}

/// Keeps error text short enough for a log line.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 512;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn display_names_status_code_and_message() {
        let e = M365Error::Api {
            service: Service::Management,
            status: 400,
            code: Some("AF20055".into()),
            message: "Start time and end time must ...".into(),
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "Management Activity API answered HTTP 400 (AF20055): Start time and end time must ..."
        );
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.code(), Some("AF20055"));
        assert!(!e.is_throttling());
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(600);
        let c = clip(&s);
        assert!(c.len() <= 512 + '…'.len_utf8());
    }
}
