//! Office 365 Management Activity API: subscriptions, content listing and blob retrieval under
//! `/api/v1.0/{tenant}/activity/feed/...`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{PLAIN_JSON, json_response, manage_error, manage_fired, manage_unauthorized};
use super::token::{Audience, verify};
use super::{encode_component, query_pairs, request_base};
use crate::blobs::{BlobInfo, BlobKind, RETENTION};
use crate::config::Endpoint;
use crate::generate::SimSource;
use crate::generate::unified::ContentType;
use crate::handle::{SimHandle, SubscriptionStatus};
use crate::time::{TICKS_PER_DAY, Ticks, content_time, parse_management_time};

const WINDOW_RULE: &str = "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time prior to end time and start time no more than 7 days in the past.";
const NO_PUBLISHER: &str = "00000000-0000-0000-0000-000000000000";

struct Query(Vec<(String, String)>);

impl Query {
    /// Parameter names are matched case-insensitively, as the service does.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Ctx {
    query: Query,
}

/// Counting, switches, path, token and tenant checks shared by every operation.
fn prelude(
    handle: &SimHandle,
    endpoint: Endpoint,
    method: &str,
    version: &str,
    tenant: &str,
    headers: &HeaderMap,
    raw_query: Option<&str>,
) -> Result<Ctx, Response> {
    let query = Query(query_pairs(raw_query));
    let publisher = query
        .get("PublisherIdentifier")
        .unwrap_or(NO_PUBLISHER)
        .to_string();
    if let Some(fired) = handle.on_request(endpoint) {
        return Err(manage_fired(
            fired,
            handle.config().management_throttle_status,
            method,
            &publisher,
        ));
    }
    if version != "v1.0" && version != "v1" {
        return Err(manage_error(
            StatusCode::NOT_FOUND,
            "AF20050",
            &format!("The specified content (/api/{version}) does not exist."),
        ));
    }
    if uuid::Uuid::parse_str(tenant).is_err() {
        return Err(manage_error(
            StatusCode::BAD_REQUEST,
            "AF20013",
            &format!("The tenant ID passed in the URL ({tenant}) is not a valid GUID."),
        ));
    }
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let claims = verify(handle, authz, Audience::Manage).map_err(|_| manage_unauthorized())?;
    if !claims.tid.eq_ignore_ascii_case(tenant) {
        return Err(manage_error(
            StatusCode::UNAUTHORIZED,
            "AF20010",
            &format!(
                "The tenant ID passed in the URL ({tenant}) does not match the tenant ID passed in the access token ({}).",
                claims.tid
            ),
        ));
    }
    Ok(Ctx { query })
}

fn content_type(ctx: &Ctx) -> Result<ContentType, Response> {
    let Some(raw) = ctx.query.get("contentType").filter(|v| !v.is_empty()) else {
        return Err(manage_error(
            StatusCode::BAD_REQUEST,
            "AF20001",
            "Missing parameter: contentType.",
        ));
    };
    ContentType::parse(raw).ok_or_else(|| {
        manage_error(
            StatusCode::BAD_REQUEST,
            "AF20020",
            "The specified content type is not valid.",
        )
    })
}

fn require_enabled(handle: &SimHandle, ct: ContentType) -> Result<(), Response> {
    match handle.subscription(ct) {
        Some(SubscriptionStatus::Enabled) => Ok(()),
        Some(SubscriptionStatus::Disabled) => Err(manage_error(
            StatusCode::BAD_REQUEST,
            "AF20023",
            "The subscription was disabled by a tenant admin.",
        )),
        None => Err(manage_error(
            StatusCode::BAD_REQUEST,
            "AF20022",
            "No subscription found for the specified content type.",
        )),
    }
}

fn subscription_json(ct: ContentType, status: SubscriptionStatus) -> Value {
    json!({
        "contentType": ct.as_str(),
        "status": match status {
            SubscriptionStatus::Enabled => "enabled",
            SubscriptionStatus::Disabled => "disabled",
        },
        "webhook": null,
    })
}

