use aoc_store::StoreError;

/// What a service call can fail with; the server maps each to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The caller's input is wrong (400).
    #[error("{0}")]
    BadRequest(String),
    /// The caller may see it but not change it (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing, or the caller may not see it (404).
    #[error("{0}")]
    NotFound(String),
    /// A required component is not configured or not reachable (503).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type AppResult<T> = Result<T, AppError>;
