//! One access token for the vault, from whichever identity the configuration names.
//!
//! - Client credentials: `POST {authority}/{tenant}/oauth2/v2.0/token` with
//!   `scope={resource}/.default`.
//! - App Service: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...` with
//!   `X-IDENTITY-HEADER`.
//! - IMDS: `GET {endpoint}?api-version=2018-02-01&resource=...` with `Metadata: true`.
//!
//! Only `access_token` is read from the answer: the token is used at once and dropped, so its
//! lifetime (which the three endpoints spell differently) does not matter.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::config::{Identity, VaultConfig};
use super::error::KeyVaultError;
use super::http;

const APP_SERVICE_API_VERSION: &str = "2019-08-01";
const IMDS_API_VERSION: &str = "2018-02-01";
/// IMDS documents 404 (while it updates) and 410 (while it starts) as worth retrying.
const IMDS_TRANSIENT: &[u16] = &[404, 410];

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

pub(crate) async fn token(config: &VaultConfig) -> Result<SecretString, KeyVaultError> {
    let identity = &config.identity;
    let describe = identity.describe();
    let client_error = |e: reqwest::Error| KeyVaultError::Client {
        vault: config.name.clone(),
        reason: e.to_string(),
    };
    let direct = !matches!(identity, Identity::ClientSecret { .. });
    let client = http::client(direct).map_err(client_error)?;
    let resource = config.resource.as_str();

    // Credentials this request carries: cut out of any error detail the endpoint sends back.
    let (endpoint, sent): (String, Vec<&str>) = match identity {
        Identity::ClientSecret {
            authority_host,
            tenant_id,
            secret,
            ..
        } => (
            format!("{authority_host}/{tenant_id}/oauth2/v2.0/token"),
            vec![secret.expose_secret()],
        ),
        Identity::AppService {
            endpoint, header, ..
        } => (endpoint.clone(), vec![header.expose_secret()]),
        Identity::Imds { endpoint, .. } => (endpoint.clone(), Vec::new()),
    };
    let build = || match identity {
        Identity::ClientSecret {
            client_id, secret, ..
        } => client.post(&endpoint).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.expose_secret()),
            ("scope", &format!("{resource}/.default")),
        ]),
        Identity::AppService {
            header, client_id, ..
        } => {
            let mut query = vec![
                ("api-version", APP_SERVICE_API_VERSION),
                ("resource", resource),
            ];
            query.extend(client_id.as_deref().map(|c| ("client_id", c)));
            client
                .get(&endpoint)
                .query(&query)
                .header("X-IDENTITY-HEADER", header.expose_secret())
        }
        Identity::Imds { client_id, .. } => {
            let mut query = vec![("api-version", IMDS_API_VERSION), ("resource", resource)];
            query.extend(client_id.as_deref().map(|c| ("client_id", c)));
            client
                .get(&endpoint)
                .query(&query)
                .header("Metadata", "true")
        }
    };
    let transient: &[u16] = match identity {
        Identity::Imds { .. } => IMDS_TRANSIENT,
        _ => &[],
    };

    let unreachable = |e: reqwest::Error| KeyVaultError::IdentityUnreachable {
        vault: config.name.clone(),
        identity: describe,
        url: endpoint.clone(),
        reason: http::transport_reason(&e),
    };
    let resp = http::send(build, transient).await.map_err(unreachable)?;
    let status = resp.status();
    let body = http::body(resp, http::MAX_BODY_BYTES)
        .await
        .map_err(unreachable)?
        .unwrap_or_default();
    let refused = |detail: String| KeyVaultError::IdentityRefused {
        vault: config.name.clone(),
        identity: describe,
        resource: resource.to_string(),
        status: http::status_text(status),
        detail,
    };
    if !status.is_success() {
        return Err(refused(
            http::error_detail(&body, &sent).unwrap_or_else(|| "no error details".into()),
        ));
    }
    let answer: TokenAnswer = serde_json::from_slice(&body)
        .map_err(|_| refused("the answer has no access_token".into()))?;
    if answer.access_token.trim().is_empty() {
        return Err(refused("the answer has an empty access_token".into()));
    }
    Ok(SecretString::from(answer.access_token))
}
