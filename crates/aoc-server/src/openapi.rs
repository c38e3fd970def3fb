//! The OpenAPI document (`/openapi.json`) and a readable page of it (`/docs`), both served only
//! when DOCS_ENABLED=true.
//!
//! Nothing here restates a route or a type. The router registers each handler through
//! utoipa-axum (see `api_router` in lib.rs), so paths, parameters and bodies come from the
//! handlers' `#[utoipa::path]` attributes and from the schemas derived on the types they really
//! take and return. [`finish`] adds what depends on the settings: the bearer scheme with 401 and
//! 403 answers only when sign-in is on (and only where the auth layer asks for a token), 429
//! only when rate limits are on. `tests/snapshots/openapi.json` holds the document as it is with
//! the default settings, so a change to the API contract shows in review.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, PathItem};
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};

use crate::error::ErrorBody;

/// What the document says before any route is registered.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "AOC — Admin Operations Center",
        description = "Microsoft 365 admin audit logs: search, tag, comment, export. Every error \
                       answer is JSON `{\"error\": \"...\"}`."
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "events", description = "Search, read, tag, comment on and export audit events"),
        (name = "ingest", description = "Fetching from Microsoft 365"),
        (name = "jobs", description = "Long work (fetch, import, renormalize, rule tests) as jobs to poll and cancel"),
        (name = "alerts", description = "Alert rules, the alerts they raise, and saved searches"),
        (name = "config", description = "What the web UI needs to know"),
        (name = "operations", description = "Health, version, metrics and the activity log")
    )
)]
pub struct ApiDoc;

/// Name of the bearer scheme in `components.securitySchemes`.
pub const BEARER: &str = "bearer";

/// Who may call what, as the document tells it.
pub struct Access<'a> {
    /// The auth layer when AUTH_ENABLED=true: it decides which routes need a token.
    pub auth: Option<&'a crate::auth::Auth>,
    /// RATE_LIMIT_ENABLED: limited routes may answer 429.
    pub rate_limits: bool,
}

/// The document the router collected, completed for these settings.
pub fn finish(mut doc: utoipa::openapi::OpenApi, access: &Access<'_>) -> utoipa::openapi::OpenApi {
    doc.paths.paths.insert("/metrics".into(), metrics_path());
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations_mut(item) {
            let responses = &mut op.responses.responses;
            match access.auth {
                Some(auth) if auth.protects(&method, path) => {
                    responses.entry("401".into()).or_insert_with(|| {
                        error_response("No valid bearer token (`WWW-Authenticate` says why)")
                    });
                    responses.entry("403".into()).or_insert_with(|| {
                        error_response("The token grants none of the allowed roles or groups")
                    });
                    responses.entry("503".into()).or_insert_with(|| {
                        error_response("The identity provider's signing keys are unreachable")
                    });
                }
                // Under a global requirement, an empty list is what says "no token needed".
                Some(_) => op.security = Some(Vec::new()),
                None => {}
            }
            if access.rate_limits && crate::limits::Category::of(&method, path).is_some() {
                responses
                    .entry("429".into())
                    .or_insert_with(|| error_response("Rate limited; `Retry-After` says when"));
            }
        }
    }
    if access.auth.is_some() {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        doc.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    }
    doc
}

/// Unicode White_Space, the characters `str::trim` removes.
const WHITE_SPACE: &str =
    "\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
/// Control characters (`char::is_control`).
const CONTROL: &str = "\\u0000-\\u001F\\u007F-\\u009F";

/// The `tags` of `PATCH /api/events/{id}/tags` as the tag rules accept them: each tag, once
/// trimmed, 1 to `MAX_TAG_LEN` characters and free of control characters.
pub fn tag_list() -> Array {
    use aoc_app::events::{MAX_TAG_LEN, MAX_TAGS};
    // The rules apply to the trimmed tag, so the length is the pattern's (a maxLength would
    // count the white space around it, control characters such as tabs included).
    let inner = MAX_TAG_LEN.saturating_sub(2);
    let tag = format!(
        "^[{WHITE_SPACE}]*[^{WHITE_SPACE}{CONTROL}]([^{CONTROL}]{{0,{inner}}}[^{WHITE_SPACE}{CONTROL}])?[{WHITE_SPACE}]*$"
    );
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(tag)),
        )
        .max_items(Some(MAX_TAGS))
        .build()
}

