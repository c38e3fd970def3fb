use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use aoc_app::AppContext;

/// The answer of `/health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthBody {
    /// `ok`, or `error` (with a 503).
    pub status: String,
    /// `ok`, or `unreachable`.
    pub database: String,
    /// Why, with a 503 (as in every error answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer of `/api/version`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionBody {
    pub version: String,
}

/// Liveness and database reachability (never needs a token).
#[utoipa::path(get, path = "/health", tag = "operations", operation_id = "health",
    responses(
        (status = 200, body = HealthBody),
        (status = 503, description = "The database is unreachable", body = HealthBody),
    ))]
pub async fn health(State(ctx): State<Arc<AppContext>>) -> Response {
    match ctx.events.ping().await {
        Ok(()) => Json(HealthBody {
            status: "ok".into(),
            database: "ok".into(),
            error: None,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(HealthBody {
                    status: "error".into(),
                    database: "unreachable".into(),
                    error: Some("database unreachable".into()),
                }),
            )
                .into_response()
        }
    }
}

/// The running version.
#[utoipa::path(get, path = "/api/version", tag = "operations", operation_id = "version",
    responses((status = 200, body = VersionBody)))]
pub async fn version() -> Json<VersionBody> {
    Json(VersionBody {
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
