//! `GET /api/events/export`: the export service's stream as a download.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use aoc_app::AppContext;
use aoc_app::events::EventParams;
use aoc_app::export::ExportParams;

use super::CallerExt;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;

/// Every matching event, streamed as CSV or JSON lines (no page limit).
#[utoipa::path(get, path = "/api/events/export", tag = "events", operation_id = "export_events",
    params(EventParams, ExportParams),
    responses(
        (status = 200, description = "An attachment: CSV (timestamp, service, operation, result, \
            actor, targets, summary, id, source, tags) or one Event per line",
            content(("text/csv"), ("application/x-ndjson")),
            headers(("Content-Disposition" = String, description = "attachment; filename=..."))),
        (status = 400, description = "A malformed filter or format", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn export(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let export = ctx.events.export(&params, &caller)?;
    // Headers are gone by the time a page fails; cutting the body short is the only honest
    // signal left, so an error chunk becomes an I/O error.
    let body = export
        .chunks
        .map(|chunk| chunk.map_err(|_| std::io::Error::other("export aborted")))
        // Fused: the compression layer polls its body again after the end.
        .fuse();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                export.format.content_type().to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", export.format.file_name()),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
