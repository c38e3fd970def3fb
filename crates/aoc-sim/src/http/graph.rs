//! Microsoft Graph: `auditLogs/directoryAudits`, `deviceManagement/auditEvents` and
//! `directoryObjects/getByIds`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::errors::{
    GRAPH_JSON, add_graph_headers, graph_error, graph_fired, graph_ids, graph_unauthorized,
    json_response,
};
use super::filter::parse_filter;
use super::token::{Audience, TokenProblem, verify};
use super::{encode_component, query_pairs, request_base};
use crate::config::Endpoint;
use crate::generate::SimSource;
use crate::handle::SimHandle;
use crate::rng::hash3;

fn auth(handle: &SimHandle, headers: &HeaderMap) -> Result<(), Response> {
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    verify(handle, authz, Audience::Graph).map(|_| ()).map_err(|p| {
        let message = match p {
            TokenProblem::Missing => "Access token is empty.",
            TokenProblem::Malformed => {
                "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format."
            }
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
            TokenProblem::Revoked => "Access token validation failure. The token has been revoked.",
            TokenProblem::WrongAudience => "Access token validation failure. Invalid audience.",
        };
        graph_unauthorized(message, headers)
    })
}

fn bad_request(message: &str, headers: &HeaderMap) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "BadRequest", message, headers)
}

fn skiptoken(handle: &SimHandle, source: SimSource, slot: i64) -> String {
    let check = hash3(handle.config().seed, source as u64, slot as u64) % 1_000_000_007;
    URL_SAFE_NO_PAD.encode(format!("{}:{slot}:{check}", source.as_str()))
}

fn parse_skiptoken(handle: &SimHandle, source: SimSource, token: &str) -> Option<i64> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let mut parts = raw.split(':');
    let (Some(src), Some(slot), Some(check), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let slot: i64 = slot.parse().ok()?;
    (src == source.as_str() && skiptoken(handle, source, slot) == token && !check.is_empty())
        .then_some(slot)
}

pub(crate) async fn directory_audits(
    State(handle): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    list(&handle, SimSource::Directory, &headers, query.as_deref())
}

pub(crate) async fn audit_events(
    State(handle): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    list(&handle, SimSource::Intune, &headers, query.as_deref())
}

fn list(
    handle: &SimHandle,
    source: SimSource,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    let (endpoint, path, context) = match source {
        SimSource::Intune => (
            Endpoint::AuditEvents,
            "/v1.0/deviceManagement/auditEvents",
            "$metadata#deviceManagement/auditEvents",
        ),
        _ => (
            Endpoint::DirectoryAudits,
            "/v1.0/auditLogs/directoryAudits",
            "$metadata#auditLogs/directoryAudits",
        ),
    };
    if let Some(fired) = handle.on_request(endpoint) {
        return graph_fired(fired, headers, source == SimSource::Intune);
    }
    if let Err(resp) = auth(handle, headers) {
        return resp;
    }
    let mut filter = None;
    let mut top = None;
    let mut skip = None;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "$filter" => filter = Some(value),
            "$top" => top = Some(value),
            "$skiptoken" => skip = Some(value),
            "$orderby" => {
                let normalized = value.split_whitespace().collect::<Vec<_>>().join(" ");
                if !normalized.eq_ignore_ascii_case("activityDateTime desc") {
                    return bad_request(
                        &format!(
                            "Invalid $orderby '{value}': only 'activityDateTime desc' is supported."
                        ),
                        headers,
                    );
                }
            }
            k if k.starts_with('$') => {
                return bad_request(
                    &format!("Query option '{k}' is not supported by the simulator."),
                    headers,
                );
            }
            _ => {}
        }
    }
    let cfg = handle.config();
    let page = match &top {
        None => cfg.page_size,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=cfg.max_page_size).contains(&n) => n,
            _ => {
                return bad_request(
                    &format!(
                        "Invalid value '{t}' for query parameter $top. The value must be between 1 and {}.",
                        cfg.max_page_size
                    ),
                    headers,
                );
            }
        },
    };
    let bounds = match filter.as_deref().map(parse_filter) {
        None => Default::default(),
        Some(Ok(b)) => b,
        Some(Err(message)) => return bad_request(&message, headers),
    };
    let before = match skip.as_deref() {
        None => None,
        Some(t) => match parse_skiptoken(handle, source, t) {
            Some(slot) => Some(slot),
            None => return bad_request("Invalid $skiptoken.", headers),
        },
    };
    let lo = bounds.lo.unwrap_or(i64::MIN).max(handle.origin_ticks());
    let hi = bounds.hi.unwrap_or(i64::MAX).min(handle.now_ticks());
    let generator = handle.generator();
    let slots: Vec<_> = generator
        .slots_desc(source, lo, hi, before)
        .take(page + 1)
        .collect();
    let values: Vec<Value> = slots
        .iter()
        .take(page)
        .map(|s| generator.build(source, s))
        .collect();
    let base = request_base(handle, headers);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{base}/v1.0/{context}")),
    );
    if slots.len() > page
        && let Some(last) = slots.get(page - 1)
    {
        let mut link = format!("{base}{path}?");
        if let Some(f) = &filter {
            link.push_str(&format!("$filter={}&", encode_component(f)));
        }
        if let Some(t) = &top {
            link.push_str(&format!("$top={}&", encode_component(t)));
        }
        link.push_str(&format!(
            "$skiptoken={}",
            skiptoken(handle, source, last.index)
        ));
        body.insert("@odata.nextLink".into(), json!(link));
    }
    body.insert("value".into(), Value::Array(values));
    let (request_id, client_request_id) = graph_ids(headers);
    let mut resp = json_response(StatusCode::OK, GRAPH_JSON, &Value::Object(body));
    add_graph_headers(&mut resp, &request_id, &client_request_id);
    resp
}

