//! `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant of the Microsoft identity
//! platform.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::errors::{PLAIN_JSON, aad_error, json_response, login_fired};
use super::request_base;
use super::token::{Audience, issue};
use crate::config::Endpoint;
use crate::handle::SimHandle;
use crate::tenant::{DOMAIN, INITIAL_DOMAIN};

const GRAPH_RESOURCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
];

const MANAGE_RESOURCES: &[&str] = &[
    "https://manage.office.com",
    "https://manage-gcc.office.com",
    "https://manage.office365.us",
    "https://manage.protection.apps.mil",
];

/// Azure Key Vault in the public, US Government and China clouds.
const VAULT_RESOURCES: &[&str] = &[
    "https://vault.azure.net",
    "https://vault.usgovcloudapi.net",
    "https://vault.azure.cn",
];

/// Maps a resource identifier to the audience of the token issued for it.
pub(crate) fn audience_for(resource: &str, base: &str) -> Option<Audience> {
    let r = resource.trim_end_matches('/').to_ascii_lowercase();
    if GRAPH_RESOURCES.contains(&r.as_str()) {
        Some(Audience::Graph)
    } else if MANAGE_RESOURCES.contains(&r.as_str()) {
        Some(Audience::Manage)
    } else if VAULT_RESOURCES.contains(&r.as_str()) {
        Some(Audience::Vault)
    } else if r == base.trim_end_matches('/').to_ascii_lowercase() {
        Some(Audience::Sim)
    } else {
        None
    }
}

/// AADSTS9002313: Entra's code for a request it cannot make sense of.
const MALFORMED_REQUEST: u32 = 9002313;

/// Client credentials in an `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
enum Basic {
    /// No header, or another scheme (the token endpoint only reads Basic).
    Absent,
    Malformed,
    Present {
        client_id: String,
        secret: String,
    },
}

fn basic_credentials(headers: &HeaderMap) -> Basic {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Basic::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Basic::Malformed;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return Basic::Absent;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::Absent;
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Basic::Malformed;
    };
    match (form_decode(id), form_decode(secret)) {
        (Some(client_id), Some(secret)) if !client_id.is_empty() => {
            Basic::Present { client_id, secret }
        }
        _ => Basic::Malformed,
    }
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
/// None for a broken escape or bytes that are not UTF-8.
fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

/// Adds the `WWW-Authenticate: Basic` challenge a 401 owes a client that authenticated with
/// the Authorization header.
fn challenge(mut resp: Response, tenant: &str) -> Response {
    let realm = tenant.replace(['"', '\\'], "");
    if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

fn missing(param: &str) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{param}'."),
    )
}

pub(crate) async fn token(
    State(handle): State<SimHandle>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fired) = handle.on_request(Endpoint::Token) {
        return login_fired(fired);
    }
    let cfg = handle.config();
    let known_tenant = [cfg.tenant_id.as_str(), INITIAL_DOMAIN, DOMAIN]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&tenant));
    if !known_tenant {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(grant) = field("grant_type") else {
        return missing("grant_type");
    };
    if grant != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant}'."),
        );
    }
    // RFC 6749 section 2.3.1: the id and secret may come in the body (client_secret_post) or
    // in an HTTP Basic header (client_secret_basic); Entra takes both, one at a time.
    let (client_id, secret, basic) = match basic_credentials(&headers) {
        Basic::Absent => (
            field("client_id").map(str::to_owned),
            field("client_secret").map(str::to_owned),
            false,
        ),
        Basic::Malformed => {
            return challenge(
                aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    MALFORMED_REQUEST,
                    "The Authorization header does not hold HTTP Basic client credentials: base64 of the form-urlencoded client id, ':' and the form-urlencoded secret.",
                ),
                &tenant,
            );
        }
        Basic::Present { client_id, secret } => {
            if field("client_secret").is_some() {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    MALFORMED_REQUEST,
                    "The client secret was sent both in the Authorization header and in the request body; a client must use one authentication method per request.",
                );
            }
            if field("client_id").is_some_and(|body_id| !body_id.eq_ignore_ascii_case(&client_id)) {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    MALFORMED_REQUEST,
                    "The client_id in the request body does not match the client id in the Authorization header.",
                );
            }
            (
                Some(client_id),
                Some(secret).filter(|s| !s.is_empty()),
                true,
            )
        }
    };
    // A client that authenticated with the Authorization header is told so in the same
    // scheme (RFC 6749 section 5.2).
    let refuse = |resp: Response| {
        if basic {
            challenge(resp, &tenant)
        } else {
            resp
        }
    };
    let Some(client_id) = client_id else {
        return missing("client_id");
    };
    if !client_id.eq_ignore_ascii_case(&cfg.client_id) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    let Some(secret) = secret else {
        return refuse(aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };
    if secret != cfg.client_secret {
        return refuse(aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                cfg.client_id
            ),
        ));
    }
    let Some(scope) = field("scope") else {
        return missing("scope");
    };
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let [single] = scopes.as_slice() else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. Client credential flows must request exactly one resource with /.default."
            ),
        );
    };
    let Some(resource) = single.strip_suffix("/.default") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {single} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let base = request_base(&handle, &headers);
    let Some(kind) = audience_for(resource, &base) else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            &format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            ),
        );
    };
    let (access_token, expires_in) = issue(&handle, kind, resource.trim_end_matches('/'));
    let mut resp = json_response(
        StatusCode::OK,
        PLAIN_JSON,
        &json!({
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": access_token,
        }),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_map_to_audiences() {
        let base = "http://127.0.0.1:9000";
        assert_eq!(
            audience_for("https://graph.microsoft.com", base),
            Some(Audience::Graph)
        );
        assert_eq!(
            audience_for("https://Manage.Office.com/", base),
            Some(Audience::Manage)
        );
        assert_eq!(
            audience_for("http://127.0.0.1:9000", base),
            Some(Audience::Sim)
        );
        assert_eq!(
            audience_for("https://vault.azure.net", base),
            Some(Audience::Vault)
        );
        assert_eq!(audience_for("https://example.org", base), None);
    }

    fn basic(value: &str) -> Basic {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(header::AUTHORIZATION, v);
        }
        basic_credentials(&headers)
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        // Each part is form-urlencoded before base64 (RFC 6749 2.3.1), so a ':' in the secret
        // cannot be mistaken for the separator.
        let encoded = STANDARD.encode("my+app:s%3Ae%25cr%C3%A9t+1");
        assert_eq!(
            basic(&format!("Basic {encoded}")),
            Basic::Present {
                client_id: "my app".into(),
                secret: "s:e%crét 1".into()
            }
        );
        assert_eq!(
            basic(&format!("basic {}", STANDARD.encode("id:"))),
            Basic::Present {
                client_id: "id".into(),
                secret: String::new()
            }
        );
        assert_eq!(basic("Bearer abc"), Basic::Absent);
        assert_eq!(basic_credentials(&HeaderMap::new()), Basic::Absent);
        for bad in [
            "Basic !!!".to_string(),
            format!("Basic {}", STANDARD.encode("no-colon")),
            format!("Basic {}", STANDARD.encode(":secret")),
            format!("Basic {}", STANDARD.encode("id:bad%zz")),
            format!("Basic {}", STANDARD.encode("id:%C3")),
        ] {
            assert_eq!(basic(&bad), Basic::Malformed, "{bad}");
        }
    }
}
