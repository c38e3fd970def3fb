use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

use aoc_app::AppContext;
use aoc_app::activity::{ACTION_FETCH, ActivityLog};
use aoc_app::ingest::{FetchReport, Ingest};
use aoc_store::SourceHealth;

use super::CallerExt;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;

#[derive(Debug, Deserialize)]
pub struct FetchParams {
    hours: Option<String>,
}

pub async fn fetch(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<FetchParams>,
) -> ApiResult<Json<FetchReport>> {
    let hours = match params.hours.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(h) => Some(
            h.parse::<i64>()
                .map_err(|_| ApiError::bad_request("hours must be a whole number"))?,
        ),
    };
    let hours = Ingest::clamp_hours(hours);
    let result = ctx.ingest.fetch(hours, None).await;
    // Failed fetches are logged too: who pulled (or tried to pull) from Microsoft 365 matters.
    let detail = match &result {
        Ok(r) => json!({
            "hours": hours,
            "outcome": "ok",
            "fetched": r.fetched,
            "stored": r.stored,
            "duplicates": r.duplicates,
            "warnings": r.warnings.len(),
        }),
        Err(e) => json!({
            "hours": hours,
            "outcome": "failed",
            "error": e.to_string().chars().take(200).collect::<String>(),
        }),
    };
    ActivityLog::new(ctx.store().clone())
        .record(&caller, ACTION_FETCH, None, detail)
        .await;
    Ok(Json(result?))
}

pub async fn source_health(
    State(ctx): State<Arc<AppContext>>,
) -> ApiResult<Json<Vec<SourceHealth>>> {
    Ok(Json(
        ctx.store()
            .source_health()
            .await
            .map_err(aoc_app::AppError::from)?,
    ))
}
