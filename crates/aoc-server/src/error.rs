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

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
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
            AppError::Unavailable(m) => Self::new(StatusCode::SERVICE_UNAVAILABLE, m),
            AppError::Store(err) => {
                // The detail goes to the log, not to the client.
                tracing::error!(error = %err, "store error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable",
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
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
