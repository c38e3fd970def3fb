pub mod activity;
pub mod config;
pub mod events;
pub mod export;
pub mod health;
pub mod ingest;
pub mod webhooks;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use aoc_app::Caller;

/// The caller the auth layer put on the request; anonymous when auth is off.
pub struct CallerExt(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for CallerExt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<Caller>()
                .cloned()
                .unwrap_or_else(Caller::anonymous),
        ))
    }
}
