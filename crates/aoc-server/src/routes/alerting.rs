//! Alert rules (`/api/rules`), alerts (`/api/alerts`) and saved searches
//! (`/api/saved-searches`). The services in `aoc_app::alerting` hold every rule; these only
//! translate.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use aoc_app::AppContext;
use aoc_app::alerting::alerts::AlertSummary;
use aoc_app::alerting::saved::SearchToRule;
use aoc_app::alerting::{
    AlertDetail, AlertPage, AlertParams, AlertUpdate, AlertView, RuleTest, RuleTestResult,
    RuleView, SavedSearchBody, SavedSearchView,
};

use super::CallerExt;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};

/// A rule as `POST /api/rules` takes it (see docs/API.md, Alert rules).
#[derive(utoipa::ToSchema)]
#[schema(example = json!({
    "name": "Mailbox export requested",
    "severity": "high",
    "match": {"service": "Exchange", "operation": "New-MailboxExportRequest"}
}))]
#[allow(dead_code)] // documents the body; handlers read it as JSON and validate it themselves
pub struct RuleBody {
    name: String,
    description: Option<String>,
    enabled: Option<bool>,
    /// low, medium, high or critical.
    severity: String,
    /// What an event must look like: service, operation, result, actor, target, search,
    /// conditions on raw-record paths, and `any` alternatives.
    #[schema(value_type = Object)]
    r#match: Value,
    /// `{count, minutes, group_by: actor|target}`: alert when a group reaches the count.
    #[schema(value_type = Option<Object>)]
    threshold: Option<Value>,
    /// One alert per group (or actor) per this many minutes.
    suppress_minutes: Option<u32>,
    /// Tags added to matched events.
    #[schema(schema_with = crate::openapi::tag_list)]
    tags: Option<Vec<String>>,
}

fn alert_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found(format!("no alert with id {id}")))
}

