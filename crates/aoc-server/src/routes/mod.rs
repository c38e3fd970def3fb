pub mod activity;
pub mod ai;
pub mod alerting;
pub mod config;
pub mod events;
pub mod export;
pub mod health;
pub mod ingest;
pub mod jobs;
pub mod siem;
pub mod webhooks;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use aoc_app::Caller;

use crate::client_ip::ClientIp;

/// The caller the auth layer put on the request; anonymous when auth is off. Either way it
/// carries the client's address, for the activity log.
pub struct CallerExt(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for CallerExt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(Caller::anonymous);
        if caller.ip.is_none() {
            caller.ip = parts.extensions.get::<ClientIp>().map(|c| c.0);
        }
        Ok(Self(caller))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::net::IpAddr;

    async fn caller_of(extensions: impl FnOnce(&mut axum::http::Extensions)) -> Caller {
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        extensions(&mut parts.extensions);
        let Ok(CallerExt(caller)) = CallerExt::from_request_parts(&mut parts, &()).await;
        caller
    }

    #[tokio::test]
    async fn the_caller_carries_the_client_address() {
        let client: IpAddr = "203.0.113.5".parse().unwrap();
        let anonymous = caller_of(|e| {
            e.insert(ClientIp(client));
        })
        .await;
        assert_eq!(anonymous.name, "anonymous");
        assert_eq!(anonymous.ip, Some(client));

        let signed_in = caller_of(|e| {
            e.insert(ClientIp(client));
            e.insert(Caller {
                name: "adele".into(),
                ..Caller::default()
            });
        })
        .await;
        assert_eq!(signed_in.name, "adele");
        assert_eq!(signed_in.ip, Some(client));

        assert_eq!(caller_of(|_| {}).await.ip, None);
    }
}
