//! The application layer: configuration, the ingest pipeline and the services that every front
//! door (REST, web UI, MCP, CLI) calls.

pub mod activity;
pub mod alerting;
pub mod ask;
pub mod caller;
pub mod config;
pub mod consumer;
pub mod egress;
pub mod error;
pub mod events;
pub mod export;
pub mod import;
pub mod jobs;
pub mod keyvault;
pub mod llm;
pub mod notify;
pub mod privacy;
pub mod siem;

/// Types the services return, so front doors need not depend on the store.
pub use aoc_store::{Activity, SourceHealth};
pub use caller::Caller;
pub use config::Settings;
pub use error::{AppError, AppResult};
pub use privacy::Privacy;
pub mod context;
pub mod ingest;

pub use context::AppContext;
pub mod maintenance;
pub mod scheduler;
