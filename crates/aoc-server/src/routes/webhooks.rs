//! Microsoft Graph change notifications. Audit logs cannot be subscribed to, so notifications on
//! users and groups only make the next incremental fetch start sooner.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;

use aoc_app::{AppContext, Caller};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;

/// In characters, as the document states it.
const MAX_VALIDATION_TOKEN: usize = 4096;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookQuery {
    /// Sent by Graph when a subscription is created: echoed back as text/plain.
    #[serde(rename = "validationToken")]
    #[param(max_length = 4096)]
    validation_token: Option<String>,
}

/// A batch of Graph change or lifecycle notifications.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NotificationBatch {
    value: Vec<Notification>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Notification {
    client_state: Option<String>,
    lifecycle_event: Option<String>,
    subscription_id: Option<String>,
    change_type: Option<String>,
}

/// Microsoft Graph change notifications: they make the next fetch start now. With
/// WEBHOOK_CLIENT_SECRET set, each notification's `clientState` must match it (and no token
/// is needed).
#[utoipa::path(post, path = "/api/webhooks/graph", tag = "ingest", operation_id = "graph_webhook",
    params(WebhookQuery),
    request_body(content = NotificationBatch, description = "Ignored when `validationToken` is set"),
    responses(
        (status = 200, description = "The validation token, echoed", body = String, content_type = "text/plain"),
        (status = 202, description = "Accepted; a fetch starts in the background"),
        (status = 400, description = "A malformed notification batch or an over-long token", body = ErrorBody),
        (status = 403, description = "A `clientState` does not match WEBHOOK_CLIENT_SECRET", body = ErrorBody),
        (status = 413, description = "The body is over 256 KiB", body = ErrorBody),
    ))]
pub async fn graph(
    State(ctx): State<Arc<AppContext>>,
    ApiQuery(query): ApiQuery<WebhookQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    // Subscription validation: Graph waits 10 s for the token back as text/plain.
    if let Some(token) = query.validation_token {
        if token.chars().count() > MAX_VALIDATION_TOKEN {
            return Err(ApiError::bad_request("validationToken is too long"));
        }
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token,
        )
            .into_response());
    }

    let batch: NotificationBatch = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("malformed notification body: {e}")))?;
    if let Some(secret) = &ctx.settings.webhook_client_secret {
        let expected = secret.expose_secret();
        let all_match = batch.value.iter().all(|n| {
            n.client_state
                .as_deref()
                .is_some_and(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()))
        });
        if !all_match {
            tracing::warn!("webhook notification rejected: clientState mismatch");
            return Err(ApiError::new(StatusCode::FORBIDDEN, "invalid clientState"));
        }
    }

    for n in &batch.value {
        match n.lifecycle_event.as_deref() {
            Some("reauthorizationRequired") => tracing::warn!(
                subscription = n.subscription_id.as_deref().unwrap_or(""),
                "Graph subscription needs reauthorization: renew it, or notifications stop"
            ),
            Some("subscriptionRemoved") => tracing::warn!(
                subscription = n.subscription_id.as_deref().unwrap_or(""),
                "Graph removed the subscription: recreate it to keep fast triggers"
            ),
            Some("missed") => {
                tracing::info!("Graph reports missed notifications: fetching to catch up")
            }
            Some(other) => tracing::info!(event = other, "Graph lifecycle notification"),
            None => tracing::debug!(
                change = n.change_type.as_deref().unwrap_or(""),
                "Graph change notification"
            ),
        }
    }
    // Graph waits only 3 s: answer now, fetch in the background.
    if !batch.value.is_empty() {
        ctx.ingest.trigger(Caller::system("webhook"));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
