//! AOC's MCP server: tools and resources over the `aoc-app` services, so an AI assistant reads
//! events through the same validation, privacy gating and limits as the REST API.
//!
//! One handler ([`AocMcp`]) serves every transport: stdio for `aoc mcp` ([`serve_stdio`]), and
//! over HTTP ([`http::router`]) Streamable HTTP at `/mcp` plus the original service's HTTP+SSE
//! form (`GET /mcp/sse`, `POST /mcp/messages/?session_id=...`). Who is asking comes from
//! [`CallerSource`]: a fixed caller over stdio, the HTTP request's authenticated caller otherwise.

mod caller;
pub mod http;
mod render;
mod resources;
mod server;
mod sse;
mod summary;
mod tools;

pub use caller::{CallerSource, CostlyCallGate};
pub use server::AocMcp;
pub use summary::{Summary, SummaryParams};
pub use tools::{EventView, GetEventParams, ListAlertsParams, SearchEventsParams, TimelineParams};

/// Serve MCP over stdin/stdout until the client closes the stream. Nothing else may write to
/// stdout meanwhile: the caller sends logs to stderr.
pub async fn serve_stdio(
    ctx: std::sync::Arc<aoc_app::AppContext>,
    caller: aoc_app::Caller,
) -> Result<(), ServeError> {
    use rmcp::ServiceExt;
    let service = AocMcp::new(ctx, CallerSource::Fixed(caller))
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| ServeError(e.to_string()))?;
    service
        .waiting()
        .await
        .map_err(|e| ServeError(e.to_string()))?;
    Ok(())
}

/// The MCP session could not start or ended abnormally.
#[derive(Debug, thiserror::Error)]
#[error("MCP session: {0}")]
pub struct ServeError(String);
