//! The application layer: configuration, the ingest pipeline and the services that every front
//! door (REST, web UI, MCP, CLI) calls.

pub mod activity;
pub mod caller;
pub mod config;
pub mod error;
pub mod events;
pub mod import;

pub use caller::Caller;
pub use config::Settings;
pub use error::{AppError, AppResult};
pub mod context;
pub mod ingest;

pub use context::AppContext;
pub mod maintenance;
pub mod scheduler;
