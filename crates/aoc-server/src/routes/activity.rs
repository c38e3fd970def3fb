//! `GET /api/activity`: the activity log, newest first.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use aoc_app::AppContext;
use aoc_app::activity::{ActivityPage, ActivityParams};

use super::CallerExt;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;

/// AOC's own write actions (tag changes, comments, fetches, imports), newest first.
#[utoipa::path(get, path = "/api/activity", tag = "operations", operation_id = "list_activity",
    params(ActivityParams),
    responses(
        (status = 200, body = ActivityPage),
        (status = 400, description = "A malformed limit or cursor", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> ApiResult<Json<ActivityPage>> {
    Ok(Json(ctx.activity.list(&params, &caller).await?))
}
