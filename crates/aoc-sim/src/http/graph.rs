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
use super::filter::{Entity, Filter, parse_filter};
use super::token::{Audience, TokenProblem, verify};
use super::{encode_component, query_pairs, request_base};
use crate::config::Endpoint;
use crate::generate::SimSource;
use crate::handle::SimHandle;
use crate::rng::hash3;
use crate::timeline::Slot;

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

/// Which way a listing runs: `$orderby=activityDateTime desc` (the default) or `asc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Desc,
    Asc,
}

impl Order {
    fn as_str(self) -> &'static str {
        match self {
            Order::Desc => "desc",
            Order::Asc => "asc",
        }
    }

    /// `activityDateTime`, `activityDateTime asc` or `activityDateTime desc` (OData's default
    /// direction is ascending).
    fn parse(value: &str) -> Option<Order> {
        let words: Vec<&str> = value.split_whitespace().collect();
        match words.as_slice() {
            [p] if p.eq_ignore_ascii_case("activityDateTime") => Some(Order::Asc),
            [p, d] if p.eq_ignore_ascii_case("activityDateTime") => {
                if d.eq_ignore_ascii_case("asc") {
                    Some(Order::Asc)
                } else if d.eq_ignore_ascii_case("desc") {
                    Some(Order::Desc)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// Where the next page starts. It names the direction too, so a token cannot be replayed
/// against the other ordering and silently skip records.
fn skiptoken(handle: &SimHandle, source: SimSource, order: Order, slot: i64) -> String {
    let salt = (source as u64) << 1 | u64::from(order == Order::Asc);
    let check = hash3(handle.config().seed, salt, slot as u64) % 1_000_000_007;
    URL_SAFE_NO_PAD.encode(format!(
        "{}:{}:{slot}:{check}",
        source.as_str(),
        order.as_str()
    ))
}

fn parse_skiptoken(
    handle: &SimHandle,
    source: SimSource,
    order: Order,
    token: &str,
) -> Option<i64> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let mut parts = raw.split(':');
    let (Some(src), Some(dir), Some(slot), Some(check), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let slot: i64 = slot.parse().ok()?;
    (src == source.as_str()
        && dir == order.as_str()
        && skiptoken(handle, source, order, slot) == token
        && !check.is_empty())
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
    let (endpoint, path, context, entity) = match source {
        SimSource::Intune => (
            Endpoint::AuditEvents,
            "/v1.0/deviceManagement/auditEvents",
            "$metadata#deviceManagement/auditEvents",
            Entity::AuditEvent,
        ),
        _ => (
            Endpoint::DirectoryAudits,
            "/v1.0/auditLogs/directoryAudits",
            "$metadata#auditLogs/directoryAudits",
            Entity::DirectoryAudit,
        ),
    };
    if let Some(fired) = handle.on_request(endpoint) {
        return graph_fired(fired, headers, source == SimSource::Intune);
    }
    if let Err(resp) = auth(handle, headers) {
        return resp;
    }
    let mut filter_text = None;
    let mut top = None;
    let mut skip = None;
    let mut orderby = None;
    let mut order = Order::Desc;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "$filter" => filter_text = Some(value),
            "$top" => top = Some(value),
            "$skiptoken" => skip = Some(value),
            "$orderby" => {
                let Some(o) = Order::parse(&value) else {
                    return bad_request(
                        &format!(
                            "Invalid $orderby '{value}': only activityDateTime (asc or desc) is supported."
                        ),
                        headers,
                    );
                };
                order = o;
                orderby = Some(value);
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
    let filter = match filter_text.as_deref().map(|f| parse_filter(f, entity)) {
        None => Filter::default(),
        Some(Ok(f)) => f,
        Some(Err(message)) => return bad_request(&message, headers),
    };
    let resume = match skip.as_deref() {
        None => None,
        Some(t) => match parse_skiptoken(handle, source, order, t) {
            Some(slot) => Some(slot),
            None => return bad_request("Invalid $skiptoken.", headers),
        },
    };
    let lo = filter
        .time
        .lo
        .unwrap_or(i64::MIN)
        .max(handle.origin_ticks());
    let hi = filter.time.hi.unwrap_or(i64::MAX).min(handle.now_ticks());
    let generator = handle.generator();
    let slots: Box<dyn Iterator<Item = Slot> + '_> = match order {
        Order::Desc => Box::new(generator.slots_desc(source, lo, hi, resume)),
        Order::Asc => Box::new(generator.slots_asc(source, lo, hi, resume)),
    };
    // One record beyond the page says whether there is a next page.
    let mut rows: Vec<(Slot, Value)> = Vec::with_capacity(page.saturating_add(1).min(1024));
    for slot in slots {
        let record = generator.build(source, &slot);
        if filter.name_matches(record.get("activityDisplayName").and_then(Value::as_str)) {
            rows.push((slot, record));
            if rows.len() > page {
                break;
            }
        }
    }
    let more = rows.len() > page;
    rows.truncate(page);
    let base = request_base(handle, headers);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{base}/v1.0/{context}")),
    );
    if more && let Some((last, _)) = rows.last() {
        let mut link = format!("{base}{path}?");
        for (name, value) in [
            ("$filter", &filter_text),
            ("$orderby", &orderby),
            ("$top", &top),
        ] {
            if let Some(v) = value {
                link.push_str(&format!("{name}={}&", encode_component(v)));
            }
        }
        link.push_str(&format!(
            "$skiptoken={}",
            skiptoken(handle, source, order, last.index)
        ));
        body.insert("@odata.nextLink".into(), json!(link));
    }
    let values: Vec<Value> = rows.into_iter().map(|(_, v)| v).collect();
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
