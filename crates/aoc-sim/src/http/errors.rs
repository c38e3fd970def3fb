//! Error bodies in each service's own documented shape.
//!
//! - Microsoft identity platform: `{"error", "error_description", "error_codes", "timestamp",
//!   "trace_id", "correlation_id", "error_uri"}` with `AADSTSnnnn: ...` descriptions.
//! - Microsoft Graph: `{"error": {"code", "message", "innerError": {"date", "request-id",
//!   "client-request-id"}}}`.
//! - Management Activity API: `{"error": {"code": "AFnnnnn", "message"}}`.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use crate::config::FaultKind;
use crate::handle::Fired;

pub(crate) const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
pub(crate) const PLAIN_JSON: &str = "application/json; charset=utf-8";

pub(crate) fn json_response(
    status: StatusCode,
    content_type: &'static str,
    body: &Value,
) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(crate) fn set_retry_after(resp: &mut Response, retry_after_secs: Option<u64>) {
    if let Some(secs) = retry_after_secs
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// Request ids Graph puts on every response (echoing the client's `client-request-id`).
pub(crate) fn graph_ids(headers: &HeaderMap) -> (String, String) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map_or_else(|| request_id.clone(), str::to_string);
    (request_id, client)
}

pub(crate) fn add_graph_headers(resp: &mut Response, request_id: &str, client_request_id: &str) {
    for (name, value) in [
        ("request-id", request_id),
        ("client-request-id", client_request_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(HeaderName::from_static(name), v);
        }
    }
}

pub(crate) fn graph_error(
    status: StatusCode,
    code: &str,
    message: &str,
    headers: &HeaderMap,
) -> Response {
    let (request_id, client_request_id) = graph_ids(headers);
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    });
    let mut resp = json_response(status, PLAIN_JSON, &body);
    add_graph_headers(&mut resp, &request_id, &client_request_id);
    resp
}

/// 401 from Graph, with the `WWW-Authenticate` challenge Graph sends.
pub(crate) fn graph_unauthorized(message: &str, headers: &HeaderMap) -> Response {
    let mut resp = graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
        headers,
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        ),
    );
    resp
}

pub(crate) fn manage_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        PLAIN_JSON,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

/// The Management API's answer to a missing, malformed or expired bearer token.
pub(crate) fn manage_unauthorized() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        PLAIN_JSON,
        &json!({ "Message": "Authorization has been denied for this request." }),
    )
}

pub(crate) fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = uuid::Uuid::new_v4().to_string();
    let correlation = uuid::Uuid::new_v4().to_string();
    let timestamp = Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    json_response(status, PLAIN_JSON, &body)
}

fn status_or_500(status: u16) -> StatusCode {
    StatusCode::from_u16(status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn graph_code(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("BadRequest", "Bad request."),
        401 => (
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        403 => (
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        404 => ("ResourceNotFound", "Resource not found for the segment."),
        429 => (
            "TooManyRequests",
            "Too many requests. Please retry after the interval given in the Retry-After header.",
        ),
        502 => ("BadGateway", "Bad gateway."),
        503 => ("ServiceUnavailable", "Service is unavailable. Retry later."),
        504 => ("GatewayTimeout", "The gateway timed out."),
        _ => (
            "InternalServerError",
            "An internal server error occurred while processing the request.",
        ),
    }
}

/// Graph's answer when a switch fires.
pub(crate) fn graph_fired(fired: Fired, headers: &HeaderMap, intune: bool) -> Response {
    match fired {
        Fired::Fault {
            kind,
            retry_after_secs,
        } => {
            let status = match kind {
                FaultKind::Throttle => StatusCode::TOO_MANY_REQUESTS,
                FaultKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            let (code, message) = graph_code(status);
            let mut resp = graph_error(status, code, message, headers);
            set_retry_after(&mut resp, retry_after_secs);
            resp
        }
        Fired::Failing { status } => {
            let status = status_or_500(status);
            let (code, message) = graph_code(status);
            // Intune wraps its own service error inside the Graph envelope.
            let message = if intune && status.is_server_error() {
                format!(
                    "{{\"_version\": 3, \"Message\": \"An internal server error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: {} - Url: https://fef.msua06.manage.microsoft.com/AuditingService/StatelessAuditingService/deviceManagement/auditEvents?api-version=2023-07-04\", \"CustomApiErrorPhrase\": \"\", \"RetryAfter\": null, \"ErrorSourceService\": \"\", \"HttpHeaders\": \"{{}}\"}}",
                    uuid::Uuid::new_v4()
                )
            } else if intune && status == StatusCode::FORBIDDEN {
                "Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementApps.Read.All, DeviceManagementApps.ReadWrite.All - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000".to_string()
            } else {
                message.to_string()
            };
            let code = if intune && status == StatusCode::FORBIDDEN {
                "Forbidden"
            } else {
                code
            };
            graph_error(status, code, &message, headers)
        }
    }
}

/// The Management API's answer when a switch fires.
pub(crate) fn manage_fired(
    fired: Fired,
    throttle_status: u16,
    method: &str,
    publisher: &str,
) -> Response {
    match fired {
        Fired::Fault {
            kind: FaultKind::Throttle,
            retry_after_secs,
        } => {
            let mut resp = manage_error(
                status_or_500(throttle_status),
                "AF429",
                &format!("Too many requests. Method={method}, PublisherId={publisher}"),
            );
            set_retry_after(&mut resp, retry_after_secs);
            resp
        }
        Fired::Fault {
            kind: FaultKind::Unavailable,
            retry_after_secs,
        } => {
            let mut resp = manage_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "AF50000",
                "An internal error occurred. Retry the request.",
            );
            set_retry_after(&mut resp, retry_after_secs);
            resp
        }
        Fired::Failing { status } => {
            let status = status_or_500(status);
            match status.as_u16() {
                401 => manage_unauthorized(),
                403 => manage_error(
                    status,
                    "AF10001",
                    "The permission set () sent in the request did not include the expected permission ActivityFeed.Read.",
                ),
                _ => manage_error(
                    status,
                    "AF50000",
                    "An internal error occurred. Retry the request.",
                ),
            }
        }
    }
}

/// The token endpoint's answer when a switch fires.
pub(crate) fn login_fired(fired: Fired) -> Response {
    match fired {
        Fired::Fault {
            kind: FaultKind::Throttle,
            retry_after_secs,
        } => {
            let mut resp = aad_error(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                90055,
                "The request has been throttled. Retry later.",
            );
            set_retry_after(&mut resp, retry_after_secs);
            resp
        }
        Fired::Fault {
            kind: FaultKind::Unavailable,
            retry_after_secs,
        } => {
            let mut resp = aad_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            );
            set_retry_after(&mut resp, retry_after_secs);
            resp
        }
        Fired::Failing { status } => aad_error(
            status_or_500(status),
            "server_error",
            90033,
            "A transient error has occurred. Please try again.",
        ),
    }
}