/// Every alert rule: the built-in pack first, then yours by name.
#[utoipa::path(get, path = "/api/rules", tag = "alerts", operation_id = "list_rules",
    responses(
        (status = 200, body = Vec<RuleView>),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn list_rules(State(ctx): State<Arc<AppContext>>) -> ApiResult<Json<Vec<RuleView>>> {
    Ok(Json(ctx.rules.list().await?))
}

#[utoipa::path(get, path = "/api/rules/{id}", tag = "alerts", operation_id = "get_rule",
    params(("id" = String, Path, description = "Rule id")),
    responses(
        (status = 200, body = RuleView),
        (status = 404, description = "No such rule", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn get_rule(
    State(ctx): State<Arc<AppContext>>,
    Path(id): Path<String>,
) -> ApiResult<Json<RuleView>> {
    Ok(Json(ctx.rules.get(&id).await?))
}

/// Create a rule; the server assigns its id.
#[utoipa::path(post, path = "/api/rules", tag = "alerts", operation_id = "create_rule",
    request_body = RuleBody,
    responses(
        (status = 201, description = "The stored rule", body = RuleView),
        (status = 400, description = "An invalid rule; the message names the field", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn create_rule(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<RuleView>)> {
    Ok((
        StatusCode::CREATED,
        Json(ctx.rules.create(&body, &caller).await?),
    ))
}

/// Change a rule: the fields sent replace the stored ones (`{"enabled": false}` switches it
/// off). Built-in rules can be changed and switched, not deleted.
#[utoipa::path(put, path = "/api/rules/{id}", tag = "alerts", operation_id = "update_rule",
    params(("id" = String, Path, description = "Rule id")),
    request_body(content = Object, description = "The fields to change (any of the rule's)"),
    responses(
        (status = 200, description = "The stored rule", body = RuleView),
        (status = 400, description = "An invalid rule; the message names the field", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn update_rule(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<RuleView>> {
    Ok(Json(ctx.rules.update(&id, &body, &caller).await?))
}

#[utoipa::path(delete, path = "/api/rules/{id}", tag = "alerts", operation_id = "delete_rule",
    params(("id" = String, Path, description = "Rule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A built-in rule (disable it instead)", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn delete_rule(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    ctx.rules.delete(&id, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run a rule over the last days' events (those the caller may see) without saving it: how
/// many it matches, the alerts it would have raised and a sample.
#[utoipa::path(post, path = "/api/rules/test", tag = "alerts", operation_id = "test_rule",
    request_body = RuleTest,
    responses(
        (status = 200, body = RuleTestResult),
        (status = 400, description = "An invalid rule or period; the message names the field", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn test_rule(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiJson(test): ApiJson<RuleTest>,
) -> ApiResult<Json<RuleTestResult>> {
    Ok(Json(ctx.test_rule(&test, &caller).await?))
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts", operation_id = "list_alerts",
    params(AlertParams),
    responses(
        (status = 200, body = AlertPage),
        (status = 400, description = "A malformed filter, limit or cursor", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn list_alerts(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<AlertParams>,
) -> ApiResult<Json<AlertPage>> {
    Ok(Json(ctx.alerts.list(&params, &caller).await?))
}

/// How many alerts are open (for the header badge).
#[utoipa::path(get, path = "/api/alerts/summary", tag = "alerts", operation_id = "alert_summary",
    responses(
        (status = 200, body = AlertSummary),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn alert_summary(State(ctx): State<Arc<AppContext>>) -> ApiResult<Json<AlertSummary>> {
    Ok(Json(ctx.alerts.summary().await?))
}

/// An alert with the events it is about (those the caller may see).
#[utoipa::path(get, path = "/api/alerts/{id}", tag = "alerts", operation_id = "get_alert",
    params(("id" = String, Path, description = "Alert id")),
    responses(
        (status = 200, body = AlertDetail),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn get_alert(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertDetail>> {
    Ok(Json(ctx.alerts.get(alert_id(&id)?, &caller).await?))
}

/// Acknowledge, resolve or reopen an alert, with a note; recorded in the activity log.
#[utoipa::path(patch, path = "/api/alerts/{id}", tag = "alerts", operation_id = "update_alert",
    params(("id" = String, Path, description = "Alert id")),
    request_body = AlertUpdate,
    responses(
        (status = 200, body = AlertView),
        (status = 400, description = "An unknown status or a bad note", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn update_alert(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<AlertUpdate>,
) -> ApiResult<Json<AlertView>> {
    Ok(Json(
        ctx.alerts.update(alert_id(&id)?, &change, &caller).await?,
    ))
}

/// Your saved searches and those shared with everyone.
#[utoipa::path(get, path = "/api/saved-searches", tag = "alerts", operation_id = "list_saved_searches",
    responses(
        (status = 200, body = Vec<SavedSearchView>),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn list_saved(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
) -> ApiResult<Json<Vec<SavedSearchView>>> {
    Ok(Json(ctx.saved_searches.list(&caller).await?))
}

#[utoipa::path(post, path = "/api/saved-searches", tag = "alerts", operation_id = "create_saved_search",
    request_body = SavedSearchBody,
    responses(
        (status = 201, body = SavedSearchView),
        (status = 400, description = "A blank name or an unknown filter", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn create_saved(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiJson(body): ApiJson<SavedSearchBody>,
) -> ApiResult<(StatusCode, Json<SavedSearchView>)> {
    Ok((
        StatusCode::CREATED,
        Json(ctx.saved_searches.create(&body, &caller).await?),
    ))
}

#[utoipa::path(put, path = "/api/saved-searches/{id}", tag = "alerts", operation_id = "update_saved_search",
    params(("id" = String, Path, description = "Saved search id")),
    request_body = SavedSearchBody,
    responses(
        (status = 200, body = SavedSearchView),
        (status = 400, description = "A blank name or an unknown filter", body = ErrorBody),
        (status = 403, description = "Shared with you, owned by someone else", body = ErrorBody),
        (status = 404, description = "No such saved search", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn update_saved(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SavedSearchBody>,
) -> ApiResult<Json<SavedSearchView>> {
    Ok(Json(ctx.saved_searches.update(&id, &body, &caller).await?))
}

#[utoipa::path(delete, path = "/api/saved-searches/{id}", tag = "alerts", operation_id = "delete_saved_search",
    params(("id" = String, Path, description = "Saved search id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Shared with you, owned by someone else", body = ErrorBody),
        (status = 404, description = "No such saved search", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn delete_saved(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    ctx.saved_searches.delete(&id, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make an alert rule from a saved search (its service, actor, operation, result and text
/// filters).
#[utoipa::path(post, path = "/api/saved-searches/{id}/rule", tag = "alerts", operation_id = "saved_search_to_rule",
    params(("id" = String, Path, description = "Saved search id")),
    request_body = SearchToRule,
    responses(
        (status = 201, description = "The new rule", body = RuleView),
        (status = 400, description = "A bad severity, or a search with nothing a rule could match", body = ErrorBody),
        (status = 404, description = "No such saved search", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn saved_to_rule(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<SearchToRule>,
) -> ApiResult<(StatusCode, Json<RuleView>)> {
    Ok((
        StatusCode::CREATED,
        Json(ctx.saved_searches.to_rule(&id, &request, &caller).await?),
    ))
}
