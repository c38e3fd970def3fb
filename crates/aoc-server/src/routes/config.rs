use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use aoc_app::AppContext;

/// The answer of `/api/config/features`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeaturesBody {
    /// AI_FEATURES_ENABLED.
    pub ai_features_enabled: bool,
    /// Whether fetching from Microsoft 365 is set up.
    pub fetch_configured: bool,
    /// Whether ask and explain use a language model (else they answer from counts alone);
    /// false while AI_FEATURES_ENABLED is off.
    pub llm_configured: bool,
    /// ALERTS_ENABLED.
    pub alerts_enabled: bool,
}

/// The answer of `/api/config/auth`: what the web UI needs to sign in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthConfigBody {
    pub auth_enabled: bool,
    pub tenant_id: String,
    pub client_id: String,
    pub issuer: String,
    /// The OpenID provider the UI signs in with (its discovery document is at
    /// `{authority}/.well-known/openid-configuration`); empty when sign-in is off.
    pub authority: String,
    /// Scopes the UI asks for.
    pub scopes: Vec<String>,
}

/// Features the web UI may show.
#[utoipa::path(get, path = "/api/config/features", tag = "config", operation_id = "config_features",
    responses((status = 200, body = FeaturesBody)))]
pub async fn features(State(ctx): State<Arc<AppContext>>) -> Json<FeaturesBody> {
    Json(FeaturesBody {
        ai_features_enabled: ctx.settings.ai_features_enabled,
        fetch_configured: ctx.ingest.configured(),
        llm_configured: ctx.settings.ai_features_enabled && ctx.llm_configured(),
        alerts_enabled: ctx.settings.alerts.enabled,
    })
}

/// What the web UI needs to sign in; never needs a token.
#[utoipa::path(get, path = "/api/config/auth", tag = "config", operation_id = "config_auth",
    responses((status = 200, body = AuthConfigBody)))]
pub async fn auth(State(ctx): State<Arc<AppContext>>) -> Json<AuthConfigBody> {
    let a = &ctx.settings.auth;
    let (authority, scopes) = if a.enabled {
        (crate::auth::authority(a), crate::auth::ui_scopes(a))
    } else {
        (String::new(), Vec::new())
    };
    Json(AuthConfigBody {
        auth_enabled: a.enabled,
        tenant_id: a.tenant_id.clone(),
        client_id: a.client_id.clone(),
        issuer: a.issuer.clone(),
        authority,
        scopes,
    })
}
