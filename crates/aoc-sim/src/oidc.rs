//! The simulated tenant as an OpenID Connect provider, for demos and tests of sign-in.
//!
//! **For demos only.** The demo users need no password (the sign-in page lets anyone pick one),
//! redirect URIs are not registered anywhere (any http(s) URI is accepted, and must only match
//! between the authorize request and the code redemption), and the RSA signing key is generated
//! in memory when first needed and lost when the simulator stops. Never point a real
//! deployment's AUTH_* settings at a simulator that anyone else can reach.
//!
//! What it implements (the Microsoft identity platform v2.0 shapes):
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration`
//! - `GET /{tenant}/discovery/v2.0/keys` (JWKS, one RS256 key)
//! - `GET|POST /{tenant}/oauth2/v2.0/authorize`: authorization-code flow, PKCE with S256
//!   required, `response_mode=query`; a page to pick a demo user
//! - `POST /{tenant}/oauth2/v2.0/token` with `grant_type=authorization_code` (the
//!   client-credentials grant is unchanged)
//! - `GET /{tenant}/oauth2/v2.0/logout`: redirects to `post_logout_redirect_uri`

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Application (client) id of the demo "AOC" app registration: the SPA signs in with it and
/// access tokens for the API carry it as `aud` (one registration for UI and API, as is common
/// for a single-page app with its own API).
pub const DEMO_APP_CLIENT_ID: &str = "00000000-0000-0000-0000-0000000000a0";
/// The delegated scope the demo app exposes (`api://{DEMO_APP_CLIENT_ID}/access_as_user`).
pub const DEMO_API_SCOPE: &str = "access_as_user";
/// App role: may use AOC.
pub const ROLE_READER: &str = "AOC.Reader";
/// App role: may use AOC (administrators).
pub const ROLE_ADMIN: &str = "AOC.Admin";
/// App role: may see events hidden by privacy gating (PRIVACY_SERVICE_ROLES).
pub const ROLE_PRIVACY: &str = "AOC.PrivacyViewer";

/// A user who can sign in to the simulated tenant.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    /// Short key used on the sign-in page and in tests.
    pub key: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    /// Object id (the `oid` claim).
    pub oid: &'static str,
    pub roles: &'static [&'static str],
    /// What this user is meant to show in a demo.
    pub about: &'static str,
}

impl DemoUser {
    /// The roles as people read them ("no roles" when there are none).
    pub fn roles_label(&self) -> String {
        if self.roles.is_empty() {
            "no roles".to_string()
        } else {
            self.roles.join(", ")
        }
    }
}

pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        key: "admin",
        name: "Adele Vance",
        username: "adele.vance@contoso.com",
        oid: "5c1e8a52-0a6b-4d4c-9d7e-0000000000a1",
        roles: &[ROLE_ADMIN, ROLE_PRIVACY],
        about: "administrator: sees every event, including privacy-gated ones",
    },
    DemoUser {
        key: "reader",
        name: "Megan Bowen",
        username: "megan.bowen@contoso.com",
        oid: "5c1e8a52-0a6b-4d4c-9d7e-0000000000a2",
        roles: &[ROLE_READER],
        about: "reader: sees events, but not the privacy-gated ones",
    },
    DemoUser {
        key: "nobody",
        name: "Lee Gu",
        username: "lee.gu@contoso.com",
        oid: "5c1e8a52-0a6b-4d4c-9d7e-0000000000a3",
        roles: &[],
        about: "no AOC role: signs in, then is refused (403)",
    },
];

pub fn demo_user(key: &str) -> Option<&'static DemoUser> {
    DEMO_USERS.iter().find(|u| u.key == key)
}

/// The v2.0 issuer of `tenant_id` at `base_url` (what the simulator puts in `iss`).
pub fn issuer(base_url: &str, tenant_id: &str) -> String {
    format!("{}/{tenant_id}/v2.0", base_url.trim_end_matches('/'))
}

/// The RS256 signing key. Generated, not shipped: a key in the source would be a key anyone
/// can sign with. aws-lc-rs is already in the build (the TLS and JWT crypto backend) and
/// generates a 2048-bit key in well under a second; the pure-Rust `rsa` crate would add a
/// second RSA implementation with a known timing side channel (RUSTSEC-2023-0071).
pub(crate) struct Signer {
    key: KeyPair,
    kid: String,
    jwk: Value,
}

impl Signer {
    fn generate() -> Option<Signer> {
        let key = KeyPair::generate(KeySize::Rsa2048).ok()?;
        let public = PublicKeyComponents::<Vec<u8>>::from(key.public_key());
        let n = URL_SAFE_NO_PAD.encode(&public.n);
        let e = URL_SAFE_NO_PAD.encode(&public.e);
        // A thumbprint-like id, so a restarted simulator's tokens are told apart by `kid`.
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(&public.n)[..12]);
        let jwk = json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e });
        Some(Signer { key, kid, jwk })
    }

    pub(crate) fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// A compact JWS (RS256) of `claims`.
    pub(crate) fn sign(&self, claims: &Value) -> Option<String> {
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": self.kid });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .ok()?;
        Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

/// The process's signing key, made on first use (keeps simulator start-up instant for the many
/// tests that never sign anyone in). None only if key generation failed.
pub(crate) fn signer() -> Option<&'static Signer> {
    static SIGNER: OnceLock<Option<Signer>> = OnceLock::new();
    SIGNER.get_or_init(Signer::generate).as_ref()
}

/// `BASE64URL(SHA256(verifier))`, the S256 code challenge of a PKCE verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn signs_verifiable_tokens() {
        let s = signer().unwrap();
        let token = s.sign(&json!({ "a": 1 })).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let n = URL_SAFE_NO_PAD
            .decode(s.jwk()["n"].as_str().unwrap())
            .unwrap();
        let e = URL_SAFE_NO_PAD
            .decode(s.jwk()["e"].as_str().unwrap())
            .unwrap();
        let public = PublicKeyComponents { n, e };
        public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(sig).unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn demo_users_are_distinct() {
        assert!(demo_user("admin").unwrap().roles.contains(&ROLE_PRIVACY));
        assert!(demo_user("nobody").unwrap().roles.is_empty());
        assert!(demo_user("root").is_none());
    }
}
