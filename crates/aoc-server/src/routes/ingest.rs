use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use aoc_app::ingest::{FetchParams, FetchReport, FetchRequest};
use aoc_app::jobs::{FetchJobRequest, JobView};
use aoc_app::{AppContext, SourceHealth};

use super::CallerExt;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;

/// `async=true` on `/api/fetch-audit-logs`: answer with a job instead of waiting.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FetchMode {
    /// `true`: queue the fetch as a job and answer `202` with it at once (poll
    /// `GET /api/jobs/{id}`); otherwise the fetch runs within the request.
    #[serde(rename = "async")]
    #[param(rename = "async", value_type = Option<bool>)]
    pub run_async: Option<String>,
}

/// Fetch from Microsoft 365 now; a request while a fetch runs waits for it and gets its report.
/// With `async=true`, the fetch is queued as a job instead (`202` with the job).
#[utoipa::path(get, path = "/api/fetch-audit-logs", tag = "ingest", operation_id = "fetch_audit_logs",
    params(FetchParams, FetchMode),
    responses(
        (status = 200, body = FetchReport),
        (status = 202, description = "`async=true`: the queued fetch job", body = JobView),
        (status = 400, description = "A malformed `hours`", body = ErrorBody),
        (status = 503, description = "Fetching is not configured (TENANT_ID, CLIENT_ID, \
            CLIENT_SECRET), or the database is unavailable", body = ErrorBody),
    ))]
pub async fn fetch(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<FetchParams>,
    ApiQuery(mode): ApiQuery<FetchMode>,
) -> ApiResult<Response> {
    let request = FetchRequest::parse(&params)?;
    let run_async = match mode.run_async.as_deref().map(str::trim) {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => {
            return Err(crate::error::ApiError::bad_request(
                "async: expected true or false",
            ));
        }
    };
    if run_async {
        let job = FetchJobRequest {
            hours: Some(i64::from(request.hours)),
            source: None,
        };
        let job = ctx.jobs().start_fetch(&job, &caller).await?;
        return Ok((StatusCode::ACCEPTED, Json(job)).into_response());
    }
    Ok(Json(ctx.ingest.fetch(request, &caller).await?).into_response())
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