/// The `text` of `POST /api/events/{id}/comments`: not blank once trimmed, at most
/// `MAX_COMMENT_LEN` characters.
pub fn comment_text() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(aoc_app::events::MAX_COMMENT_LEN))
        .pattern(Some(format!("[^{WHITE_SPACE}]")))
        .build()
}

/// An error answer with the `{"error": "..."}` body.
pub fn error_response(description: &str) -> RefOr<ApiResponse> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// `/metrics` is served by the metrics module with a state of its own, outside the API router,
/// so it is described here; a test checks the router still serves it.
fn metrics_path() -> PathItem {
    let text = ContentBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build();
    let op = OperationBuilder::new()
        .tag("operations")
        .operation_id(Some("metrics"))
        .summary(Some("Prometheus metrics, for METRICS_ALLOWED_IPS only"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("Prometheus text format")
                .content("text/plain", text)
                .build(),
        )
        .response(
            "403",
            error_response("The client address is not in METRICS_ALLOWED_IPS"),
        )
        .build();
    PathItem::new(HttpMethod::Get, op)
}

/// The document as JSON text.
pub fn to_json(doc: &utoipa::openapi::OpenApi) -> String {
    doc.to_pretty_json().unwrap_or_else(|_| "{}".to_string())
}

/// `/openapi.json` and `/docs`, both rendered once from the finished document.
pub fn routes<S: Clone + Send + Sync + 'static>(doc: &utoipa::openapi::OpenApi) -> axum::Router<S> {
    let json: Arc<str> = to_json(doc).into();
    let html: Arc<str> = docs_html(doc).into();
    axum::Router::new()
        .route("/openapi.json", get(openapi_json).with_state(json))
        .route("/docs", get(docs_page).with_state(html))
}

