//! Access tokens: `sim1.<base64url(claims JSON)>.<hex MAC>`.
//!
//! Not a JWT: clients must treat access tokens as opaque, and a format they cannot parse keeps
//! them honest. The claims carry the audience (which API the token is for), tenant, app id, the
//! wall-clock expiry and a generation number so the simulator can revoke everything at once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::handle::SimHandle;

/// Which API a token is good for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Audience {
    Graph,
    Manage,
    /// Issued for the simulator's own base URL (`{base}/.default`): valid on both APIs, since
    /// one base URL cannot say which API it meant.
    Sim,
    /// Azure Key Vault (`https://vault.azure.net` and its national-cloud twins). Only a token
    /// for the vault resource opens it: the vault checks the audience strictly.
    Vault,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub aud: String,
    pub kind: Audience,
    pub tid: String,
    pub appid: String,
    pub iat: i64,
    pub exp: i64,
    pub generation: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Missing,
    Malformed,
    Expired,
    Revoked,
    WrongAudience,
}

fn mac(handle: &SimHandle, payload: &str) -> String {
    let mut h = Sha256::new();
    h.update(handle.token_key());
    h.update(payload.as_bytes());
    hex::encode(&h.finalize()[..16])
}

pub(crate) fn issue(handle: &SimHandle, kind: Audience, aud: &str) -> (String, u64) {
    issue_for_app(handle, kind, aud, &handle.config().client_id)
}

/// Like [`issue`], for another application id (a managed identity's client id).
pub(crate) fn issue_for_app(
    handle: &SimHandle,
    kind: Audience,
    aud: &str,
    appid: &str,
) -> (String, u64) {
    let lifetime = handle.config().token_lifetime_secs;
    let iat = chrono::Utc::now().timestamp();
    let claims = Claims {
        aud: aud.to_string(),
        kind,
        tid: handle.config().tenant_id.clone(),
        appid: appid.to_string(),
        iat,
        exp: iat.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX / 2)),
        generation: handle.token_generation(),
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let token = format!("sim1.{payload}.{}", mac(handle, &payload));
    (token, lifetime)
}

/// Validates the `Authorization` header for an API that accepts `want`.
pub(crate) fn verify(
    handle: &SimHandle,
    authorization: Option<&str>,
    want: Audience,
) -> Result<Claims, TokenProblem> {
    let raw = authorization.ok_or(TokenProblem::Missing)?;
    let (scheme, token) = raw.trim().split_once(' ').ok_or(TokenProblem::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenProblem::Malformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenProblem::Missing);
    }
    let mut parts = token.split('.');
    let (Some("sim1"), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenProblem::Malformed);
    };
    if mac(handle, payload) != sig {
        return Err(TokenProblem::Malformed);
    }
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenProblem::Malformed)?;
    if claims.generation != handle.token_generation() {
        return Err(TokenProblem::Revoked);
    }
    if claims.exp <= chrono::Utc::now().timestamp() {
        return Err(TokenProblem::Expired);
    }
    let sim_fits =
        claims.kind == Audience::Sim && matches!(want, Audience::Graph | Audience::Manage);
    if claims.kind != want && !sim_fits {
        return Err(TokenProblem::WrongAudience);
    }
    Ok(claims)
}
