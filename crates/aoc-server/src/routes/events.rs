use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use aoc_app::AppContext;
use aoc_app::events::{EventParams, Histogram, HistogramParams, ListPage, ListParams};
use aoc_domain::{Event, FilterOptions};

use super::CallerExt;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};

/// Events newest first, filtered, a page at a time.
#[utoipa::path(get, path = "/api/events", tag = "events", operation_id = "list_events",
    params(EventParams, ListParams),
    responses(
        (status = 200, body = ListPage),
        (status = 400, description = "A malformed filter, page size, cursor or view", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListPage>> {
    Ok(Json(ctx.events.list_view(&params, &caller).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CountBody {
    pub count: u64,
}

/// How many events match the filters (`page_size` and `cursor` are checked, then ignored).
#[utoipa::path(get, path = "/api/events/count", tag = "events", operation_id = "count_events",
    params(EventParams),
    responses(
        (status = 200, body = CountBody),
        (status = 400, description = "A malformed filter", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn count(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<EventParams>,
) -> ApiResult<Json<CountBody>> {
    let count = ctx.events.count(&params, &caller).await?;
    Ok(Json(CountBody { count }))
}

/// Matching events per time bucket; the bucket size follows the range.
#[utoipa::path(get, path = "/api/events/histogram", tag = "events", operation_id = "event_histogram",
    params(EventParams, HistogramParams),
    responses(
        (status = 200, body = Histogram),
        (status = 400, description = "A malformed filter or bucket count", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn histogram(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<HistogramParams>,
) -> ApiResult<Json<Histogram>> {
    Ok(Json(ctx.events.histogram(&params, &caller).await?))
}

/// One event.
#[utoipa::path(get, path = "/api/events/{id}", tag = "events", operation_id = "get_event",
    params(("id" = String, Path, description = "Event id")),
    responses(
        (status = 200, body = Event),
        (status = 404, description = "No such event, or one hidden from the caller", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
) -> ApiResult<Json<Event>> {
    Ok(Json(ctx.events.get(&id, &caller).await?))
}

/// Distinct services, operations, results and actors, for the filter lists.
#[utoipa::path(get, path = "/api/filter-options", tag = "events", operation_id = "filter_options",
    responses(
        (status = 200, body = FilterOptions),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn filter_options(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
) -> ApiResult<Json<FilterOptions>> {
    Ok(Json(ctx.events.filter_options(&caller).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsBody {
    #[schema(schema_with = crate::openapi::tag_list)]
    pub tags: Vec<String>,
}

/// Replace an event's tags (trimmed, repeats dropped).
#[utoipa::path(patch, path = "/api/events/{id}/tags", tag = "events", operation_id = "set_event_tags",
    params(("id" = String, Path, description = "Event id")),
    request_body = TagsBody,
    responses(
        (status = 200, description = "The event with its new tags", body = Event),
        (status = 400, description = "Not a JSON `{\"tags\": [...]}` or a tag out of bounds", body = ErrorBody),
        (status = 404, description = "No such event, or one hidden from the caller", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn set_tags(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TagsBody>,
) -> ApiResult<Json<Event>> {
    Ok(Json(ctx.events.set_tags(&id, &body.tags, &caller).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CommentBody {
    #[schema(schema_with = crate::openapi::comment_text)]
    pub text: String,
}

/// Add a comment to an event (its author is the caller).
#[utoipa::path(post, path = "/api/events/{id}/comments", tag = "events", operation_id = "add_event_comment",
    params(("id" = String, Path, description = "Event id")),
    request_body = CommentBody,
    responses(
        (status = 200, description = "The event with the new comment", body = Event),
        (status = 400, description = "Not a JSON `{\"text\": \"...\"}`, or blank or over-long text", body = ErrorBody),
        (status = 404, description = "No such event, or one hidden from the caller", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn add_comment(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CommentBody>,
) -> ApiResult<Json<Event>> {
    Ok(Json(
        ctx.events.add_comment(&id, &body.text, &caller).await?,
    ))
}
