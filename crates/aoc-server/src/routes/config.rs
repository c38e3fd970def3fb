use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use aoc_app::AppContext;

pub async fn features(State(ctx): State<Arc<AppContext>>) -> Json<Value> {
    Json(json!({
        "ai_features_enabled": ctx.settings.ai_features_enabled,
        "fetch_configured": ctx.ingest.configured(),
    }))
}

pub async fn auth(State(ctx): State<Arc<AppContext>>) -> Json<Value> {
    let a = &ctx.settings.auth;
    let (authority, scopes) = if a.enabled {
        (crate::auth::authority(a), crate::auth::ui_scopes(a))
    } else {
        (String::new(), Vec::new())
    };
    Json(json!({
        "auth_enabled": a.enabled,
        "tenant_id": a.tenant_id,
        "client_id": a.client_id,
        "issuer": a.issuer,
        "authority": authority,
        "scopes": scopes,
    }))
}