async fn openapi_json(State(json): State<Arc<str>>) -> Response {
    let mut res = json.to_string().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

async fn docs_page(State(html): State<Arc<str>>) -> Html<String> {
    Html(html.to_string())
}

/// A plain HTML rendering of the document: no scripts, so it works under the strict CSP and
/// air-gapped (Swagger UI would need either a download at build time or inline code).
pub fn docs_html(doc: &utoipa::openapi::OpenApi) -> String {
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
                    let RefOr::T(p) = p else {
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
    html
}

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

fn slots(item: &PathItem) -> [&Option<Operation>; 5] {
    [&item.get, &item.post, &item.put, &item.patch, &item.delete]
}

/// The operations of a path item with their methods (the ones the API uses).
pub fn operations(item: &PathItem) -> Vec<(Method, &Operation)> {
    METHODS
        .into_iter()
        .zip(slots(item))
        .filter_map(|(m, op)| op.as_ref().map(|op| (m, op)))
        .collect()
}

fn operations_mut(item: &mut PathItem) -> Vec<(Method, &mut Operation)> {
    let slots = [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ];
    METHODS
        .into_iter()
        .zip(slots)
        .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::{BTreeSet, HashMap};
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;

    const SNAPSHOT: &str = "tests/snapshots/openapi.json";

    fn defaults() -> utoipa::openapi::OpenApi {
        crate::api_document(&Access {
            auth: None,
            rate_limits: true,
        })
    }

    fn json(doc: &utoipa::openapi::OpenApi) -> Value {
        serde_json::from_str(&to_json(doc)).unwrap()
    }

    /// The document with the default settings (sign-in off) against the checked-in copy.
    /// `UPDATE_SNAPSHOTS=1 cargo test -p aoc-server openapi` rewrites the copy.
    #[test]
    fn document_matches_the_snapshot() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
        let now = to_json(&defaults()) + "\n";
        if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &now).unwrap();
            return;
        }
        let before = std::fs::read_to_string(&path).unwrap_or_default();
        if before != now {
            let fresh = std::env::temp_dir().join("aoc-openapi.json");
            std::fs::write(&fresh, &now).unwrap();
            panic!(
                "the OpenAPI document changed: compare with `diff -u {} {}`; if the change is \
                 meant, rewrite the snapshot with `UPDATE_SNAPSHOTS=1 cargo test -p aoc-server \
                 openapi` and commit it",
                path.display(),
                fresh.display()
            );
        }
    }

    #[test]
    fn api_routes_are_exactly_the_documented_ones() {
        let doc = defaults();
        let mut documented = BTreeSet::new();
        for (path, item) in doc.paths.paths.iter() {
            for (method, _) in operations(item) {
                documented.insert((method.to_string(), path.clone()));
            }
        }
        let mut served: BTreeSet<(String, String)> = crate::API_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        served.insert(("GET".into(), "/health".into()));
        served.insert(("GET".into(), "/ready".into()));
        served.insert(("GET".into(), "/metrics".into()));
        assert_eq!(documented, served);
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = defaults();
        let mut seen = BTreeSet::new();
        for item in doc.paths.paths.values() {
            for (_, op) in operations(item) {
                let id = op.operation_id.clone().expect("every operation has an id");
                assert!(seen.insert(id.clone()), "{id} twice");
            }
        }
    }

    #[test]
    fn no_security_without_auth() {
        let v = json(&defaults());
        assert!(v.get("security").is_none());
        assert!(v["components"].get("securitySchemes").is_none());
        let events = &v["paths"]["/api/events"]["get"]["responses"];
        assert!(events.get("401").is_none() && events.get("429").is_some());
    }

    #[test]
    fn bearer_only_where_the_auth_layer_asks_for_a_token() {
        let map: HashMap<String, String> = [
            ("AUTH_ENABLED", "true"),
            ("AUTH_TENANT_ID", "00000000-0000-0000-0000-000000000001"),
            ("AUTH_CLIENT_ID", "00000000-0000-0000-0000-000000000002"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let settings = aoc_app::Settings::from_map(&map).unwrap();
        let auth = crate::auth::Auth::new(&settings.auth, "http://127.0.0.1:9/".into(), false);
        let v = json(&crate::api_document(&Access {
            auth: Some(&auth),
            rate_limits: false,
        }));
        assert_eq!(
            v["components"]["securitySchemes"][BEARER]["scheme"],
            "bearer"
        );
        assert_eq!(v["security"][0][BEARER], serde_json::json!([]));
        let events = &v["paths"]["/api/events"]["get"];
        assert!(events.get("security").is_none(), "the global requirement");
        assert!(events["responses"].get("401").is_some());
        assert!(events["responses"].get("429").is_none());
        for (path, method) in [
            ("/api/config/auth", "get"),
            ("/health", "get"),
            ("/metrics", "get"),
        ] {
            let op = &v["paths"][path][method];
            assert_eq!(op["security"], serde_json::json!([]), "{path} is public");
            assert!(op["responses"].get("401").is_none(), "{path}");
        }
    }

    #[test]
    fn time_bounds_are_date_times_and_page_sizes_bounded() {
        let v = json(&defaults());
        let params = v["paths"]["/api/events"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let find = |name: &str| {
            params
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{name}"))["schema"]
                .clone()
        };
        assert_eq!(find("start")["format"], "date-time");
        assert_eq!(find("end")["format"], "date-time");
        assert_eq!(find("page_size")["minimum"], 1);
        assert_eq!(find("page_size")["maximum"], 500);
    }

    #[test]
    fn docs_page_lists_every_operation_without_scripts() {
        let html = docs_html(&defaults());
        assert!(html.contains("/api/events/{id}/comments"));
        assert!(!html.contains("<script"));
    }
}
