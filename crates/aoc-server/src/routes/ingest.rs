use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use aoc_app::ingest::{FetchParams, FetchReport, FetchRequest};
use aoc_app::{AppContext, SourceHealth};

use super::CallerExt;
use crate::error::ApiResult;
use crate::extract::ApiQuery;

pub async fn fetch(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<FetchParams>,
) -> ApiResult<Json<FetchReport>> {
    let request = FetchRequest::parse(&params)?;
    Ok(Json(ctx.ingest.fetch(request, &caller).await?))
}

pub async fn source_health(
    State(ctx): State<Arc<AppContext>>,
) -> ApiResult<Json<Vec<SourceHealth>>> {
    Ok(Json(ctx.ingest.source_health().await?))
}
