use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use aoc_app::AppContext;
use aoc_app::ingest::{FetchReport, Ingest};
use aoc_store::SourceHealth;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;

#[derive(Debug, Deserialize)]
pub struct FetchParams {
    hours: Option<String>,
}

pub async fn fetch(
    State(ctx): State<Arc<AppContext>>,
    ApiQuery(params): ApiQuery<FetchParams>,
) -> ApiResult<Json<FetchReport>> {
    let hours = match params.hours.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(h) => Some(
            h.parse::<i64>()
                .map_err(|_| ApiError::bad_request("hours must be a whole number"))?,
        ),
    };
    Ok(Json(
        ctx.ingest.fetch(Ingest::clamp_hours(hours), None).await?,
    ))
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
