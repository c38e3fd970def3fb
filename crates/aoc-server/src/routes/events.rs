use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use aoc_app::AppContext;
use aoc_app::activity::ActivityLog;
use aoc_app::events::EventParams;
use aoc_domain::{Event, FilterOptions, Page};

use super::CallerExt;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};

pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<EventParams>,
) -> ApiResult<Json<Page>> {
    Ok(Json(ctx.events.list(&params, &caller).await?))
}

pub async fn count(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<EventParams>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "count": ctx.events.count(&params, &caller).await? }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct HistogramParams {
    #[serde(flatten)]
    filters: EventParams,
    buckets: Option<String>,
}

pub async fn histogram(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<HistogramParams>,
) -> ApiResult<Json<aoc_app::events::Histogram>> {
    let buckets = match params.buckets.as_deref().map(str::trim) {
        None | Some("") => 60,
        Some(b) => b.parse::<u32>().map_err(|_| {
            crate::error::ApiError::bad_request("buckets must be a number from 1 to 500")
        })?,
    };
    Ok(Json(
        ctx.events
            .histogram(&params.filters, buckets, &caller)
            .await?,
    ))
}

pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
) -> ApiResult<Json<Event>> {
    Ok(Json(ctx.events.get(&id, &caller).await?))
}

pub async fn filter_options(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
) -> ApiResult<Json<FilterOptions>> {
    Ok(Json(ctx.events.filter_options(&caller).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagsBody {
    tags: Vec<String>,
}

pub async fn set_tags(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TagsBody>,
) -> ApiResult<Json<Event>> {
    let event = ctx.events.set_tags(&id, &body.tags, &caller).await?;
    ActivityLog::new(ctx.store().clone())
        .tags_set(&caller, &event)
        .await;
    Ok(Json(event))
}

#[derive(Debug, Deserialize)]
pub struct CommentBody {
    text: String,
}

pub async fn add_comment(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CommentBody>,
) -> ApiResult<Json<Event>> {
    let event = ctx.events.add_comment(&id, &body.text, &caller).await?;
    ActivityLog::new(ctx.store().clone())
        .comment_added(&caller, &event, &body.text)
        .await;
    Ok(Json(event))
}
