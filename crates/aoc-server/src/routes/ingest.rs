use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use aoc_app::ingest::{FetchParams, FetchReport, FetchRequest};
use aoc_app::{AppContext, SourceHealth};

use super::CallerExt;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;

/// Fetch from Microsoft 365 now; a request while a fetch runs waits for it and gets its report.
#[utoipa::path(get, path = "/api/fetch-audit-logs", tag = "ingest", operation_id = "fetch_audit_logs",
    params(FetchParams),
    responses(
        (status = 200, body = FetchReport),
        (status = 400, description = "A malformed `hours`", body = ErrorBody),
        (status = 503, description = "Fetching is not configured (TENANT_ID, CLIENT_ID, \
            CLIENT_SECRET), or the database is unavailable", body = ErrorBody),
    ))]
pub async fn fetch(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<FetchParams>,
) -> ApiResult<Json<FetchReport>> {
    let request = FetchRequest::parse(&params)?;
    Ok(Json(ctx.ingest.fetch(request, &caller).await?))
}

/// The last attempt, success and error of each source.
#[utoipa::path(get, path = "/api/source-health", tag = "ingest", operation_id = "source_health",
    responses(
        (status = 200, body = Vec<SourceHealth>),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn source_health(
    State(ctx): State<Arc<AppContext>>,
) -> ApiResult<Json<Vec<SourceHealth>>> {
    Ok(Json(ctx.ingest.source_health().await?))
}