const DIRECTORY_TYPES: &[&str] = &[
    "user",
    "group",
    "device",
    "servicePrincipal",
    "application",
    "directoryRole",
    "directoryRoleTemplate",
    "orgContact",
];

pub(crate) async fn get_by_ids(
    State(handle): State<SimHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fired) = handle.on_request(Endpoint::GetByIds) {
        return graph_fired(fired, &headers, false);
    }
    if let Err(resp) = auth(&handle, &headers) {
        return resp;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            &headers,
        );
    };
    let Some(ids) = request.get("ids").and_then(Value::as_array) else {
        return bad_request(
            "The request body must contain the 'ids' property.",
            &headers,
        );
    };
    if ids.is_empty() || ids.len() > 1000 {
        return bad_request(
            "Invalid value specified for property 'ids' of resource 'DirectoryObject': between 1 and 1000 ids are allowed.",
            &headers,
        );
    }
    let Some(ids) = ids.iter().map(Value::as_str).collect::<Option<Vec<_>>>() else {
        return bad_request("Every value of 'ids' must be a string.", &headers);
    };
    let mut wanted: Option<Vec<String>> = None;
    if let Some(types) = request.get("types").filter(|t| !t.is_null()) {
        let Some(types) = types.as_array() else {
            return bad_request("'types' must be an array of strings.", &headers);
        };
        let mut list = Vec::new();
        for t in types {
            let Some(name) = t.as_str() else {
                return bad_request("'types' must be an array of strings.", &headers);
            };
            let name = name
                .trim_start_matches("#microsoft.graph.")
                .trim_start_matches("microsoft.graph.");
            if !DIRECTORY_TYPES.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    &format!(
                        "Invalid value specified for property 'types' of resource 'DirectoryObject': '{name}'."
                    ),
                    &headers,
                );
            }
            list.push(name.to_ascii_lowercase());
        }
        wanted = Some(list);
    }
    let tenant = handle.generator().tenant();
    let mut seen = std::collections::HashSet::new();
    let values: Vec<Value> = ids
        .iter()
        .filter(|id| seen.insert(id.to_ascii_lowercase()))
        .filter_map(|id| tenant.object_by_id(id))
        .filter(|(kind, _)| {
            wanted.as_ref().is_none_or(|w| {
                w.iter()
                    .any(|t| t == &kind.type_name().to_ascii_lowercase())
            })
        })
        .map(|(_, v)| v)
        .collect();
    let base = request_base(&handle, &headers);
    let (request_id, client_request_id) = graph_ids(&headers);
    let mut resp = json_response(
        StatusCode::OK,
        GRAPH_JSON,
        &json!({
            "@odata.context": format!("{base}/v1.0/$metadata#directoryObjects"),
            "value": values,
        }),
    );
    add_graph_headers(&mut resp, &request_id, &client_request_id);
    resp
}
