//! MCP over HTTP (`/mcp`, `/mcp/sse`, `/mcp/messages/`), mounted only with
//! AI_FEATURES_ENABLED. The routes sit inside the same authentication and rate-limit layers as
//! /api (both guard /mcp paths too); here each request gets the caller the tools answer to.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::any;
use tower_http::timeout::TimeoutLayer;

use aoc_app::AppContext;

use crate::ServerOptions;
use crate::routes::CallerExt;

pub fn routes(ctx: Arc<AppContext>, options: &ServerOptions) -> Router<Arc<AppContext>> {
    aoc_mcp::http::router(ctx)
        .layer(axum::middleware::from_fn(attach_caller))
        // Bounds the time to the answer's head: an SSE stream, once open, is not cut.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
}

/// The signed-in caller the auth layer set, or the anonymous one (sign-in off), with the
/// client's address: what a REST handler gets from [`CallerExt`].
async fn attach_caller(req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let Ok(CallerExt(caller)) = CallerExt::from_request_parts(&mut parts, &()).await;
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

/// With AI features off, every method on /mcp paths is 404, as for any unknown route (the UI's
/// catch-all would otherwise answer a POST with 405).
pub fn absent(app: Router<Arc<AppContext>>) -> Router<Arc<AppContext>> {
    app.route("/mcp", any(crate::middleware::not_found))
        .route("/mcp/{*rest}", any(crate::middleware::not_found))
}
