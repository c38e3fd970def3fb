//! Prometheus metrics at `GET /metrics`, readable only from METRICS_ALLOWED_IPS (the client's
//! address: behind TRUSTED_PROXIES the forwarded one).
//!
//! Metrics go through the `metrics` facade, so any crate records with its macros
//! (`metrics::counter!(names::FETCH_EVENTS, "source" => "directory").increment(n)`) and this
//! module renders them. The recorder is process-wide and installed once.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use aoc_app::AppContext;

use crate::client_ip::ClientIp;
use crate::error::ApiError;

/// Metric names, for every crate that records them.
pub mod names {
    /// Counter {method, route, status}: HTTP requests answered, by matched route.
    pub const HTTP_REQUESTS: &str = "aoc_http_requests_total";
    /// Histogram {method, route}: seconds until the response head was ready.
    pub const HTTP_DURATION: &str = "aoc_http_request_duration_seconds";
    /// Counter {source}: raw records fetched from Microsoft 365 (for aoc-app's ingest).
    pub const FETCH_RECORDS: &str = "aoc_fetch_records_total";
    /// Counter {source}: fetch attempts that failed (for aoc-app's ingest).
    pub const FETCH_ERRORS: &str = "aoc_fetch_errors_total";
    /// Counter {category}: requests refused by a rate limit.
    pub const RATE_LIMITED: &str = "aoc_rate_limited_total";
    /// Gauge: events in the store.
    pub const STORE_EVENTS: &str = "aoc_store_events";
    /// Gauge {source}: records fetched by the source's last attempt (from source health).
    pub const SOURCE_LAST_COUNT: &str = "aoc_source_last_fetch_records";
    /// Gauge {source}: 1 when the source's last attempt failed.
    pub const SOURCE_FAILING: &str = "aoc_source_failing";
    /// Gauge {source}: Unix time of the source's last successful fetch.
    pub const SOURCE_LAST_SUCCESS: &str = "aoc_source_last_success_timestamp_seconds";
    /// Counter {rule, severity}: alerts raised (recorded by aoc-app's rule evaluator).
    pub const ALERTS_RAISED: &str = aoc_app::alerting::metric_names::ALERTS_RAISED;
    /// Counter: events the rule evaluator looked at.
    pub const ALERT_EVENTS_EVALUATED: &str = aoc_app::alerting::metric_names::EVENTS_EVALUATED;
    /// Gauge {severity}: open alerts.
    pub const ALERTS_OPEN: &str = "aoc_alerts_open";
    /// Gauge: stored events the rule evaluator has not looked at yet (counted up to 1,000,000).
    pub const ALERT_EVALUATION_LAG: &str = "aoc_alert_evaluation_lag_events";
    /// Counter {channel}: alert notifications a receiver accepted.
    pub const NOTIFY_DELIVERED: &str = aoc_app::notify::metric_names::DELIVERED;
    /// Counter {channel}: notification attempts that failed (each is retried).
    pub const NOTIFY_FAILED: &str = aoc_app::notify::metric_names::FAILED;
    /// Counter {target}: events a SIEM target accepted (recorded by aoc-app's forwarders).
    pub const SIEM_DELIVERED: &str = aoc_app::siem::metric_names::DELIVERED;
    /// Counter {target}: SIEM delivery attempts that failed (each is retried).
    pub const SIEM_FAILED: &str = aoc_app::siem::metric_names::FAILED;
    /// Gauge {target}: stored events a SIEM target has not received yet (up to 1,000,000).
    pub const SIEM_BACKLOG: &str = aoc_app::siem::metric_names::BACKLOG;
}

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process-wide recorder (once); None when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.to_string()), LATENCY_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed: /metrics will be unavailable");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        names::HTTP_REQUESTS,
        "HTTP requests answered, by matched route"
    );
    describe_histogram!(
        names::HTTP_DURATION,
        Unit::Seconds,
        "time to the response head, by matched route"
    );
    describe_counter!(
        names::FETCH_RECORDS,
        "raw records fetched from Microsoft 365, by source"
    );
    describe_counter!(names::FETCH_ERRORS, "failed fetch attempts, by source");
    describe_counter!(
        names::RATE_LIMITED,
        "requests refused by a rate limit, by category"
    );
    describe_gauge!(names::STORE_EVENTS, "events in the store");
    describe_gauge!(
        names::SOURCE_LAST_COUNT,
        "records fetched by the last attempt, by source"
    );
    describe_gauge!(
        names::SOURCE_FAILING,
        "1 when the last fetch attempt of the source failed"
    );
    describe_gauge!(
        names::SOURCE_LAST_SUCCESS,
        "Unix time of the last successful fetch, by source"
    );
    describe_counter!(names::ALERTS_RAISED, "alerts raised, by rule and severity");
    describe_counter!(
        names::ALERT_EVENTS_EVALUATED,
        "events the alert rule evaluator looked at"
    );
    describe_gauge!(names::ALERTS_OPEN, "open alerts, by severity");
    describe_counter!(
        names::NOTIFY_DELIVERED,
        "alert notifications delivered, by channel"
    );
    describe_counter!(
        names::NOTIFY_FAILED,
        "failed alert notification attempts (retried), by channel"
    );
    describe_gauge!(
        names::ALERT_EVALUATION_LAG,
        "stored events not yet evaluated by the alert rules"
    );
    describe_counter!(
        names::SIEM_DELIVERED,
        "events delivered to a SIEM target, by target"
    );
    describe_counter!(
        names::SIEM_FAILED,
        "failed SIEM delivery attempts (retried), by target"
    );
    describe_gauge!(
        names::SIEM_BACKLOG,
        "stored events a SIEM target has not received yet, by target"
    );
    for source in aoc_domain::Source::FETCHED.map(aoc_domain::Source::as_str) {
        metrics::counter!(names::FETCH_RECORDS, "source" => source).absolute(0);
        metrics::counter!(names::FETCH_ERRORS, "source" => source).absolute(0);
    }
}

