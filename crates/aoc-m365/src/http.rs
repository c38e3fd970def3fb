//! One place that sends a request: per-request timeout, retries by [`RetryPolicy`], pacing,
//! error bodies decoded into Microsoft's code and message.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use crate::error::{M365Error, Service, clip};
use crate::retry::{Decision, Failure, RetryPolicy};

/// A successful (2xx) answer, body read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self, service: Service) -> Result<Value, M365Error> {
        serde_json::from_slice(&self.body).map_err(|e| M365Error::Malformed {
            service,
            message: format!("body is not JSON: {e}"),
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Keeps requests to one API at least `interval` apart, across every clone of the client.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Duration,
    next_slot: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    pub fn new(interval: Duration) -> Self {
        Pacer {
            interval,
            next_slot: tokio::sync::Mutex::new(None),
        }
    }

    pub async fn wait_turn(&self) {
        if self.interval.is_zero() {
            return;
        }
        // The lock is held through the sleep on purpose: waiters queue up one interval apart.
        let mut next = self.next_slot.lock().await;
        if let Some(at) = *next {
            tokio::time::sleep_until(at).await;
        }
        *next = Some(tokio::time::Instant::now() + self.interval);
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub policy: RetryPolicy,
}

impl Transport {
    pub fn new(timeout: Duration, policy: RetryPolicy) -> Result<Self, M365Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("aoc-m365/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| M365Error::Config(format!("HTTP client: {e}")))?;
        Ok(Transport { http, policy })
    }

    /// Sends the request `build` makes, again as the policy allows, until a 2xx answer.
    /// `build` is called once per attempt because a sent request is consumed.
    pub async fn send(
        &self,
        service: Service,
        pacer: Option<&Pacer>,
        build: &(dyn Fn() -> RequestBuilder + Send + Sync),
    ) -> Result<Answer, M365Error> {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if let Some(p) = pacer {
                p.wait_turn().await;
            }
            let failure = match build().send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) if status.is_success() => {
                            return Ok(Answer {
                                headers,
                                body: body.to_vec(),
                            });
                        }
                        Ok(body) => Attempt::Refused {
                            status,
                            retry_after: headers
                                .get(RETRY_AFTER)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                            error: ErrorBody::parse(&body, status),
                        },
                        Err(e) => Attempt::NoAnswer {
                            timed_out: e.is_timeout(),
                            message: format!("reading the body of HTTP {status}: {e}"),
                        },
                    }
                }
                Err(e) => Attempt::NoAnswer {
                    timed_out: e.is_timeout(),
                    message: e.to_string(),
                },
            };
            let decision = {
                let as_failure = match &failure {
                    Attempt::Refused {
                        status,
                        retry_after,
                        error,
                    } => Failure::Status {
                        status: status.as_u16(),
                        retry_after: retry_after.as_deref(),
                        error_code: error.code.as_deref(),
                    },
                    Attempt::NoAnswer { .. } => Failure::Transport,
                };
                self.policy
                    .decide(attempt, as_failure, chrono::Utc::now(), &mut rand::rng())
            };
            match decision {
                Decision::RetryAfter(wait) => {
                    tracing::warn!(
                        %service,
                        attempt,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        failure = %failure.summary(),
                        "retrying Microsoft 365 request"
                    );
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp => return Err(failure.into_error(service, attempt)),
            }
        }
    }
}

enum Attempt {
    Refused {
        status: StatusCode,
        retry_after: Option<String>,
        error: ErrorBody,
    },
    NoAnswer {
        timed_out: bool,
        message: String,
    },
}

impl Attempt {
    fn summary(&self) -> String {
        match self {
            Attempt::Refused { status, error, .. } => match &error.code {
                Some(code) => format!("HTTP {} ({code})", status.as_u16()),
                None => format!("HTTP {}", status.as_u16()),
            },
            Attempt::NoAnswer {
                timed_out: true, ..
            } => "timeout".to_owned(),
            Attempt::NoAnswer { message, .. } => clip(message),
        }
    }

    fn into_error(self, service: Service, attempts: u32) -> M365Error {
        match self {
            Attempt::Refused { status, error, .. } => M365Error::Api {
                service,
                status: status.as_u16(),
                code: error.code,
                message: error.message,
                attempts,
            },
            Attempt::NoAnswer { timed_out, message } => M365Error::Transport {
                service,
                message: clip(&message),
                timed_out,
                attempts,
            },
        }
    }
}

/// Microsoft's error code and message from a failure body, whichever of its shapes it has:
/// `{"error":{"code","message"}}` (Graph, Management API) or
/// `{"error":"...","error_description":"..."}` (OAuth token endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub code: Option<String>,
    pub message: String,
}

impl ErrorBody {
    pub fn parse(body: &[u8], status: StatusCode) -> ErrorBody {
        let fallback = || {
            status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_owned()
        };
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            return ErrorBody {
                code: None,
                message: if text.is_empty() || text.starts_with('<') {
                    fallback()
                } else {
                    clip(text)
                },
            };
        };
        let (code, message) = match json.get("error") {
            Some(Value::Object(e)) => (
                e.get("code").and_then(Value::as_str),
                e.get("message").and_then(Value::as_str),
            ),
            Some(Value::String(code)) => (
                Some(code.as_str()),
                json.get("error_description").and_then(Value::as_str),
            ),
            _ => (
                json.get("code").and_then(Value::as_str),
                json.get("message").and_then(Value::as_str),
            ),
        };
        ErrorBody {
            code: code.filter(|c| !c.is_empty()).map(str::to_owned),
            message: message
                .filter(|m| !m.trim().is_empty())
                .map(clip)
                .unwrap_or_else(fallback),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn the_pacer_spaces_requests_at_least_an_interval_apart() {
        let pacer = Pacer::new(Duration::from_millis(40));
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            pacer.wait_turn().await;
        }
        // A lower bound only: sleeps never end early, so this cannot flake.
        assert!(start.elapsed() >= Duration::from_millis(80));
        Pacer::new(Duration::ZERO).wait_turn().await;
    }

    #[test]
    fn error_bodies_of_every_shape_are_read() {
        let graph = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges","innerError":{}}}"#;
        assert_eq!(
            ErrorBody::parse(graph, StatusCode::FORBIDDEN),
            ErrorBody {
                code: Some("Authorization_RequestDenied".into()),
                message: "Insufficient privileges".into()
            }
        );
        let oauth = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#;
        let e = ErrorBody::parse(oauth, StatusCode::UNAUTHORIZED);
        assert_eq!(e.code.as_deref(), Some("invalid_client"));
        assert!(e.message.starts_with("AADSTS7000215"));
        let html = b"<html><body>Bad gateway</body></html>";
        assert_eq!(
            ErrorBody::parse(html, StatusCode::BAD_GATEWAY).message,
            "Bad Gateway"
        );
        assert_eq!(
            ErrorBody::parse(b"", StatusCode::SERVICE_UNAVAILABLE),
            ErrorBody {
                code: None,
                message: "Service Unavailable".into()
            }
        );
        let odd = br#"{"error":42}"#;
        assert_eq!(ErrorBody::parse(odd, StatusCode::BAD_REQUEST).code, None);
    }
}
