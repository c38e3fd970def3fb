//! Azure Key Vault, secrets only: `GET /secrets/{name}[/{version}]?api-version=...`.
//!
//! Answers in the vault's own shapes: a secret bundle `{value, id, attributes}` on success, and
//! `{"error": {"code", "message"[, "innererror"]}}` otherwise (`Unauthorized` with a
//! `WWW-Authenticate` challenge, `Forbidden` with inner `AccessDenied`, `SecretNotFound`,
//! `BadParameter`, `Throttled`).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::errors::{PLAIN_JSON, json_response, set_retry_after};
use super::token::{Audience, TokenProblem, verify};
use super::{query_pairs, request_base};
use crate::config::{Endpoint, FaultKind};
use crate::handle::{Fired, SimHandle};

/// The resource every Key Vault token is for (public cloud; the sim accepts the national-cloud
/// ones at the token endpoints too).
const VAULT_RESOURCE: &str = "https://vault.azure.net";

fn vault_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        PLAIN_JSON,
        &json!({ "error": { "code": code, "message": message } }),
    )
}

/// 401 with the challenge that tells a client where to get a token and for which resource.
fn unauthorized(handle: &SimHandle, headers: &HeaderMap, message: &str) -> Response {
    let mut resp = vault_error(StatusCode::UNAUTHORIZED, "Unauthorized", message);
    let challenge = format!(
        "Bearer authorization=\"{}/{}\", resource=\"{VAULT_RESOURCE}\"",
        request_base(handle, headers),
        handle.config().tenant_id
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

fn fired_response(fired: Fired) -> Response {
    match fired {
        Fired::Fault {
            kind: FaultKind::Throttle,
            retry_after_secs,
        } => {
            let mut resp = vault_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Throttled",
                "Request was not processed because too many requests were received. Reason: Secret requests per vault per 10 seconds limit has been reached.",
            );
            set_retry_after(&mut resp, retry_after_secs);
            resp
        }
        Fired::Fault {
            kind: FaultKind::Unavailable,
            retry_after_secs,
        } => {
            let mut resp = vault_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is temporarily unavailable. Retry the request.",
            );
            set_retry_after(&mut resp, retry_after_secs);
            resp
        }
        Fired::Failing { status } => {
            let status = StatusCode::from_u16(status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = if status == StatusCode::FORBIDDEN {
                "Forbidden"
            } else {
                "InternalServerError"
            };
            vault_error(status, code, "The simulated vault was told to fail.")
        }
    }
}

/// Key Vault secret names: 1-127 characters, ASCII letters, digits and dashes.
fn valid_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A stable 32-hex-digit version id, so the `id` a client reads back can be asked for again.
fn version_of(name: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(name.to_ascii_lowercase().as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    hex::encode(&h.finalize()[..16])
}

pub(crate) async fn secret(
    State(handle): State<SimHandle>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&handle, &name, None, &headers, query.as_deref())
}

pub(crate) async fn secret_version(
    State(handle): State<SimHandle>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&handle, &name, Some(&version), &headers, query.as_deref())
}

fn answer(
    handle: &SimHandle,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    if let Some(fired) = handle.on_request(Endpoint::VaultSecret) {
        return fired_response(fired);
    }
    let has_api_version = query_pairs(query)
        .iter()
        .any(|(k, v)| k == "api-version" && !v.is_empty());
    if !has_api_version {
        return vault_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "The request is missing the api-version query parameter.",
        );
    }
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let claims = match verify(handle, authz, Audience::Vault) {
        Ok(claims) => claims,
        Err(TokenProblem::Missing) => {
            return unauthorized(
                handle,
                headers,
                "AKV10000: Request is missing a Bearer or PoP token.",
            );
        }
        Err(TokenProblem::WrongAudience) => {
            return unauthorized(
                handle,
                headers,
                &format!("AKV10022: Invalid audience. Expected {VAULT_RESOURCE}."),
            );
        }
        Err(TokenProblem::Expired) => {
            return unauthorized(handle, headers, "The access token has expired.");
        }
        Err(TokenProblem::Malformed | TokenProblem::Revoked) => {
            return unauthorized(handle, headers, "The access token is not valid.");
        }
    };
    if !valid_name(name) {
        return vault_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            &format!("The request URI contains an invalid name: {name}"),
        );
    }
    let vault = &handle.config().key_vault;
    if vault.is_denied(name) {
        let body = json!({ "error": {
            "code": "Forbidden",
            "message": format!(
                "The user, group or application 'appid={};oid={};iss=https://sts.windows.net/{}/' does not have secrets get permission on key vault '{};location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                claims.appid, claims.appid, claims.tid, vault.name
            ),
            "innererror": { "code": "AccessDenied" },
        }});
        return json_response(StatusCode::FORBIDDEN, PLAIN_JSON, &body);
    }
    let found = vault.secret(name).filter(|(stored, value)| {
        version.is_none_or(|v| v.is_empty() || v.eq_ignore_ascii_case(&version_of(stored, value)))
    });
    let Some((stored, value)) = found else {
        let shown = match version {
            Some(v) if !v.is_empty() => format!("{name}/{v}"),
            _ => name.to_string(),
        };
        return vault_error(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            &format!(
                "A secret with (name/id) {shown} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
            ),
        );
    };
    let created = handle.origin().timestamp();
    let body = json!({
        "value": value,
        "id": format!("{}/secrets/{stored}/{}", request_base(handle, headers), version_of(stored, value)),
        "attributes": {
            "enabled": true,
            "created": created,
            "updated": created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
        "tags": {},
    });
    json_response(StatusCode::OK, PLAIN_JSON, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_key_vault_rules() {
        assert!(valid_name("aoc-client-secret"));
        assert!(valid_name("A1"));
        assert!(!valid_name(""));
        assert!(!valid_name("has_underscore"));
        assert!(!valid_name("dot.ted"));
        assert!(!valid_name(&"a".repeat(128)));
    }

    #[test]
    fn versions_are_stable_and_case_blind_in_the_name() {
        assert_eq!(version_of("Name", "v"), version_of("name", "v"));
        assert_ne!(version_of("name", "v"), version_of("name", "w"));
        assert_eq!(version_of("name", "v").len(), 32);
    }
}
