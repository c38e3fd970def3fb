//! The language model behind ask and explain: an OpenAI-compatible chat completions client
//! (OpenAI, Azure OpenAI / Foundry with LLM_API_VERSION, a local Ollama or vLLM).
//!
//! Its URL goes through the egress guard like every outbound call: checked when the context is
//! built (https, LLM_ALLOWED_DOMAINS, no private address unless EGRESS_ALLOW_PRIVATE lists it)
//! and again at connect time by the guarded resolver. Event text reaches the model only as
//! delimited, JSON-encoded data (see [`prompt`]); the answers are checked against the events
//! actually given (see [`cite`]).

pub mod cite;
pub mod prompt;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use crate::config::LlmSettings;
use crate::egress::{EgressPolicy, parse_domain_list, redacted};

/// OpenAI's endpoint, used when only LLM_API_KEY is set.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Longest answer asked of the model, in tokens.
const MAX_TOKENS: u32 = 900;

/// Why the model gave no answer. Messages never include the key or the URL's path.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the language model did not answer within {0} s")]
    Timeout(u64),
    #[error("the language model could not be reached: {0}")]
    Transport(String),
    #[error("the language model answered HTTP {0}")]
    Status(u16),
    #[error("the language model's answer was not understood: {0}")]
    Malformed(String),
}

/// A configured chat completions endpoint.
#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    url: Url,
    shown: String,
    key: Option<SecretString>,
    azure: bool,
    model: String,
    timeout: Duration,
    pub max_events: usize,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("endpoint", &self.shown)
            .field("azure", &self.azure)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// The chat completions URL for these settings: `{base}/chat/completions`, or for Azure
/// `{base}/openai/deployments/{model}/chat/completions?api-version={version}`.
pub fn completions_url(base: &str, model: &str, api_version: Option<&str>) -> Result<Url, String> {
    let base = base.trim().trim_end_matches('/');
    let text = match api_version {
        None => format!("{base}/chat/completions"),
        Some(_) if base.contains("/openai/deployments/") => format!("{base}/chat/completions"),
        Some(_) => format!("{base}/openai/deployments/{model}/chat/completions"),
    };
    let mut url = Url::parse(&text).map_err(|e| format!("not a valid URL: {e}"))?;
    if let Some(version) = api_version {
        url.query_pairs_mut().append_pair("api-version", version);
    }
    Ok(url)
}

impl LlmClient {
    /// The client for these settings; None when no model is configured. Refused (with the
    /// reason) when the egress guard refuses the URL.
    pub fn from_settings(
        settings: &LlmSettings,
        egress: &EgressPolicy,
    ) -> Result<Option<Self>, String> {
        if !settings.configured() {
            return Ok(None);
        }
        let base = settings.base_url.as_deref().unwrap_or(OPENAI_BASE_URL);
        let domains = parse_domain_list(&settings.allowed_domains)
            .map_err(|e| format!("LLM_ALLOWED_DOMAINS: {e}"))?;
        let url = completions_url(base, &settings.model, settings.api_version.as_deref())
            .map_err(|e| format!("LLM_BASE_URL: {e}"))?;
        let url = egress
            .check_url(url.as_str(), &domains)
            .map_err(|e| format!("LLM_BASE_URL: {e}"))?;
        let http = egress
            .client_builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| format!("LLM client: {e}"))?;
        Ok(Some(Self {
            shown: redacted(&url),
            http,
            url,
            key: settings.api_key.clone(),
            azure: settings.api_version.is_some(),
            model: settings.model.clone(),
            timeout: settings.timeout,
            max_events: settings.max_events,
        }))
    }

    /// `scheme://host[:port]` of the endpoint, for logs.
    pub fn endpoint(&self) -> &str {
        &self.shown
    }

    /// One chat completion: the system instructions and the user message (which carries the
    /// delimited data); the model's text.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0.2,
            "max_tokens": MAX_TOKENS,
        });
        let mut request = self.http.post(self.url.clone()).json(&body);
        if let Some(key) = &self.key {
            request = if self.azure {
                request.header("api-key", key.expose_secret())
            } else {
                request.bearer_auth(key.expose_secret())
            };
        }
        let call = async {
            let response = request.send().await.map_err(|e| {
                if e.is_timeout() {
                    LlmError::Timeout(self.timeout.as_secs())
                } else {
                    LlmError::Transport(transport_reason(&e))
                }
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(LlmError::Status(status.as_u16()));
            }
            let value: Value = response
                .json()
                .await
                .map_err(|e| LlmError::Malformed(e.to_string()))?;
            value
                .pointer("/choices/0/message/content")
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| LlmError::Malformed("no choices[0].message.content".into()))
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(LlmError::Timeout(self.timeout.as_secs())),
        }
    }
}

/// The reason without the URL (whose path or query may identify a deployment).
fn transport_reason(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last.unwrap_or_else(|| "connection failed".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::egress::parse_allow_private;

    fn settings(base: Option<&str>, version: Option<&str>, domains: &str) -> LlmSettings {
        LlmSettings {
            api_key: Some(SecretString::from("k")),
            base_url: base.map(str::to_string),
            model: "gpt-test".into(),
            max_events: 10,
            timeout: Duration::from_secs(5),
            api_version: version.map(str::to_string),
            allowed_domains: domains.into(),
        }
    }

    #[test]
    fn urls_for_openai_and_azure() {
        assert_eq!(
            completions_url("https://api.openai.com/v1/", "m", None)
                .unwrap()
                .as_str(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            completions_url("https://x.openai.azure.com", "dep", Some("2024-10-21"))
                .unwrap()
                .as_str(),
            "https://x.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21"
        );
    }

    #[test]
    fn the_egress_guard_decides_where_the_model_may_be() {
        let open = EgressPolicy::default();
        assert!(
            LlmClient::from_settings(&settings(None, None, ""), &open)
                .unwrap()
                .is_some()
        );
        // Private, plain http, or outside the allowlist: refused with the variable named.
        for (base, domains) in [
            ("http://127.0.0.1:11434/v1", ""),
            ("https://10.1.2.3/v1", ""),
            ("https://evil.example.net/v1", "*.openai.azure.com"),
        ] {
            let err =
                LlmClient::from_settings(&settings(Some(base), None, domains), &open).unwrap_err();
            assert!(err.starts_with("LLM_BASE_URL"), "{err}");
        }
        assert!(
            LlmClient::from_settings(
                &settings(
                    Some("https://x.openai.azure.com"),
                    Some("v"),
                    "*.openai.azure.com"
                ),
                &open
            )
            .unwrap()
            .is_some()
        );
        let local = EgressPolicy::new(parse_allow_private("127.0.0.1").unwrap());
        assert!(
            LlmClient::from_settings(
                &settings(Some("http://127.0.0.1:11434/v1"), None, ""),
                &local
            )
            .unwrap()
            .is_some()
        );
        let mut none = settings(None, None, "");
        none.api_key = None;
        assert!(LlmClient::from_settings(&none, &open).unwrap().is_none());
    }
}