/// Middleware: count and time every request by its route pattern (never the raw path, whose
/// ids would make the label set unbounded).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let res = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16().to_string();
    metrics::counter!(names::HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(names::HTTP_DURATION, "method" => method, "route" => route)
        .record(start.elapsed());
    res
}

pub struct MetricsState {
    pub ctx: Arc<AppContext>,
    pub allowed: Vec<IpNet>,
}

/// Is this client allowed to read metrics? IPv4 clients on an IPv6 socket count as IPv4; a
/// request without a known client (not from a socket) is not.
pub fn allowed(nets: &[IpNet], client: Option<IpAddr>) -> bool {
    let Some(client) = client else { return false };
    let ip = client.to_canonical();
    nets.iter().any(|n| n.contains(&ip))
}

pub async fn scrape(State(state): State<Arc<MetricsState>>, req: Request) -> Response {
    let client = req.extensions().get::<ClientIp>().map(|c| c.0);
    if !allowed(&state.allowed, client) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "metrics are not available to this address",
        )
        .into_response();
    }
    let Some(handle) = install() else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "metrics are not available")
            .into_response();
    };
    record_store_gauges(&state.ctx).await;
    handle.run_upkeep();
    let mut res = handle.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Store size, per-source fetch health and alerting, read at scrape time.
async fn record_store_gauges(ctx: &AppContext) {
    if ctx.settings.alerts.enabled {
        if let Ok(Ok(summary)) =
            tokio::time::timeout(Duration::from_secs(5), ctx.alerts.summary()).await
        {
            for (severity, n) in summary.open_by_severity {
                metrics::gauge!(names::ALERTS_OPEN, "severity" => severity).set(n as f64);
            }
        }
        if let Ok(Ok(lag)) =
            tokio::time::timeout(Duration::from_secs(5), ctx.alert_evaluation_lag()).await
        {
            metrics::gauge!(names::ALERT_EVALUATION_LAG).set(lag.events_behind as f64);
        }
    }
    match tokio::time::timeout(Duration::from_secs(5), ctx.events.total()).await {
        Ok(Ok(n)) => metrics::gauge!(names::STORE_EVENTS).set(n as f64),
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: cannot count events"),
        Err(_) => tracing::warn!("metrics: counting events timed out"),
    }
    if let Ok(Ok(health)) =
        tokio::time::timeout(Duration::from_secs(5), ctx.ingest.source_health()).await
    {
        for h in health {
            let source = h.source.clone();
            metrics::gauge!(names::SOURCE_LAST_COUNT, "source" => source.clone())
                .set(h.last_count as f64);
            metrics::gauge!(names::SOURCE_FAILING, "source" => source.clone())
                .set(if h.last_error.is_some() { 1.0 } else { 0.0 });
            if let Some(t) = h.last_success {
                metrics::gauge!(names::SOURCE_LAST_SUCCESS, "source" => source)
                    .set(t.timestamp() as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn address_allow_list() {
        let nets: Vec<IpNet> = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let at = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(allowed(&nets, at("127.0.0.1")));
        assert!(allowed(&nets, at("::ffff:10.1.2.3")));
        assert!(!allowed(&nets, at("8.8.8.8")));
        assert!(!allowed(&nets, at("2001:db8::1")));
        assert!(!allowed(&nets, None));
    }
}
