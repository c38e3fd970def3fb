//! Verifying one access token and turning its claims into a [`Caller`].

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde::Deserialize;

use aoc_app::Caller;
use aoc_app::config::AuthSettings;

use super::ENTRA_LOGIN_BASE;
use super::jwks::{JwksCache, KeyLookup};

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token is not acceptable; the text is for logs only.
    #[error("{0}")]
    Rejected(&'static str),
    #[error("the identity provider's keys are not available")]
    KeysUnavailable,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: Option<String>,
    oid: Option<String>,
    name: Option<String>,
    preferred_username: Option<String>,
    upn: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

pub struct TokenVerifier {
    jwks: JwksCache,
    validation: Validation,
    /// Entra tenant whose v1 and v2 issuers are accepted; None for another OIDC provider.
    tenant: Option<String>,
    issuers: Vec<String>,
}

impl TokenVerifier {
    pub fn new(settings: &AuthSettings, discovery_url: String) -> Self {
        Self::with_cache(settings, JwksCache::new(discovery_url))
    }

    pub fn with_cache(settings: &AuthSettings, jwks: JwksCache) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[
            settings.client_id.clone(),
            format!("api://{}", settings.client_id),
        ]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let (tenant, issuers) = if settings.issuer.is_empty() {
            let t = settings.tenant_id.clone();
            (Some(t.clone()), entra_issuers(ENTRA_LOGIN_BASE, &t))
        } else {
            (None, vec![settings.issuer.clone()])
        };
        Self {
            jwks,
            validation,
            tenant,
            issuers,
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let header =
            decode_header(token).map_err(|_| TokenError::Rejected("unreadable token header"))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Rejected("signing algorithm not allowed"));
        }
        let kid = header
            .kid
            .ok_or(TokenError::Rejected("token names no key id"))?;
        let key = match self.jwks.key(&kid).await {
            KeyLookup::Found(k) => k,
            KeyLookup::Unknown => return Err(TokenError::Rejected("unknown key id")),
            KeyLookup::Unavailable => return Err(TokenError::KeysUnavailable),
        };
        let data = decode::<Claims>(token, &key, &self.validation)
            .map_err(|e| TokenError::Rejected(reason(e.kind())))?;
        let claims = data.claims;
        if !self.issuer_accepted(&claims.iss) {
            return Err(TokenError::Rejected("issuer not accepted"));
        }
        let subject = nonempty(claims.oid)
            .or_else(|| nonempty(claims.sub))
            .ok_or(TokenError::Rejected("token has no subject"))?;
        let name = nonempty(claims.name)
            .or_else(|| nonempty(claims.preferred_username))
            .or_else(|| nonempty(claims.upn))
            .unwrap_or_else(|| subject.clone());
        Ok(Caller {
            name,
            subject: Some(subject),
            roles: claims.roles,
            groups: claims.groups,
            ip: None,
        })
    }

    fn issuer_accepted(&self, iss: &str) -> bool {
        if self.issuers.iter().any(|i| i == iss) {
            return true;
        }
        // The discovery document names the issuer with the tenant's GUID even when the tenant
        // was configured by domain name; accept its v1 and v2 forms too.
        let Some(discovered) = self.jwks.discovered_issuer() else {
            return false;
        };
        match &self.tenant {
            Some(tenant) => {
                let discovered = discovered.replace("{tenantid}", tenant);
                if discovered == iss {
                    return true;
                }
                tenant_of_v2_issuer(&discovered).is_some_and(|guid| {
                    entra_issuers(ENTRA_LOGIN_BASE, guid)
                        .iter()
                        .any(|i| i == iss)
                })
            }
            None => {
                discovered == iss
                    && self
                        .issuers
                        .iter()
                        .any(|i| i.trim_end_matches('/') == iss.trim_end_matches('/'))
            }
        }
    }
}

/// The v2.0 and v1.0 issuers of an Entra ID tenant.
pub fn entra_issuers(login_base: &str, tenant: &str) -> Vec<String> {
    vec![
        format!("{login_base}/{tenant}/v2.0"),
        format!("https://sts.windows.net/{tenant}/"),
    ]
}

fn tenant_of_v2_issuer(issuer: &str) -> Option<&str> {
    let rest = issuer.strip_suffix("/v2.0")?;
    let (_, tenant) = rest.rsplit_once('/')?;
    (!tenant.is_empty()).then_some(tenant)
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not yet valid",
        ErrorKind::InvalidAudience => "audience not accepted",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "signing algorithm not allowed",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        ErrorKind::Json(_) | ErrorKind::Utf8(_) | ErrorKind::Base64(_) => "unreadable token",
        _ => "token rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_issuer_forms() {
        assert_eq!(
            entra_issuers(ENTRA_LOGIN_BASE, "abc"),
            vec![
                "https://login.microsoftonline.com/abc/v2.0",
                "https://sts.windows.net/abc/"
            ]
        );
        assert_eq!(
            tenant_of_v2_issuer("https://login.microsoftonline.com/g-u-i-d/v2.0"),
            Some("g-u-i-d")
        );
        assert_eq!(tenant_of_v2_issuer("https://sts.windows.net/g/"), None);
    }
}
