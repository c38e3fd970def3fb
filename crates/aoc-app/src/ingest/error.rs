//! Why a fetch, or one source of it, failed.

use aoc_m365::M365Error;
use aoc_store::StoreError;

/// A fetch that could not start. Sources that fail once started are reported per source
/// ([`SourceError`]) and never fail the fetch as a whole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("fetching is not configured: set TENANT_ID, CLIENT_ID and CLIENT_SECRET")]
    NotConfigured,
    #[error("Microsoft 365 settings are unusable: {0}")]
    Unusable(String),
    #[error("the fetch task failed: {0}")]
    Task(String),
    /// Stopped because its progress said so ([`super::FetchProgress::cancelled`]).
    #[error("the fetch was cancelled")]
    Cancelled,
}

/// Why one source of a fetch failed; the other sources are unaffected.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read the watermark: {0}")]
    ReadWatermark(StoreError),
    #[error("cannot save the watermark: {0}")]
    SaveWatermark(StoreError),
    #[error("cannot store events: {0}")]
    Store(StoreError),
    #[error("cannot check the Management API subscriptions: {0}")]
    Subscriptions(M365Error),
    #[error(transparent)]
    Remote(#[from] M365Error),
    #[error(
        "{failed} content blob(s) could not be downloaded (first: {first}); the next fetch tries again"
    )]
    Blobs { failed: usize, first: String },
    /// Management API content types that failed, each with its reason.
    #[error("{}", .0.iter().map(|(t, e)| format!("{t}: {e}")).collect::<Vec<_>>().join("; "))]
    ContentTypes(Vec<(String, SourceError)>),
}

// By hand rather than `#[from]`: the message already holds the cause, and a `source` too would
// print it twice in a chain.
impl From<StoreError> for SourceError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}
