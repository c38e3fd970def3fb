//! MCP over HTTP, for the server to mount behind its authentication and rate limits:
//!
//! - `/mcp`: Streamable HTTP (rmcp's service), stateless with JSON answers, so any replica can
//!   answer any request and nothing is held between calls.
//! - `GET /mcp/sse` + `POST /mcp/messages/?session_id=...`: the original service's HTTP+SSE
//!   form, bridged in [`crate::sse`].
//!
//! Every request must carry an [`aoc_app::Caller`] extension (the auth layer's, or anonymous
//! when sign-in is off): the tools answer to it, and refuse a request without one.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use aoc_app::AppContext;

use crate::caller::CallerSource;
use crate::server::AocMcp;
use crate::sse::SseBridge;
pub use crate::sse::{MAX_SESSIONS, MAX_SESSIONS_PER_CALLER};

/// The Streamable HTTP endpoint.
pub const STREAMABLE_PATH: &str = "/mcp";
/// The HTTP+SSE form's event stream and message endpoint.
pub const SSE_PATH: &str = "/mcp/sse";
pub const MESSAGES_PATH: &str = "/mcp/messages/";

/// Largest JSON-RPC message accepted over HTTP (tool arguments are small).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The MCP routes, for any router state.
pub fn router<S: Clone + Send + Sync + 'static>(ctx: Arc<AppContext>) -> Router<S> {
    let factory_ctx = ctx.clone();
    // The Host check guards a server on localhost from DNS rebinding; AOC is reached under
    // its own public names and authenticates every request instead (with sign-in off, it is
    // as open over /mcp as over /api, by the operator's choice).
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_MESSAGE_BYTES)
        .disable_allowed_hosts();
    let streamable = StreamableHttpService::new(
        move || Ok(AocMcp::new(factory_ctx.clone(), CallerSource::Http)),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let bridge = Arc::new(SseBridge::new(ctx));
    Router::new()
        .route_service(STREAMABLE_PATH, streamable)
        .route(SSE_PATH, get(crate::sse::open).with_state(bridge.clone()))
        .route(
            MESSAGES_PATH,
            post(crate::sse::message).with_state(bridge.clone()),
        )
        // Clients built against the original also post without the trailing slash.
        .route(
            "/mcp/messages",
            post(crate::sse::message).with_state(bridge),
        )
}
