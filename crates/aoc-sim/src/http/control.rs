//! `/_sim/*`: test and demo controls. Not part of any Microsoft API.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use super::query_pairs;
use crate::config::{FaultKind, FaultSpec, Target};
use crate::generate::SimSource;
use crate::generate::unified::ContentType;
use crate::handle::SimHandle;

/// Body of `POST /_sim/control`. Every field is optional; they apply in the order listed.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlRequest {
    /// Disarm all pending faults and persistent failures first.
    pub clear_faults: bool,
    /// Throttle the next `count` matching requests.
    pub throttle: Option<FaultArgs>,
    /// 503 for the next `count` matching requests.
    pub unavailable: Option<FaultArgs>,
    /// Persistent failure of a target with a status.
    pub fail: Option<FailArgs>,
    /// Stop a persistent failure.
    pub clear_fail: Option<Target>,
    pub set_now: Option<DateTime<Utc>>,
    pub advance_secs: Option<i64>,
    pub reset_counts: bool,
    pub revoke_tokens: bool,
    pub start_subscription: Option<String>,
    pub stop_subscription: Option<String>,
    pub disable_subscription: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultArgs {
    #[serde(default)]
    pub target: Target,
    pub count: u32,
    /// Absent or null: no `Retry-After` header.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailArgs {
    pub target: Target,
    pub status: u16,
}

fn bad(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

fn content_type(name: &str) -> Result<ContentType, Response> {
    ContentType::parse(name).ok_or_else(|| bad(format!("unknown content type {name:?}")))
}

pub(crate) async fn control(State(handle): State<SimHandle>, body: Bytes) -> Response {
    let req: ControlRequest = if body.is_empty() {
        ControlRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return bad(format!("invalid control request: {e}")),
        }
    };
    if let Err(resp) = apply(&handle, req) {
        return resp;
    }
    Json(handle.state_snapshot()).into_response()
}

fn apply(handle: &SimHandle, req: ControlRequest) -> Result<(), Response> {
    if req.clear_faults {
        handle.clear_faults();
    }
    for (kind, args) in [
        (FaultKind::Throttle, req.throttle),
        (FaultKind::Unavailable, req.unavailable),
    ] {
        if let Some(a) = args {
            handle.add_fault(FaultSpec {
                kind,
                target: a.target,
                count: a.count,
                retry_after_secs: a.retry_after_secs,
            });
        }
    }
    if let Some(f) = req.fail {
        handle.fail(f.target, f.status);
    }
    if let Some(t) = req.clear_fail {
        handle.clear_failure(t);
    }
    if let Some(t) = req.set_now {
        handle.set_now(t);
    }
    if let Some(secs) = req.advance_secs {
        handle.advance(Duration::seconds(secs));
    }
    if req.reset_counts {
        handle.reset_counts();
    }
    if req.revoke_tokens {
        handle.revoke_tokens();
    }
    if let Some(ct) = req.start_subscription {
        handle.start_subscription(content_type(&ct)?);
    }
    if let Some(ct) = req.stop_subscription {
        handle.stop_subscription(content_type(&ct)?);
    }
    if let Some(ct) = req.disable_subscription {
        handle.disable_subscription(content_type(&ct)?);
    }
    Ok(())
}

pub(crate) async fn state(State(handle): State<SimHandle>) -> Response {
    Json(handle.state_snapshot()).into_response()
}

/// `GET /_sim/truth?source=directory&from=...&to=...[&ids=true]`: ground truth over HTTP, for
/// end-to-end tests that run the simulator in another process.
pub(crate) async fn truth(State(handle): State<SimHandle>, RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let Some(Ok(source)) = get("source").map(str::parse::<SimSource>) else {
        return bad("source must be directory, intune or unified".into());
    };
    let time = |k: &str| get(k).and_then(|v| DateTime::parse_from_rfc3339(v).ok());
    let from = time("from").map_or_else(|| handle.origin(), |t| t.with_timezone(&Utc));
    let to = time("to").map_or_else(|| handle.now(), |t| t.with_timezone(&Utc));
    if get("ids") == Some("true") {
        let ids = handle.unique_record_ids(source, from, to);
        Json(json!({ "source": source, "from": from, "to": to, "count": ids.len(), "ids": ids }))
            .into_response()
    } else {
        let count = handle.unique_records(source, from, to);
        Json(json!({ "source": source, "from": from, "to": to, "count": count })).into_response()
    }
}

/// `GET /_sim/detections?start=...&end=...`: the planted detection positives and near misses
/// among the records clients can fetch now (RFC 3339 bounds, both optional: the window's
/// start and now).
pub(crate) async fn detections(
    State(handle): State<SimHandle>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut bounds = [handle.origin(), handle.now()];
    for (i, name) in ["start", "end"].into_iter().enumerate() {
        if let Some(v) = get(name) {
            match DateTime::parse_from_rfc3339(v) {
                Ok(t) => bounds[i] = t.with_timezone(&Utc),
                Err(_) => return bad(format!("{name} must be an RFC 3339 time")),
            }
        }
    }
    let [from, to] = bounds;
    Json(json!({ "detections": handle.planted_detections(from, to) })).into_response()
}