pub(crate) async fn start(
    State(handle): State<SimHandle>,
    Path((version, tenant)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let ctx = match prelude(
        &handle,
        Endpoint::SubscriptionsStart,
        "POST",
        &version,
        &tenant,
        &headers,
        query.as_deref(),
    ) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let ct = match content_type(&ctx) {
        Ok(ct) => ct,
        Err(resp) => return resp,
    };
    if !handle.start_subscription(ct) {
        return manage_error(
            StatusCode::BAD_REQUEST,
            "AF20024",
            "The subscription is already enabled. No property change.",
        );
    }
    json_response(
        StatusCode::OK,
        PLAIN_JSON,
        &subscription_json(ct, SubscriptionStatus::Enabled),
    )
}

pub(crate) async fn stop(
    State(handle): State<SimHandle>,
    Path((version, tenant)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let ctx = match prelude(
        &handle,
        Endpoint::SubscriptionsStop,
        "POST",
        &version,
        &tenant,
        &headers,
        query.as_deref(),
    ) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let ct = match content_type(&ctx) {
        Ok(ct) => ct,
        Err(resp) => return resp,
    };
    if !handle.stop_subscription(ct) {
        return manage_error(
            StatusCode::BAD_REQUEST,
            "AF20022",
            "No subscription found for the specified content type.",
        );
    }
    let mut resp = json_response(StatusCode::OK, PLAIN_JSON, &Value::Null);
    *resp.body_mut() = axum::body::Body::empty();
    resp
}

pub(crate) async fn list(
    State(handle): State<SimHandle>,
    Path((version, tenant)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(resp) = prelude(
        &handle,
        Endpoint::SubscriptionsList,
        "GET",
        &version,
        &tenant,
        &headers,
        query.as_deref(),
    ) {
        return resp;
    }
    let subs: Vec<Value> = handle
        .subscriptions()
        .into_iter()
        .map(|(ct, status)| subscription_json(ct, status))
        .collect();
    json_response(StatusCode::OK, PLAIN_JSON, &Value::Array(subs))
}

/// `nextPage` values: the listing key of the first entry of the next page.
fn page_key(info: &BlobInfo) -> String {
    let kind = match info.blob.kind {
        BlobKind::Regular => 0,
        BlobKind::Late => 1,
    };
    format!(
        "{:020}R{}{}{}",
        info.created,
        info.blob.content_type.code(),
        kind,
        info.blob.bucket
    )
}

fn parse_page_key(key: &str) -> Option<(Ticks, u8, BlobKind, i64)> {
    let created: Ticks = key.get(..20)?.parse().ok()?;
    if key.get(20..21)? != "R" {
        return None;
    }
    let ct: u8 = key.get(21..22)?.parse().ok()?;
    let kind = match key.get(22..23)? {
        "0" => BlobKind::Regular,
        "1" => BlobKind::Late,
        _ => return None,
    };
    let bucket: i64 = key.get(23..)?.parse().ok()?;
    Some((created, ct, kind, bucket))
}

pub(crate) async fn content(
    State(handle): State<SimHandle>,
    Path((version, tenant)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let ctx = match prelude(
        &handle,
        Endpoint::SubscriptionsContent,
        "GET",
        &version,
        &tenant,
        &headers,
        query.as_deref(),
    ) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let ct = match content_type(&ctx) {
        Ok(ct) => ct,
        Err(resp) => return resp,
    };
    if let Err(resp) = require_enabled(&handle, ct) {
        return resp;
    }
    let now = handle.now_ticks();
    let window_error = || manage_error(StatusCode::BAD_REQUEST, "AF20055", WINDOW_RULE);
    let start_raw = ctx.query.get("startTime").filter(|v| !v.is_empty());
    let end_raw = ctx.query.get("endTime").filter(|v| !v.is_empty());
    let (start, end, start_text, end_text) = match (start_raw, end_raw) {
        (None, None) => {
            let start = now - TICKS_PER_DAY;
            (start, now, content_time(start), content_time(now))
        }
        (Some(s), Some(e)) => {
            let Some(start) = parse_management_time(s) else {
                return manage_error(
                    StatusCode::BAD_REQUEST,
                    "AF20002",
                    "Invalid parameter type: startTime. Expected type: datetime",
                );
            };
            let Some(end) = parse_management_time(e) else {
                return manage_error(
                    StatusCode::BAD_REQUEST,
                    "AF20002",
                    "Invalid parameter type: endTime. Expected type: datetime",
                );
            };
            (start, end, s.to_string(), e.to_string())
        }
        _ => return window_error(),
    };
    if start >= end || end - start > TICKS_PER_DAY || start < now - RETENTION {
        return window_error();
    }
    let from_key = match ctx.query.get("nextPage").filter(|v| !v.is_empty()) {
        None => None,
        Some(k) => match parse_page_key(k) {
            Some(key) => Some(key),
            None => {
                return manage_error(
                    StatusCode::BAD_REQUEST,
                    "AF20031",
                    &format!("Invalid nextPage Input: {k}."),
                );
            }
        },
    };
    let feed = handle.feed();
    let listed: Vec<BlobInfo> = feed
        .list(ct, start, end, now, handle.origin_ticks())
        .into_iter()
        .filter(|b| from_key.is_none_or(|k| b.sort_key() >= k))
        .collect();
    let page = handle.config().content_page_size;
    let base = request_base(&handle, &headers);
    let entries: Vec<Value> = listed
        .iter()
        .take(page)
        .map(|info| {
            let id = feed.content_id(info);
            json!({
                "contentUri": format!("{base}/api/v1.0/{tenant}/activity/feed/audit/{id}"),
                "contentId": id,
                "contentType": ct.as_str(),
                "contentCreated": content_time(info.created),
                "contentExpiration": content_time(info.expiration()),
            })
        })
        .collect();
    let mut resp = json_response(StatusCode::OK, PLAIN_JSON, &Value::Array(entries));
    if let Some(next) = listed.get(page) {
        let mut uri = format!(
            "{base}/api/v1.0/{tenant}/activity/feed/subscriptions/content?contentType={}&startTime={}&endTime={}&nextPage={}",
            ct.as_str(),
            encode_component(&start_text),
            encode_component(&end_text),
            page_key(next)
        );
        if let Some(p) = ctx.query.get("PublisherIdentifier") {
            uri.push_str(&format!("&PublisherIdentifier={}", encode_component(p)));
        }
        if let Ok(v) = HeaderValue::from_str(&uri) {
            resp.headers_mut()
                .insert(HeaderName::from_static("nextpageuri"), v);
        }
    }
    resp
}

pub(crate) async fn blob(
    State(handle): State<SimHandle>,
    Path((version, tenant, content_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(resp) = prelude(
        &handle,
        Endpoint::ContentBlob,
        "GET",
        &version,
        &tenant,
        &headers,
        query.as_deref(),
    ) {
        return resp;
    }
    let feed = handle.feed();
    let Some(info) = feed.parse_content_id(&content_id) else {
        return manage_error(
            StatusCode::BAD_REQUEST,
            "AF20052",
            &format!("Content ID {content_id} in the URL is invalid."),
        );
    };
    if let Err(resp) = require_enabled(&handle, info.blob.content_type) {
        return resp;
    }
    let now = handle.now_ticks();
    let not_found = || {
        manage_error(
            StatusCode::NOT_FOUND,
            "AF20050",
            &format!("The specified content ({content_id}) does not exist."),
        )
    };
    if info.created > now {
        return not_found();
    }
    if info.expiration() < now {
        return manage_error(
            StatusCode::BAD_REQUEST,
            "AF20051",
            &format!(
                "Content requested with the key {content_id} has already expired. Content older than 7 days cannot be retrieved."
            ),
        );
    }
    let slots = feed.contents(info.blob, handle.origin_ticks());
    if slots.is_empty() {
        return not_found();
    }
    let generator = handle.generator();
    let records: Vec<Value> = slots
        .iter()
        .map(|s| generator.build(SimSource::Unified, s))
        .collect();
    json_response(StatusCode::OK, PLAIN_JSON, &Value::Array(records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::BlobRef;

    #[test]
    fn page_keys_round_trip() {
        let info = BlobInfo {
            blob: BlobRef {
                content_type: ContentType::SharePoint,
                kind: BlobKind::Late,
                bucket: 987_654,
            },
            created: 17_000_000_000_000_000,
        };
        assert_eq!(parse_page_key(&page_key(&info)), Some(info.sort_key()));
        assert_eq!(parse_page_key("2015101900R022885001761"), None);
        assert_eq!(parse_page_key(""), None);
    }
}
