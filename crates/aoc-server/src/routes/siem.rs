//! SIEM forwarding status (`/api/siem/status`): how far each target is behind the stored
//! events, and how its deliveries went. The forwarders themselves live in `aoc_app::siem`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use aoc_app::AppContext;
use aoc_app::siem::SiemTargetStatus;

use crate::error::{ApiResult, ErrorBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct SiemStatus {
    /// SIEM_ENABLED with at least one target.
    pub enabled: bool,
    /// One entry per configured target, in the order webhook, splunk, syslog.
    pub targets: Vec<SiemTargetStatus>,
}

/// Each SIEM target's backlog, last success, last error and delivery counts.
#[utoipa::path(get, path = "/api/siem/status", tag = "operations", operation_id = "siem_status",
    responses(
        (status = 200, body = SiemStatus),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn status(State(ctx): State<Arc<AppContext>>) -> ApiResult<Json<SiemStatus>> {
    let targets = ctx.siem_status().await?;
    Ok(Json(SiemStatus {
        enabled: !targets.is_empty(),
        targets,
    }))
}
