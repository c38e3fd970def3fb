//! The HTTP face of the simulated tenant.

// Handlers bail out early with a finished `Response` from small helpers; boxing those on a
// simulator's error path would only add noise.
#![allow(clippy::result_large_err)]

mod control;
mod errors;
mod filter;
mod graph;
mod identity;
mod login;
mod manage;
mod oidc;
mod token;
mod vault;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use control::{ControlRequest, FailArgs, FaultArgs};

use crate::config::SimConfig;
use crate::error::SimError;
use crate::handle::SimHandle;

/// All routes of the simulated tenant on one router:
///
/// - `POST /{tenant}/oauth2/v2.0/token`
/// - `GET  /v1.0/auditLogs/directoryAudits`, `GET /v1.0/deviceManagement/auditEvents`,
///   `POST /v1.0/directoryObjects/getByIds`
/// - `POST /api/v1.0/{tenant}/activity/feed/subscriptions/start|stop`,
///   `GET .../subscriptions/list`, `GET .../subscriptions/content`,
///   `GET /api/v1.0/{tenant}/activity/feed/audit/{contentId}` (`/api/v1/...` works too)
/// - `POST /_sim/control`, `GET /_sim/state`, `GET /_sim/truth`, `GET /_sim/detections`
/// - OpenID Connect for demo sign-in (see [`crate::oidc`]): `GET /{tenant}/v2.0/.well-known/openid-configuration`,
///   `GET /{tenant}/discovery/v2.0/keys`, `GET|POST /{tenant}/oauth2/v2.0/authorize`,
///   `GET /{tenant}/oauth2/v2.0/logout`; the token endpoint also takes `authorization_code`
/// - Azure Key Vault: `GET /secrets/{name}[/{version}]`; managed identity tokens:
///   `GET /metadata/identity/oauth2/token` (IMDS), `GET /msi/token` (App Service)
pub fn router(handle: SimHandle) -> Router {
    let feed = "/api/{version}/{tenant}/activity/feed";
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(oidc::token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(oidc::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(oidc::keys))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(oidc::authorize_page).post(oidc::authorize_submit),
        )
        .route("/{tenant}/oauth2/v2.0/logout", get(oidc::logout))
        .route(
            "/v1.0/auditLogs/directoryAudits",
            get(graph::directory_audits),
        )
        .route(
            "/v1.0/deviceManagement/auditEvents",
            get(graph::audit_events),
        )
        .route("/v1.0/directoryObjects/getByIds", post(graph::get_by_ids))
        .route(&format!("{feed}/subscriptions/start"), post(manage::start))
        .route(&format!("{feed}/subscriptions/stop"), post(manage::stop))
        .route(&format!("{feed}/subscriptions/list"), get(manage::list))
        .route(
            &format!("{feed}/subscriptions/content"),
            get(manage::content),
        )
        .route(&format!("{feed}/audit/{{content_id}}"), get(manage::blob))
        .route("/secrets/{name}", get(vault::secret))
        .route("/secrets/{name}/", get(vault::secret))
        .route("/secrets/{name}/{version}", get(vault::secret_version))
        .route("/metadata/identity/oauth2/token", get(identity::imds_token))
        .route("/msi/token", get(identity::app_service_token))
        .route("/_sim/control", post(control::control))
        .route("/_sim/state", get(control::state))
        .route("/_sim/truth", get(control::truth))
        .route("/_sim/detections", get(control::detections))
        .fallback(not_found)
        .layer(Extension(Arc::new(oidc::Codes::default())))
        .with_state(handle)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "error": { "code": "ResourceNotFound", "message": "No such route in the simulated tenant." } })),
    )
        .into_response()
}

/// Absolute base URL for links: the configured one, else from the request's `Host`.
pub(crate) fn request_base(handle: &SimHandle, headers: &HeaderMap) -> String {
    if let Some(base) = handle.base_url() {
        return base.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("http://{host}")
}

pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// Percent-encodes a query value (spaces as `%20`, as Graph writes its links).
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Serves the simulated tenant on `listener` until `shutdown` completes. When
/// `config.base_url` is `None` it becomes `http://{listener address}`, except for a wildcard
/// address (`0.0.0.0`, `[::]`): then every link is built from the request's `Host` header.
pub async fn serve<F>(
    listener: TcpListener,
    mut config: SimConfig,
    shutdown: F,
) -> Result<(), SimError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr()?;
    if config.base_url.is_none() && !addr.ip().is_unspecified() {
        config.base_url = Some(format!("http://{addr}"));
    }
    let handle = SimHandle::new(config)?;
    serve_handle(listener, handle, shutdown).await
}

/// Like [`serve`], for a handle the caller keeps to flip switches and read counters.
pub async fn serve_handle<F>(
    listener: TcpListener,
    handle: SimHandle,
    shutdown: F,
) -> Result<(), SimError>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router(handle))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// A simulator running in the background on `127.0.0.1` (for tests). Stops when dropped.
pub struct RunningSim {
    pub handle: SimHandle,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:{port}`: use it as login, Graph and Management base URL alike.
    pub base_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), SimError>>>,
}

impl std::fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl RunningSim {
    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) -> Result<(), SimError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| SimError::Io(std::io::Error::other(e)))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `127.0.0.1:0`, sets `base_url` (unless given) and serves in a background task.
pub async fn start(mut config: SimConfig) -> Result<RunningSim, SimError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let base_url = config
        .base_url
        .get_or_insert_with(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let handle = SimHandle::new(config)?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_handle(listener, handle.clone(), async move {
        let _ = rx.await;
    }));
    Ok(RunningSim {
        handle,
        addr,
        base_url,
        stop: Some(tx),
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_graph() {
        assert_eq!(
            encode_component("activityDateTime ge 2024-01-01T00:00:00+01:00"),
            "activityDateTime%20ge%202024-01-01T00:00:00%2B01:00"
        );
    }
}
