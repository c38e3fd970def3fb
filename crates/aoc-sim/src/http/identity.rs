//! Managed identity token endpoints:
//!
//! - Azure Instance Metadata Service: `GET /metadata/identity/oauth2/token?api-version=2018-02-01
//!   &resource=...[&client_id=...]` with `Metadata: true`. Numbers come back as strings, as
//!   IMDS writes them.
//! - App Service / Functions: `GET /msi/token?api-version=2019-08-01&resource=...[&client_id=...]`
//!   with `X-IDENTITY-HEADER` (the value of `IDENTITY_HEADER`). The answer has `expires_on` but
//!   no `expires_in`.
//!
//! Errors are `{"error", "error_description"}`, the shape IMDS documents.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{PLAIN_JSON, json_response, set_retry_after};
use super::login::audience_for;
use super::token::issue_for_app;
use super::{query_pairs, request_base};
use crate::config::{Endpoint, FaultKind};
use crate::handle::{Fired, SimHandle};

fn identity_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        PLAIN_JSON,
        &json!({ "error": error, "error_description": description }),
    )
}

fn fired_response(fired: Fired) -> Response {
    let (status, error, retry_after_secs) = match fired {
        Fired::Fault {
            kind: FaultKind::Throttle,
            retry_after_secs,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            retry_after_secs,
        ),
        Fired::Fault {
            kind: FaultKind::Unavailable,
            retry_after_secs,
        } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            retry_after_secs,
        ),
        Fired::Failing { status } => (
            StatusCode::from_u16(status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "server_error",
            None,
        ),
    };
    let mut resp = identity_error(status, error, "The simulated identity endpoint failed.");
    set_retry_after(&mut resp, retry_after_secs);
    resp
}

/// Which flavour of endpoint answers: they differ in the header they require and in the shape
/// of a successful answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Imds,
    AppService,
}

pub(crate) async fn imds_token(
    State(handle): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    token(&handle, Flavour::Imds, &headers, query.as_deref())
}

pub(crate) async fn app_service_token(
    State(handle): State<SimHandle>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    token(&handle, Flavour::AppService, &headers, query.as_deref())
}

fn token(
    handle: &SimHandle,
    flavour: Flavour,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    if let Some(fired) = handle.on_request(Endpoint::ManagedIdentityToken) {
        return fired_response(fired);
    }
    let identities = &handle.config().managed_identity;
    let header_value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match flavour {
        // IMDS answers only requests that carry `Metadata: true`, so a request forged through
        // an open redirect or proxy (which cannot add headers) gets nothing.
        Flavour::Imds => {
            if !header_value("metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                return identity_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Required metadata header not specified",
                );
            }
        }
        Flavour::AppService => {
            if header_value("x-identity-header") != Some(identities.identity_header.as_str()) {
                return identity_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized_client",
                    "X-IDENTITY-HEADER is missing or does not match IDENTITY_HEADER.",
                );
            }
        }
    }
    let params = query_pairs(query);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if param("api-version").is_none() {
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = param("resource") else {
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    // The simulated host knows its identities by client id only.
    let other_selector = ["object_id", "principal_id", "msi_res_id", "mi_res_id"]
        .iter()
        .find(|p| param(p).is_some());
    let client_id = match other_selector {
        Some(_) => None,
        None => identities.resolve(param("client_id")),
    };
    let Some(client_id) = client_id else {
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        );
    };
    let base = request_base(handle, headers);
    let Some(kind) = audience_for(resource, &base) else {
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            &format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant."
            ),
        );
    };
    let resource = resource.trim_end_matches('/');
    let (access_token, expires_in) = issue_for_app(handle, kind, resource, client_id);
    let now = chrono::Utc::now().timestamp();
    let expires_on = now.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX / 2));
    let body: Value = match flavour {
        Flavour::Imds => json!({
            "access_token": access_token,
            "client_id": client_id,
            "expires_in": expires_in.to_string(),
            "expires_on": expires_on.to_string(),
            "ext_expires_in": expires_in.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
        Flavour::AppService => json!({
            "access_token": access_token,
            "expires_on": expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }),
    };
    let mut resp = json_response(StatusCode::OK, PLAIN_JSON, &body);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    resp
}
