use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// axum and tower answer some errors (405, 413, 408) in plain text; every error we send is JSON.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "request body is too large",
        StatusCode::REQUEST_TIMEOUT => "request timed out",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported media type",
        _ => status.canonical_reason().unwrap_or("error"),
    };
    let (mut parts, _) = res.into_parts();
    let mut fresh = ApiError::new(status, message).into_response();
    // Keep headers such as Allow and Retry-After, but not the old body's type or length.
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (k, v) in parts.headers.iter() {
        fresh
            .headers_mut()
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    fresh
}

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// The CSP with sign-in on: the UI also talks to the identity provider (discovery document,
/// token endpoint), so its origin joins `connect-src` and `form-action`. Nothing else widens.
pub fn csp_with_provider(provider_origin: &str) -> String {
    CSP.replace(
        "connect-src 'self';",
        &format!("connect-src 'self' {provider_origin};"),
    )
    .replace(
        "form-action 'self';",
        &format!("form-action 'self' {provider_origin};"),
    )
}

/// The origin (`scheme://host[:port]`) of an http(s) URL, fit to put in a CSP source list.
pub fn csp_origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let origin = u.origin().ascii_serialization();
    // A source expression must not carry CSP syntax (';', ',', quotes, spaces).
    origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'.' | b'-' | b'[' | b']'))
        .then_some(origin)
}

pub async fn security_headers(
    State(csp): State<HeaderValue>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_joins_connect_and_form_action_only() {
        let csp = csp_with_provider("https://login.microsoftonline.com");
        assert!(csp.contains("connect-src 'self' https://login.microsoftonline.com;"));
        assert!(csp.contains("form-action 'self' https://login.microsoftonline.com;"));
        assert!(csp.contains("script-src 'self';") && csp.contains("default-src 'self';"));
        assert_eq!(csp.matches("login.microsoftonline.com").count(), 2);
    }

    #[test]
    fn origins_of_provider_urls() {
        assert_eq!(
            csp_origin("https://login.microsoftonline.com/t/v2.0").as_deref(),
            Some("https://login.microsoftonline.com")
        );
        assert_eq!(
            csp_origin("http://127.0.0.1:9000/x/v2.0").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(csp_origin("javascript:alert(1)"), None);
        assert_eq!(csp_origin("not a url"), None);
    }
}
