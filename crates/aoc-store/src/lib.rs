//! Event storage. One trait, [`EventStore`], with a backend per database: SQLite (the
//! embedded default) and PostgreSQL. Every backend passes the same conformance suite
//! (`tests/conformance.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use aoc_domain::{Comment, Event, EventQuery, FilterOptions, Page};

/// What a batched insert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsertOutcome {
    /// Events stored for the first time.
    pub new: u64,
    /// Events skipped because their dedupe key (or id) was already stored.
    pub duplicates: u64,
}

/// The last fetch of one ingestion source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceHealth {
    pub source: String,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Records fetched by the last attempt.
    pub last_count: u64,
}

/// A cached directory name (directoryObjects/getByIds result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedName {
    pub object_id: String,
    pub display_name: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported DATABASE_URL: {0}")]
    UnsupportedUrl(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;

    /// Cheap connectivity check for /health.
    async fn ping(&self) -> StoreResult<()>;

    /// Insert events, skipping any whose dedupe key or id is already stored (also within the
    /// batch). Atomic per call.
    async fn insert_batch(&self, events: &[Event]) -> StoreResult<InsertOutcome>;

    /// Replace the normalized fields of stored events (matched by id) after renormalization,
    /// keeping their tags and comments. Returns how many rows changed.
    async fn update_events(&self, events: &[Event]) -> StoreResult<u64>;

    async fn get(&self, id: &str) -> StoreResult<Option<Event>>;

    /// Newest first, keyset-paginated on (timestamp, id). Honours `hidden_services` /
    /// `hidden_operations`.
    async fn search(&self, query: &EventQuery) -> StoreResult<Page>;

    /// Distinct services, operations, results and actors (sorted; honours the hidden lists of
    /// `query`; other fields of `query` are ignored). At most `limit` values per list.
    async fn filter_options(&self, query: &EventQuery, limit: u32) -> StoreResult<FilterOptions>;

    /// Replace an event's tags. None when the id is unknown.
    async fn set_tags(&self, id: &str, tags: &[String]) -> StoreResult<Option<Event>>;

    /// Append a comment. None when the id is unknown.
    async fn add_comment(&self, id: &str, comment: &Comment) -> StoreResult<Option<Event>>;

    /// All events in (timestamp, id) ascending order after `after` (exclusive), at most `limit`:
    /// for maintenance scans.
    async fn scan(&self, after: Option<&(DateTime<Utc>, String)>, limit: u32) -> StoreResult<Vec<Event>>;

    /// Number of stored events.
    async fn count(&self) -> StoreResult<u64>;

    /// Number of events matching the query's filters (cursor and page size ignored).
    async fn count_matching(&self, query: &EventQuery) -> StoreResult<u64>;

    /// Counts of matching events per time bucket of `bucket_seconds` (aligned to the Unix
    /// epoch), ascending, empty buckets omitted. Cursor and page size ignored.
    async fn histogram(&self, query: &EventQuery, bucket_seconds: i64) -> StoreResult<Vec<(DateTime<Utc>, u64)>>;

    /// Delete events by id (maintenance dedupe). Returns how many were deleted.
    async fn delete_ids(&self, ids: &[String]) -> StoreResult<u64>;

    /// Delete events older than `cutoff` (RETENTION_DAYS). Returns how many were deleted.
    async fn delete_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;

    async fn get_watermark(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>>;
    async fn set_watermark(&self, source: &str, at: DateTime<Utc>) -> StoreResult<()>;

    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>>;
    async fn put_source_health(&self, health: &SourceHealth) -> StoreResult<()>;

    /// Unexpired cached names for these object ids.
    async fn cached_names(&self, ids: &[String], now: DateTime<Utc>) -> StoreResult<Vec<CachedName>>;
    async fn put_cached_names(&self, names: &[CachedName]) -> StoreResult<()>;
}

/// Open the store a `DATABASE_URL` names: `sqlite://path` / `sqlite:path` / a plain file path
/// (embedded), or `postgres://` / `postgresql://`. Applies migrations.
pub async fn open(database_url: &str) -> StoreResult<std::sync::Arc<dyn EventStore>> {
    todo!("implemented by the store backends: {database_url}")
}
