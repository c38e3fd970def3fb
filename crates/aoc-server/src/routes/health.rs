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

/// The answer of `/ready`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadyBody {
    /// `ready`, or `not ready` (with a 503).
    pub status: String,
    pub checks: ReadyChecks,
    /// Which check failed, with a 503 (as in every error answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Each readiness check: `ok`, or what is wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadyChecks {
    /// Settings, and the Key Vault's secrets when a vault is configured, were loaded (a server
    /// that answers has them: start-up stops without).
    pub settings: String,
    /// `ok`, `unreachable`, or `unavailable` (a transient failure: restart, failover).
    pub database: String,
    /// `ok`, `N pending` (the database's schema is older than this build), or `unknown` (the
    /// database did not answer).
    pub migrations: String,
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

/// Readiness for traffic, for load balancers and orchestrators (never needs a token): the
/// settings were loaded, the database answers and its schema is this build's. `/health`
/// answers liveness.
#[utoipa::path(get, path = "/ready", tag = "operations", operation_id = "ready",
    responses(
        (status = 200, body = ReadyBody),
        (status = 503, description = "Not ready; `error` names the failed check", body = ReadyBody),
    ))]
pub async fn ready(State(ctx): State<Arc<AppContext>>) -> Response {
    let (database, migrations) = match ctx.store().pending_migrations().await {
        Ok(0) => ("ok".to_string(), "ok".to_string()),
        Ok(n) => ("ok".to_string(), format!("{n} pending")),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            let state = if e.is_transient() {
                "unavailable"
            } else {
                "unreachable"
            };
            (state.to_string(), "unknown".to_string())
        }
    };
    let error = if database != "ok" {
        Some(format!("database {database}"))
    } else if migrations != "ok" {
        Some(format!(
            "the database schema is behind this release: {migrations} migrations"
        ))
    } else {
        None
    };
    let status = if error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = ReadyBody {
        status: if error.is_none() {
            "ready"
        } else {
            "not ready"
        }
        .into(),
        checks: ReadyChecks {
            settings: "ok".into(),
            database,
            migrations,
        },
        error,
    };
    (status, Json(body)).into_response()
}

/// The running version.
#[utoipa::path(get, path = "/api/version", tag = "operations", operation_id = "version",
    responses((status = 200, body = VersionBody)))]
pub async fn version() -> Json<VersionBody> {
    Json(VersionBody {
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
