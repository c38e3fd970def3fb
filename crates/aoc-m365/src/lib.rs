//! Microsoft 365 clients for AOC: client-credentials tokens cached per scope, Microsoft Graph
//! audit logs (Entra directory audits, Intune audit events, directory object names) and the
//! Office 365 Management Activity API (subscriptions, content listing, content blobs), with
//! retries, throttling and national-cloud base URLs.
//!
//! Records come back as raw [`serde_json::Value`]s, exactly as Microsoft sent them: this crate
//! knows nothing of storage or normalization.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aoc_m365::M365Error> {
//! use aoc_m365::{M365Client, M365Config};
//! use secrecy::SecretString;
//!
//! let config = M365Config::new("tenant-guid", "client-guid", SecretString::from("secret"));
//! let client = M365Client::new(config)?;
//! let to = chrono::Utc::now();
//! let from = to - chrono::TimeDelta::hours(1);
//! client
//!     .directory_audits(from, to, |page| async move {
//!         println!("{} records", page.records.len());
//!         Ok::<(), std::io::Error>(())
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

mod client;
mod config;
mod error;
mod graph;
mod http;
mod management;
pub mod retry;
mod token;
pub mod windows;

pub use client::M365Client;
pub use config::{Cloud, DEFAULT_CONTENT_TYPES, M365Config};
pub use error::{BoxError, M365Error, Service};
pub use graph::{
    GET_BY_IDS_BATCH, GET_BY_IDS_TYPES, GRAPH_AUDIT_PAGE_SIZE, GraphAuditSource, GraphPage,
    PagingSummary,
};
pub use management::{
    AF_ALREADY_ENABLED, AF_CONTENT_EXPIRED, AF_CONTENT_MISSING, AF_NO_SUBSCRIPTION,
    AF_SUBSCRIPTION_DISABLED, BlobContent, BlobFetchReport, ContentBlob, ContentListing,
    FailedBlob, SkipReason, SkippedBlob, Subscription, SubscriptionReport,
};
pub use windows::{ContentWindow, WindowPlan, plan_content_windows};
