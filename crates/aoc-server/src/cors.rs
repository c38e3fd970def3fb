//! Cross-origin access from CORS_ORIGINS. Unset: same origin only (no CORS headers at all).
//! `*`: any origin may read, but never with credentials (browsers refuse that pairing, and a
//! wildcard with cookies would hand the API to every site a signed-in user visits). A list:
//! exactly those origins, with credentials.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
            header::WWW_AUTHENTICATE,
        ])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        return Some(base.allow_origin(Any).allow_credentials(false));
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| {
            let o = o.trim().trim_end_matches('/');
            match HeaderValue::from_str(o) {
                Ok(v) if o.starts_with("http://") || o.starts_with("https://") => Some(v),
                _ => {
                    tracing::warn!(
                        origin = o,
                        "CORS_ORIGINS: ignoring a value that is not an http(s) origin"
                    );
                    None
                }
            }
        })
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        base.allow_origin(AllowOrigin::list(list))
            .allow_credentials(true),
    )
}
