//! HTTP for the start-up secrets load: short timeouts, a few retries on throttling and server
//! errors (honouring `Retry-After`), bounded bodies, and error details that are safe to print.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

/// A vault or token endpoint that does not accept a connection this fast is down or
/// firewalled; start-up should say so rather than hang.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per request, the first included.
const MAX_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// No single wait is longer, whatever `Retry-After` asks: start-up must not stall for minutes.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Secrets are at most 25 KB in Key Vault; anything much bigger is not an answer we want.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;
/// Longest remote error detail quoted in a message.
const MAX_DETAIL_CHARS: usize = 300;

/// `direct`: skip any HTTP proxy. The managed identity endpoints are link-local or on the host
/// and must be reached directly; a proxy would not get there (and should not see the token).
pub(crate) fn client(direct: bool) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        // A redirect would carry the bearer token somewhere the configuration did not name.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("aoc/", env!("CARGO_PKG_VERSION")));
    if direct {
        builder = builder.no_proxy();
    }
    builder.build()
}

/// Worth another attempt. `extra` adds statuses one endpoint documents as transient (IMDS:
/// 404 while it updates, 410 while it starts).
fn retryable(status: StatusCode, extra: &[u16]) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504) || extra.contains(&status.as_u16())
}

/// A refused connection or a timeout will not heal in a second; a connection dropped
/// mid-request might.
fn transient(e: &reqwest::Error) -> bool {
    !e.is_connect() && !e.is_timeout() && !e.is_builder() && (e.is_request() || e.is_body())
}

fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_WAIT)
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let value = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    aoc_m365::retry::parse_retry_after(value, chrono::Utc::now())
}

/// Sends what `build` makes, again after a pause when the answer is throttling or a server
/// error, at most [`MAX_ATTEMPTS`] times. The last answer is returned whatever its status.
pub(crate) async fn send(
    build: impl Fn() -> RequestBuilder,
    extra_retryable: &[u16],
) -> reqwest::Result<Response> {
    let mut attempt = 1;
    loop {
        let last = attempt >= MAX_ATTEMPTS;
        match build().send().await {
            Ok(resp) if !last && retryable(resp.status(), extra_retryable) => {
                let wait = retry_after(&resp)
                    .unwrap_or_else(|| backoff(attempt))
                    .min(MAX_WAIT);
                tracing::debug!(status = %resp.status(), ?wait, attempt, "Key Vault load: retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) if !last && transient(&e) => {
                tracing::debug!(attempt, "Key Vault load: retrying after a dropped request");
                tokio::time::sleep(backoff(attempt)).await;
            }
            other => return other,
        }
        attempt += 1;
    }
}

/// The body, up to `limit` bytes (`None` beyond that).
pub(crate) async fn body(mut resp: Response, limit: usize) -> reqwest::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// Why a request got no answer, in words for an operator: the innermost cause ("Connection
/// refused"), or the timeout.
pub(crate) fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!(
            "no answer within {} s (connect {} s)",
            REQUEST_TIMEOUT.as_secs(),
            CONNECT_TIMEOUT.as_secs()
        );
    }
    let mut innermost: &dyn std::error::Error = e;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    innermost.to_string()
}

/// "403 Forbidden".
pub(crate) fn status_text(status: StatusCode) -> String {
    status.to_string()
}

/// The error code and message of a Microsoft error body, whichever of its shapes it has:
/// `{"error": {"code", "message", "innererror": {"code"}}}` (Key Vault, Graph),
/// `{"error", "error_description"}` (identity platform, IMDS) or `{"message"}`. Never the
/// raw body: a body that is none of these is not quoted. `redact` lists credentials to cut out
/// in case an endpoint echoes one.
pub(crate) fn error_detail(body: &[u8], redact: &[&str]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let detail = match v.get("error") {
        Some(Value::Object(e)) => {
            let code = e.get("code").and_then(text_of);
            let message = e.get("message").and_then(text_of);
            let inner = e
                .get("innererror")
                .and_then(|i| i.get("code"))
                .and_then(text_of);
            let mut parts: Vec<String> = Vec::new();
            match (code, inner) {
                (Some(c), Some(i)) => parts.push(format!("{c}/{i}")),
                (Some(c), None) => parts.push(c.to_string()),
                (None, Some(i)) => parts.push(i.to_string()),
                (None, None) => {}
            }
            parts.extend(message.map(str::to_string));
            parts.join(": ")
        }
        Some(e @ Value::String(_)) => {
            let description = v.get("error_description").and_then(text_of).map(|d| {
                // Entra appends trace and correlation ids and a timestamp: noise in a
                // start-up message.
                d.split(" Trace ID:").next().unwrap_or(d).trim().to_string()
            });
            match (text_of(e), description) {
                (Some(c), Some(d)) => format!("{c}: {d}"),
                (Some(c), None) => c.to_string(),
                (None, Some(d)) => d,
                (None, None) => String::new(),
            }
        }
        _ => v
            .get("message")
            .and_then(text_of)
            .unwrap_or_default()
            .to_string(),
    };
    let detail = scrub(&detail, redact);
    (!detail.is_empty()).then(|| shorten(&detail))
}

fn text_of(v: &Value) -> Option<&str> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// Cuts each of `secrets` out of `text` (those shorter than 4 characters would cut ordinary
/// words, and are no credential anyone uses).
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, "[redacted]");
    }
    out
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_DETAIL_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_DETAIL_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn details_come_from_each_error_shape() {
        let vault = br#"{"error":{"code":"Forbidden","message":"no get permission","innererror":{"code":"AccessDenied"}}}"#;
        assert_eq!(
            error_detail(vault, &[]).unwrap(),
            "Forbidden/AccessDenied: no get permission"
        );
        let aad = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2"}"#;
        assert_eq!(
            error_detail(aad, &[]).unwrap(),
            "invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(error_detail(br#"{"message":"nope"}"#, &[]).unwrap(), "nope");
        assert_eq!(error_detail(b"<html>proxy page</html>", &[]), None);
        assert_eq!(error_detail(br#"{"value":"a secret"}"#, &[]), None);
    }

    #[test]
    fn details_lose_echoed_credentials_and_length() {
        let body =
            br#"{"error":"invalid_request","error_description":"header hunter2-header is wrong"}"#;
        let detail = error_detail(body, &["hunter2-header", "ab"]).unwrap();
        assert!(!detail.contains("hunter2-header"));
        assert!(detail.contains("[redacted]"));
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(1000));
        assert!(
            error_detail(long.as_bytes(), &[]).unwrap().chars().count() <= MAX_DETAIL_CHARS + 1
        );
    }

    #[test]
    fn throttling_and_server_errors_are_retried_for_a_bounded_time() {
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS, &[]));
        assert!(retryable(StatusCode::SERVICE_UNAVAILABLE, &[]));
        assert!(!retryable(StatusCode::NOT_FOUND, &[]));
        assert!(retryable(StatusCode::NOT_FOUND, &[404]));
        assert!(!retryable(StatusCode::FORBIDDEN, &[]));
        assert!(!retryable(StatusCode::NOT_IMPLEMENTED, &[]));
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(30), MAX_WAIT);
    }
}
