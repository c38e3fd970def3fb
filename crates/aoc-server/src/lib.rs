//! The HTTP front door: axum routes over the aoc-app services, with the JSON error policy,
//! authentication, rate limits, metrics, CORS, timeouts, body limits and security headers.

pub mod auth;
pub mod client_ip;
mod compression;
pub mod cors;
pub mod error;
pub mod extract;
pub mod limits;
mod mcp;
pub mod metrics;
mod middleware;
pub mod openapi;
pub mod request_id;
pub mod routes;
mod serve;
mod static_files;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use aoc_app::AppContext;

/// Largest request body accepted (tags, comments, webhook batches are all small).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// HSTS as sent when HSTS_ENABLED=true: a year, subdomains included.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Limits of the HTTP layer. The defaults suit production; tests shorten the timeouts.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// A request head must arrive within this time, or the connection is closed.
    pub header_read_timeout: Duration,
    /// A request (body included) must be answered within this time: 408 otherwise.
    pub request_timeout: Duration,
    /// The same for a fetch from Microsoft 365, which legitimately takes minutes.
    pub fetch_timeout: Duration,
    /// Largest request head (headers) accepted.
    pub max_header_bytes: usize,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// OpenID discovery document to take signing keys from, instead of the one derived from
    /// AUTH_TENANT_ID / AUTH_ISSUER (AUTH_OPENID_CONFIG_URL).
    pub openid_config_url: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(15 * 60),
            max_header_bytes: 64 * 1024,
            max_connections: 1024,
            openid_config_url: None,
        }
    }
}

impl ServerOptions {
    /// The defaults, with AUTH_OPENID_CONFIG_URL from the environment when set.
    pub fn from_env() -> std::io::Result<Self> {
        let mut options = Self::default();
        if let Some(v) = std::env::var("AUTH_OPENID_CONFIG_URL")
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            match url::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    options.openid_config_url = Some(v)
                }
                _ => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("AUTH_OPENID_CONFIG_URL: must be an http(s) URL, got '{v}'"),
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// The API routes, declared once. Each handler is registered through utoipa-axum, which takes
/// its method and path from the handler's `#[utoipa::path]` and adds the operation to the
/// OpenAPI document: what is served and what is documented are one list. The method and path
/// written here pick the timeout and make `API_ROUTES`; a test holds them to the document.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// (method, path) of every /api route the router serves.
        pub const API_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// /health and the /api routes, with the OpenAPI document they make up.
        fn api_router(options: &ServerOptions) -> OpenApiRouter<Arc<AppContext>> {
            OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
                .routes(routes!(routes::health::health).layer(timeout_for("/health", options)))
                .routes(routes!(routes::health::ready).layer(timeout_for("/ready", options)))
                $(.routes(routes!($handler).layer(timeout_for($path, options))))*
        }
    };
}

api_routes! {
    GET "/api/version" => routes::health::version,
    GET "/api/events" => routes::events::list,
    GET "/api/events/count" => routes::events::count,
    GET "/api/events/histogram" => routes::events::histogram,
    GET "/api/events/export" => routes::export::export,
    GET "/api/events/{id}" => routes::events::get,
    PATCH "/api/events/{id}/tags" => routes::events::set_tags,
    POST "/api/events/{id}/comments" => routes::events::add_comment,
    GET "/api/filter-options" => routes::events::filter_options,
    GET "/api/fetch-audit-logs" => routes::ingest::fetch,
    GET "/api/source-health" => routes::ingest::source_health,
    GET "/api/siem/status" => routes::siem::status,
    GET "/api/jobs" => routes::jobs::list,
    POST "/api/jobs/fetch" => routes::jobs::start_fetch,
    POST "/api/jobs/import" => routes::jobs::start_import,
    POST "/api/jobs/renormalize" => routes::jobs::start_renormalize,
    POST "/api/jobs/rule-test" => routes::jobs::start_rule_test,
    GET "/api/jobs/{id}" => routes::jobs::get,
    DELETE "/api/jobs/{id}" => routes::jobs::cancel,
    GET "/api/activity" => routes::activity::list,
    POST "/api/webhooks/graph" => routes::webhooks::graph,
    GET "/api/config/features" => routes::config::features,
    GET "/api/config/auth" => routes::config::auth,
    GET "/api/rules" => routes::alerting::list_rules,
    POST "/api/rules" => routes::alerting::create_rule,
    POST "/api/rules/test" => routes::alerting::test_rule,
    GET "/api/rules/{id}" => routes::alerting::get_rule,
    PUT "/api/rules/{id}" => routes::alerting::update_rule,
    DELETE "/api/rules/{id}" => routes::alerting::delete_rule,
    GET "/api/alerts" => routes::alerting::list_alerts,
    GET "/api/alerts/summary" => routes::alerting::alert_summary,
    GET "/api/alerts/{id}" => routes::alerting::get_alert,
    PATCH "/api/alerts/{id}" => routes::alerting::update_alert,
    GET "/api/saved-searches" => routes::alerting::list_saved,
    POST "/api/saved-searches" => routes::alerting::create_saved,
    PUT "/api/saved-searches/{id}" => routes::alerting::update_saved,
    DELETE "/api/saved-searches/{id}" => routes::alerting::delete_saved,
    POST "/api/saved-searches/{id}/rule" => routes::alerting::saved_to_rule,
}

