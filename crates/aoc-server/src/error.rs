//! One error type for every handler: a status and `{"error": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use aoc_app::AppError;

/// The body of every error answer, whichever layer refuses the request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
}

/// Seconds a client is asked to wait (`Retry-After`) when the database is unavailable for now:
/// a restart or a failover takes about that long.
pub const STORE_RETRY_AFTER_SECONDS: u64 = 5;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// `Retry-After` in seconds, for an answer the client may get by asking again later.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 503 the client may retry after `seconds`.
    pub fn unavailable_for(seconds: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::BadRequest(m) => Self::bad_request(m),
            AppError::NotFound(m) => Self::not_found(m),
            AppError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, m),
            AppError::Unavailable(m) => Self::new(StatusCode::SERVICE_UNAVAILABLE, m),
            // The detail goes to the log, not to the client.
            AppError::Store(err) if err.is_transient() => {
                tracing::warn!(error = %err, "the database is unavailable; answered 503");
                Self::unavailable_for(
                    STORE_RETRY_AFTER_SECONDS,
                    "the database is unavailable; try again shortly",
                )
            }
            // Gone, refusing our login, out of disk: no use asking again soon.
            AppError::Store(err) if err.is_unavailable() => {
                tracing::error!(error = %err, "the database is unavailable; answered 503");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable",
                )
            }
            AppError::Store(err) => {
                tracing::error!(error = %err, "store error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error: the database failed (the server log has the detail)",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn a_retryable_answer_says_when_in_the_usual_body() {
        let response = ApiError::unavailable_for(5, "the database is unavailable").into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "5");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "the database is unavailable");

        let plain = ApiError::not_found("no such event").into_response();
        assert!(plain.headers().get("retry-after").is_none());
    }
}
