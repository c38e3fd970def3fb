//! `GET /api/activity`: the activity log, newest first.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use aoc_app::AppContext;
use aoc_app::activity::{ActivityPage, ActivityParams};

use super::CallerExt;
use crate::error::ApiResult;
use crate::extract::ApiQuery;

pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> ApiResult<Json<ActivityPage>> {
    Ok(Json(ctx.activity.list(&params, &caller).await?))
}