/// (method, path) of the routes mounted only with AI_FEATURES_ENABLED=true: with it off they
/// are neither served (404) nor documented.
pub const AI_ROUTES: &[(&str, &str)] =
    &[("POST", "/api/ask"), ("POST", "/api/events/{id}/explain")];

/// Ask and explain. They may wait on the language model for up to LLM_TIMEOUT_SECONDS before
/// answering without it, so their time limit is the request's plus that.
fn ai_router(options: &ServerOptions, llm_timeout: Duration) -> OpenApiRouter<Arc<AppContext>> {
    let limit = TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        options.request_timeout + llm_timeout,
    );
    OpenApiRouter::new()
        .routes(routes!(routes::ai::ask).layer(limit))
        .routes(routes!(routes::ai::explain).layer(limit))
}

/// The /api routes for these settings: the AI routes only when the features are on.
fn api_router_for(
    options: &ServerOptions,
    ai_features: bool,
    llm_timeout: Duration,
) -> OpenApiRouter<Arc<AppContext>> {
    let api = api_router(options);
    if ai_features {
        api.merge(ai_router(options, llm_timeout))
    } else {
        api
    }
}

/// The OpenAPI document of the routes [`try_router`] serves, for these settings (the AI
/// features off: see [`api_document_with_ai`]).
pub fn api_document(access: &openapi::Access<'_>) -> utoipa::openapi::OpenApi {
    api_document_with_ai(access, false)
}

/// The document with or without the AI routes (AI_FEATURES_ENABLED).
pub fn api_document_with_ai(
    access: &openapi::Access<'_>,
    ai_features: bool,
) -> utoipa::openapi::OpenApi {
    let (_, doc) =
        api_router_for(&ServerOptions::default(), ai_features, Duration::ZERO).split_for_parts();
    openapi::finish(doc, access)
}

fn timeout_for(path: &str, options: &ServerOptions) -> TimeoutLayer {
    // An upload of a large export takes as long as the client's link needs.
    let limit = if path == "/api/fetch-audit-logs" || path == "/api/jobs/import" {
        options.fetch_timeout
    } else {
        options.request_timeout
    };
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limit)
}

/// Why the server cannot start with these settings.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    RateLimit(#[from] limits::RedisError),
}

/// The whole application router with default options. Settings the router cannot honour (a
/// malformed REDIS_URL) make it refuse every limited request: [`launch`] reports them instead.
pub fn router(ctx: Arc<AppContext>) -> Router {
    router_with(ctx, &ServerOptions::default())
}

pub fn router_with(ctx: Arc<AppContext>, options: &ServerOptions) -> Router {
    match try_router(ctx.clone(), options) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "refusing API requests: the configuration is broken");
            Router::new()
                .route("/health", get(routes::health::health))
                .fallback(|| async {
                    error::ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server misconfigured")
                })
                .with_state(ctx)
        }
    }
}

