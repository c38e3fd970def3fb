//! The OpenAPI document (`/openapi.json`) and a readable page of it (`/docs`), both served only
//! when DOCS_ENABLED=true.
//!
//! The handlers live in modules several people edit, so the document is described here, one
//! `#[utoipa::path]` per route; a test checks every route the router registers (its
//! `API_ROUTES` table) is described, so the two cannot drift apart silently.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "AOC — Admin Operations Center", description = "Microsoft 365 admin audit logs: search, tag, comment, export."),
    paths(
        health, version, list_events, count_events, histogram, export, get_event, set_tags, add_comment,
        filter_options, fetch_audit_logs, source_health, activity, graph_webhook, config_features, config_auth, metrics
    ),
    modifiers(&BearerAuth),
    tags((name = "events"), (name = "ingest"), (name = "config"), (name = "operations"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_string())
}

pub async fn openapi_json() -> Response {
    let mut res = document().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// A plain HTML rendering of the document: no scripts, so it works under the strict CSP and
/// air-gapped (Swagger UI would need either a download at build time or inline code).
pub async fn docs_page() -> Html<String> {
    let doc = ApiDoc::openapi();
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>AOC API</title></head><body><main class=\"api-docs\">\
         <h1>AOC API</h1><p><a href=\"/openapi.json\">openapi.json</a></p>",
    );
    for (path, item) in doc.paths.paths.iter() {
        for (method, op) in operations(item) {
            html.push_str(&format!(
                "<section><h2><code>{} {}</code></h2>",
                method,
                escape(path)
            ));
            if let Some(summary) = &op.summary {
                html.push_str(&format!("<p>{}</p>", escape(summary)));
            }
            if let Some(desc) = &op.description {
                html.push_str(&format!("<p>{}</p>", escape(desc)));
            }
            if let Some(params) = &op.parameters {
                html.push_str("<ul>");
                for p in params {
                    let utoipa::openapi::RefOr::T(p) = p else {
                        continue;
                    };
                    let desc = p.description.as_deref().unwrap_or("");
                    html.push_str(&format!(
                        "<li><code>{}</code> {}</li>",
                        escape(&p.name),
                        escape(desc)
                    ));
                }
                html.push_str("</ul>");
            }
            html.push_str("<p>Responses: ");
            let codes: Vec<String> = op.responses.responses.keys().map(|c| escape(c)).collect();
            html.push_str(&codes.join(", "));
            html.push_str("</p></section>");
        }
    }
    html.push_str("</main></body></html>");
    Html(html)
}