pub fn try_router(ctx: Arc<AppContext>, options: &ServerOptions) -> Result<Router, StartError> {
    let settings = &ctx.settings;
    let metrics_state = Arc::new(metrics::MetricsState {
        ctx: ctx.clone(),
        allowed: settings.metrics_allowed_ips.clone(),
    });
    metrics::install();

    let (api, doc) = api_router_for(options, settings.ai_features_enabled, settings.llm.timeout)
        .split_for_parts();
    let mut app = Router::new()
        .route(
            "/metrics",
            get(metrics::scrape)
                .with_state(metrics_state)
                .layer(timeout_for("/metrics", options)),
        )
        .route("/", get(static_files::index))
        .route("/{*path}", get(static_files::asset))
        .merge(api);
    if !settings.ai_features_enabled {
        // Absent like any unknown route: 404 for every method (the UI's catch-all would
        // otherwise answer a POST with 405).
        for (_, path) in AI_ROUTES {
            app = app.route(path, axum::routing::any(middleware::not_found));
        }
    }
    // Built before the MCP routes, whose costly tools spend from its ask budget.
    let limiter = if settings.rate_limit.enabled {
        Some(Arc::new(limits::RateLimiter::new(&settings.rate_limit)?))
    } else {
        None
    };
    app = if settings.ai_features_enabled {
        app.merge(mcp::routes(ctx.clone(), options, limiter.clone()))
    } else {
        mcp::absent(app)
    };
    let auth = settings.auth.enabled.then(|| {
        let discovery = auth::discovery_url(&settings.auth, options.openid_config_url.as_deref());
        let webhook_open = settings.webhook_client_secret.is_some();
        Arc::new(auth::Auth::new(&settings.auth, discovery, webhook_open))
    });
    if settings.docs_enabled {
        // Per settings: the document shows the bearer scheme only when sign-in is on.
        let access = openapi::Access {
            auth: auth.as_deref(),
            rate_limits: settings.rate_limit.enabled,
        };
        app = app.merge(openapi::routes(&openapi::finish(doc, &access)));
    }
    app = app.fallback(middleware::not_found);

    // Innermost first. Both look at the path themselves (only /api is guarded) and sit on the
    // whole router, so an unknown /api path is refused like a known one. The rate limit runs
    // after authentication, so it can key by subject.
    if let Some(limiter) = limiter {
        tracing::info!(backend = limiter.backend_name(), "rate limits on");
        app = app.layer(axum::middleware::from_fn_with_state(limiter, limits::limit));
    }
    if let Some(auth) = auth {
        app = app.layer(axum::middleware::from_fn_with_state(
            auth,
            auth::require_auth,
        ));
    }

    let proxies = Arc::new(client_ip::TrustedProxies::new(
        settings.trusted_proxies.clone(),
    ));
    let mut app = app
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(axum::middleware::from_fn(metrics::track))
        // Outside authentication and rate limits, which read the client's address.
        .layer(axum::middleware::from_fn_with_state(
            proxies.clone(),
            client_ip::resolve,
        ));
    if let Some(cors) = cors::layer(&settings.cors_origins) {
        app = app.layer(cors);
    }
    if settings.hsts {
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ));
    }
    let csp = if settings.auth.enabled {
        // A provider URL without a usable origin leaves the strict policy as is (sign-in then
        // fails visibly in the browser instead of the policy being widened by accident).
        middleware::csp_origin(&auth::authority(&settings.auth))
            .map(|origin| middleware::csp_with_provider(&origin))
            .and_then(|csp| HeaderValue::from_str(&csp).ok())
            .unwrap_or_else(|| HeaderValue::from_static(middleware::CSP))
    } else {
        HeaderValue::from_static(middleware::CSP)
    };
    Ok(app
        .layer(axum::middleware::from_fn_with_state(
            csp,
            middleware::security_headers,
        ))
        // So it compresses the final body, JSON errors included.
        .layer(compression::layer())
        // Outermost: every line any layer logs carries the id, every answer its header.
        .layer(axum::middleware::from_fn_with_state(
            proxies,
            request_id::assign,
        ))
        .with_state(ctx))
}

/// Serve until `shutdown` resolves, with the options from the environment. Tests pass a
/// listener on 127.0.0.1:0.
pub async fn launch(
    listener: tokio::net::TcpListener,
    ctx: Arc<AppContext>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    launch_with(listener, ctx, ServerOptions::from_env()?, shutdown).await
}

pub async fn launch_with(
    listener: tokio::net::TcpListener,
    ctx: Arc<AppContext>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = try_router(ctx, &options)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    serve::serve(listener, app, &options, shutdown).await
}