fn operations(
    item: &utoipa::openapi::PathItem,
) -> Vec<(&'static str, &utoipa::openapi::path::Operation)> {
    let mut out = Vec::new();
    for (name, op) in [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ] {
        if let Some(op) = op {
            out.push((name, op));
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ----- schemas: the JSON shapes of aoc-domain / aoc-app types, as clients see them -----

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// What went wrong, for people.
    error: String,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Comment {
    author: String,
    text: String,
    #[schema(format = DateTime)]
    created_at: String,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Event {
    id: String,
    /// directory, unified, intune or import
    source: String,
    #[schema(format = DateTime)]
    timestamp: String,
    service: String,
    operation: String,
    result: String,
    actor_display: String,
    #[schema(value_type = Object)]
    actor: serde_json::Value,
    target_displays: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    targets: Vec<serde_json::Value>,
    display_summary: String,
    dedupe_key: String,
    /// The untouched source record.
    #[schema(value_type = Object)]
    raw: serde_json::Value,
    tags: Vec<String>,
    comments: Vec<Comment>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Page {
    items: Vec<Event>,
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Count {
    count: u64,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct HistogramBucket {
    #[schema(format = DateTime)]
    start: String,
    count: u64,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Histogram {
    bucket_seconds: i64,
    #[schema(format = DateTime)]
    start: Option<String>,
    #[schema(format = DateTime)]
    end: Option<String>,
    buckets: Vec<HistogramBucket>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct FilterOptions {
    services: Vec<String>,
    operations: Vec<String>,
    results: Vec<String>,
    actors: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TagsBody {
    /// 1..64 characters each, at most 32; trimmed and deduplicated.
    tags: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CommentBody {
    /// 1..10,000 characters.
    text: String,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct SourceReport {
    fetched: u64,
    stored: u64,
    duplicates: u64,
    rejected: u64,
    error: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct FetchReport {
    fetched: u64,
    stored: u64,
    duplicates: u64,
    warnings: Vec<String>,
    sources: std::collections::BTreeMap<String, SourceReport>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct SourceHealth {
    source: String,
    #[schema(format = DateTime)]
    last_attempt: Option<String>,
    #[schema(format = DateTime)]
    last_success: Option<String>,
    last_error: Option<String>,
    last_count: u64,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Health {
    status: String,
    database: String,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Version {
    version: String,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Features {
    ai_features_enabled: bool,
    fetch_configured: bool,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct AuthConfig {
    auth_enabled: bool,
    tenant_id: String,
    client_id: String,
    issuer: String,
    /// OpenID provider the UI signs in with (its discovery document is at
    /// `{authority}/.well-known/openid-configuration`); empty when auth is off.
    authority: String,
    /// Scopes the UI asks for.
    scopes: Vec<String>,
}

/// One entry of the activity log.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ActivityEntry {
    id: i64,
    #[schema(format = DateTime)]
    at: String,
    /// Display name of who did it.
    actor: String,
    subject: Option<String>,
    /// `tags.set`, `comment.add` or `fetch`.
    action: String,
    /// Event id acted on.
    target: Option<String>,
    #[schema(value_type = Object)]
    detail: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ActivityPage {
    items: Vec<ActivityEntry>,
    next_cursor: Option<String>,
}

/// The event filters every read path shares.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct Filters {
    /// Exact service (category / workload).
    service: Option<String>,
    /// Exact actor.
    actor: Option<String>,
    /// Exact operation.
    operation: Option<String>,
    /// Exact result.
    result: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    start: Option<String>,
    /// RFC 3339 upper bound (inclusive).
    end: Option<String>,
    /// Free text: substring of actor, target, operation or summary; any word of the raw record.
    search: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct Paging {
    /// 1..500, default 50.
    page_size: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`.
    cursor: Option<String>,
}

// ----- one stub per route: only their attributes matter -----

/// Liveness and database reachability.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
#[allow(dead_code)]
fn health() {}

/// The running version.
#[utoipa::path(get, path = "/api/version", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = Version), (status = 401, body = ErrorBody)))]
#[allow(dead_code)]
fn version() {}

/// Events newest first, filtered, with keyset pagination.
#[utoipa::path(get, path = "/api/events", tag = "events", security(("bearer" = [])), params(Filters, Paging),
    responses((status = 200, body = Page), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[allow(dead_code)]
fn list_events() {}

/// How many events match the filters.
#[utoipa::path(get, path = "/api/events/count", tag = "events", security(("bearer" = [])), params(Filters),
    responses((status = 200, body = Count), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[allow(dead_code)]
fn count_events() {}

/// Matching events per time bucket; the bucket size is chosen from the range.
#[utoipa::path(get, path = "/api/events/histogram", tag = "events", security(("bearer" = [])),
    params(Filters, ("buckets" = Option<String>, Query, description = "target bucket count, 1..500, default 60")),
    responses((status = 200, body = Histogram), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[allow(dead_code)]
fn histogram() {}

/// Every matching event, streamed as CSV or JSON lines.
#[utoipa::path(get, path = "/api/events/export", tag = "events", security(("bearer" = [])),
    params(Filters, ("format" = Option<String>, Query, description = "csv (default) or jsonl")),
    responses((status = 200, description = "CSV or JSON lines attachment", content_type = "text/csv"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[allow(dead_code)]
fn export() {}

/// One event.
#[utoipa::path(get, path = "/api/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = String, Path, description = "event id")),
    responses((status = 200, body = Event), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[allow(dead_code)]
fn get_event() {}

/// Replace an event's tags.
#[utoipa::path(patch, path = "/api/events/{id}/tags", tag = "events", security(("bearer" = [])),
    params(("id" = String, Path, description = "event id")), request_body = TagsBody,
    responses((status = 200, body = Event), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[allow(dead_code)]
fn set_tags() {}

/// Append a comment to an event (the author is the signed-in user).
#[utoipa::path(post, path = "/api/events/{id}/comments", tag = "events", security(("bearer" = [])),
    params(("id" = String, Path, description = "event id")), request_body = CommentBody,
    responses((status = 200, body = Event), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[allow(dead_code)]
fn add_comment() {}

/// Distinct services, operations, results and actors, for filter dropdowns.
#[utoipa::path(get, path = "/api/filter-options", tag = "events", security(("bearer" = [])),
    responses((status = 200, body = FilterOptions), (status = 401, body = ErrorBody)))]
#[allow(dead_code)]
fn filter_options() {}

/// Run one fetch from Microsoft 365 now.
#[utoipa::path(get, path = "/api/fetch-audit-logs", tag = "ingest", security(("bearer" = [])),
    params(("hours" = Option<String>, Query, description = "look-back in hours, 1..720, default 168")),
    responses((status = 200, body = FetchReport), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
#[allow(dead_code)]
fn fetch_audit_logs() {}

/// Last attempt, success and error per source.
#[utoipa::path(get, path = "/api/source-health", tag = "ingest", security(("bearer" = [])),
    responses((status = 200, body = Vec<SourceHealth>), (status = 401, body = ErrorBody)))]
#[allow(dead_code)]
fn source_health() {}

/// AOC's own write actions (tags, comments, fetches), newest first.
#[utoipa::path(get, path = "/api/activity", tag = "operations", security(("bearer" = [])),
    params(("limit" = Option<String>, Query, description = "entries per page, 1..200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = ActivityPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
#[allow(dead_code)]
fn activity() {}

/// Microsoft Graph change notifications (validationToken echo; clientState checked).
#[utoipa::path(post, path = "/api/webhooks/graph", tag = "ingest",
    params(("validationToken" = Option<String>, Query, description = "subscription validation")),
    request_body(content = Object, description = "Graph notification batch {\"value\": [...]}"),
    responses((status = 200, description = "validation token echoed as text/plain"), (status = 202, description = "accepted"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[allow(dead_code)]
fn graph_webhook() {}

/// Features the UI may show.
#[utoipa::path(get, path = "/api/config/features", tag = "config", security(("bearer" = [])),
    responses((status = 200, body = Features)))]
#[allow(dead_code)]
fn config_features() {}

/// What the UI needs to sign in (public).
#[utoipa::path(get, path = "/api/config/auth", tag = "config", responses((status = 200, body = AuthConfig)))]
#[allow(dead_code)]
fn config_auth() {}

/// Prometheus metrics, from METRICS_ALLOWED_IPS only.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 403, body = ErrorBody)))]
#[allow(dead_code)]
fn metrics() {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn every_registered_route_is_documented() {
        let doc = ApiDoc::openapi();
        let mut routes: Vec<(&str, &str)> = crate::API_ROUTES.to_vec();
        routes.push(("GET", "/health"));
        routes.push(("GET", "/metrics"));
        for (method, path) in routes {
            let item = doc
                .paths
                .paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} is not in the OpenAPI document"));
            assert!(
                operations(item).iter().any(|(m, _)| *m == method),
                "{method} {path} is not in the OpenAPI document"
            );
        }
        // and nothing documented that the router does not serve
        let registered: Vec<&str> = crate::API_ROUTES.iter().map(|(_, p)| *p).collect();
        for path in doc.paths.paths.keys() {
            assert!(
                registered.contains(&path.as_str()) || path == "/health" || path == "/metrics",
                "{path}"
            );
        }
    }

    #[test]
    fn document_is_json_with_bearer_scheme() {
        let v: serde_json::Value = serde_json::from_str(&document()).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3."));
        assert_eq!(
            v["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
