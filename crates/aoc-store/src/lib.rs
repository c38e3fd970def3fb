//! Event storage. One trait, [`EventStore`], with a backend per database: SQLite (the
//! embedded default) and PostgreSQL. Every backend passes the same conformance suite
//! (`tests/conformance.rs`).
//!
//! Search semantics, identical on both backends:
//! - `service`, `actor` (the actor display) and `operation` match exactly; `result` matches
//!   the stored outcome vocabulary (`success`, `failure`, `partial`, `unknown`), the filter
//!   read through `aoc_domain::outcome_filter` (any case, or a source's spelling such as
//!   `False`); `start` and `end` are inclusive;
//! - free text (trimmed) matches an event when, lowercased, it is a substring of the actor
//!   display, a target display, the operation or the display summary; or when its words
//!   appear consecutively among the words of the raw record's string and number values. A
//!   word is a run of letters, digits and the joiners `-` `.` `@` `_`, trimmed of joiners at
//!   both ends and lowercased, so a GUID, an IP address, a UPN or a host name is one word
//!   and matches whole (`fabrikam.example` does not match inside `ann@fabrikam.example`
//!   through the raw record, only through the short fields). Any text is safe to pass:
//!   nothing in it is interpreted as query syntax;
//! - hidden services and operations are excluded from search, counts, histograms and filter
//!   options (not from `get`: callers gate that). A hidden name matches ignoring ASCII case
//!   (`exchange` hides `Exchange`, `set-mailbox` hides `Set-Mailbox`); other characters
//!   compare as stored (`émile` does not hide `Émile`), the rule `aoc_domain::Visibility`
//!   applies to single events;
//! - results are newest first by (timestamp, id), ids compared bytewise; timestamps are
//!   stored with microsecond precision.
//!
//! Storage: SQLite keeps filter/sort columns in `events` and the bulky JSON (one deflate blob) in
//! `event_bodies`, with an FTS5 trigram index (substring candidates, confirmed with `instr`)
//! and an FTS5 word index over the raw words; PostgreSQL keeps one `events` table with JSONB,
//! a `pg_trgm` GIN index and a `tsvector` GIN index. Both compute the searchable text in Rust
//! (see `text.rs`), so they agree on what matches.

pub mod activity;
pub mod alerting;
mod codec;
pub mod connect;
mod in_flight;
pub mod jobs;
mod migrations;
pub mod postgres;
mod readiness;
pub mod recent;
pub mod retry;
mod rows;
pub mod sequence;
pub mod slow;
mod sql;
pub mod sqlite;
mod summary;
mod text;

pub use activity::{Activity, NewActivity};
pub use alerting::{
    Alert, AlertCount, AlertQuery, GroupSpan, NewAlert, NewOutboxItem, OutboxItem, OutboxStatus,
    RuleMatch, SavedSearch, StoredRule,
};
pub use in_flight::{DEFAULT_DEPTH as DEFAULT_INSERTS_IN_FLIGHT, InFlight};
pub use jobs::{Job, JobEnd, JobQuery, JobState, NewJob};
pub use postgres::PgStore;
pub use recent::RecentEvents;
pub use sequence::{SequenceBatch, SequencePosition};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use aoc_domain::{Comment, Cursor, Event, EventQuery, FilterOptions, Page, SummaryPage};

/// What a batched insert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsertOutcome {
    /// Events stored for the first time.
    pub new: u64,
    /// Events skipped because their dedupe key (or id) was already stored.
    pub duplicates: u64,
}

/// The last fetch of one ingestion source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    // The cause is in the message, so it is not also a `source` (printed twice otherwise).
    #[error("database error: {}", retry::describe(.0))]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    /// The store could not be opened; the message names DATABASE_URL and the likely fix.
    #[error("{0}")]
    Connect(connect::ConnectError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported DATABASE_URL: {0}")]
    UnsupportedUrl(String),
    #[error("this store does not support {0}")]
    Unsupported(&'static str),
    /// A background insert ([`InFlight`]) panicked or was cancelled.
    #[error("an insert task ended abnormally: {0}")]
    Task(String),
    /// A [`SequencePosition`] this backend did not issue.
    #[error("not a sequence position of this store: {0}")]
    InvalidPosition(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Migrate(e)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;

    /// Cheap connectivity check for /health.
    async fn ping(&self) -> StoreResult<()>;

    /// Migrations this build carries that the database has not applied: zero when the schema
    /// is current (`/ready`). Stores without migrations have none.
    async fn pending_migrations(&self) -> StoreResult<u64> {
        Ok(0)
    }

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

    /// [`search`](Self::search) as list rows: the same events, order and cursors, without the
    /// source's own objects (`actor`, `targets`, `raw`). Backends read no stored body for it;
    /// this default (for stores without a cheaper way) reads whole events and drops them.
    async fn search_summaries(&self, query: &EventQuery) -> StoreResult<SummaryPage> {
        Ok(self.search(query).await?.into())
    }

    /// Distinct services, operations, results (only the outcome vocabulary) and actors
    /// (sorted; honours the hidden lists of `query`; other fields of `query` are ignored). At
    /// most `limit` values per list.
    async fn filter_options(&self, query: &EventQuery, limit: u32) -> StoreResult<FilterOptions>;

    /// Replace an event's tags. None when the id is unknown.
    async fn set_tags(&self, id: &str, tags: &[String]) -> StoreResult<Option<Event>>;

    /// Append a comment. None when the id is unknown.
    async fn add_comment(&self, id: &str, comment: &Comment) -> StoreResult<Option<Event>>;

    /// All events in (timestamp, id) ascending order after `after` (exclusive), at most `limit`:
    /// for maintenance scans.
    async fn scan(
        &self,
        after: Option<&(DateTime<Utc>, String)>,
        limit: u32,
    ) -> StoreResult<Vec<Event>>;

    /// Number of stored events.
    async fn count(&self) -> StoreResult<u64>;

    /// Number of events matching the query's filters (cursor and page size ignored).
    async fn count_matching(&self, query: &EventQuery) -> StoreResult<u64>;

    /// Counts of matching events per time bucket of `bucket_seconds` (aligned to the Unix
    /// epoch), ascending, empty buckets omitted. Cursor and page size ignored.
    async fn histogram(
        &self,
        query: &EventQuery,
        bucket_seconds: i64,
    ) -> StoreResult<Vec<(DateTime<Utc>, u64)>>;

    /// Delete events by id (maintenance dedupe). Returns how many were deleted.
    async fn delete_ids(&self, ids: &[String]) -> StoreResult<u64>;

    /// Delete events older than `cutoff` (RETENTION_DAYS). Returns how many were deleted.
    async fn delete_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;

    async fn get_watermark(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>>;
    async fn set_watermark(&self, source: &str, at: DateTime<Utc>) -> StoreResult<()>;

    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>>;
    async fn put_source_health(&self, health: &SourceHealth) -> StoreResult<()>;

    /// Unexpired cached names for these object ids.
    async fn cached_names(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CachedName>>;
    async fn put_cached_names(&self, names: &[CachedName]) -> StoreResult<()>;

    /// Every cached entry for these ids, expired or not: the last name known for an object
    /// that Graph no longer names (deleted) or that is due to be asked about again.
    async fn all_cached_names(&self, ids: &[String]) -> StoreResult<Vec<CachedName>> {
        // Every entry was written with an expiry after the epoch.
        self.cached_names(ids, DateTime::<Utc>::UNIX_EPOCH).await
    }

    /// Maintenance: compact search indexes and refresh planner statistics (SQLite merges its
    /// full-text segments and runs `PRAGMA optimize`; PostgreSQL runs `ANALYZE`). Slow on big
    /// stores; run it after a large import or from the maintenance command, not per request.
    async fn optimize(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Append to the activity log; returns the id the store gave the entry (greater than every
    /// earlier one). The default refuses, for test doubles that do not keep a log.
    async fn append_activity(&self, _entry: &NewActivity) -> StoreResult<i64> {
        Err(StoreError::Unsupported("the activity log"))
    }

    /// The activity log newest first: entries with an id below `before` (all when None), at
    /// most `limit`.
    async fn list_activity(&self, _before: Option<i64>, _limit: u32) -> StoreResult<Vec<Activity>> {
        Err(StoreError::Unsupported("the activity log"))
    }

    /// Events this process stored recently, kept for its consumers of the event sequence
    /// (`recent.rs`): callers of `insert_batch` hand the events over once stored, and
    /// `events_after` serves from them what it can. None where a backend keeps none.
    fn recent_events(&self) -> Option<&RecentEvents> {
        None
    }

    /// Stored events after `after` (from the first when None) in sequence order, at most
    /// `limit`: what a consumer reads next. Events stored later always come after the returned
    /// `next`, whatever transactions are still in flight, so a consumer that reads on from
    /// `next` sees every event once. An event enters the sequence when first stored:
    /// `update_events` does not move it, a re-delivered duplicate is not stored.
    async fn events_after(
        &self,
        _after: Option<&SequencePosition>,
        _limit: u32,
    ) -> StoreResult<SequenceBatch> {
        Err(StoreError::Unsupported("the event sequence"))
    }

    /// How many stored events lie after `after` (all when None), counting at most `cap`: a
    /// consumer's lag, cheap to ask however far behind it is.
    async fn events_behind(
        &self,
        _after: Option<&SequencePosition>,
        _cap: u64,
    ) -> StoreResult<u64> {
        Err(StoreError::Unsupported("the event sequence"))
    }

    /// The durable cursor of the consumer named `consumer`; None before its first save.
    async fn get_consumer_cursor(&self, _consumer: &str) -> StoreResult<Option<SequencePosition>> {
        Err(StoreError::Unsupported("consumer cursors"))
    }

    /// Move the consumer's cursor to `position`, only forward: a position at or before the
    /// stored one leaves it as it is (another replica running the same consumer got further),
    /// atomically. Returns whether the cursor moved.
    async fn set_consumer_cursor(
        &self,
        _consumer: &str,
        _position: &SequencePosition,
    ) -> StoreResult<bool> {
        Err(StoreError::Unsupported("consumer cursors"))
    }

    // --- Alerting (see `alerting`). Backends override all of these.

    /// Every stored rule, by id.
    async fn list_rules(&self) -> StoreResult<Vec<StoredRule>> {
        Err(StoreError::Unsupported("rules"))
    }
    async fn get_rule(&self, _id: &str) -> StoreResult<Option<StoredRule>> {
        Err(StoreError::Unsupported("rules"))
    }
    /// Insert or replace the rule with this id (`created_at` kept on replace); returns it as
    /// stored.
    async fn put_rule(
        &self,
        _id: &str,
        _definition: &serde_json::Value,
    ) -> StoreResult<StoredRule> {
        Err(StoreError::Unsupported("rules"))
    }
    /// Insert the rule only when no rule has this id (built-in rules, seeded at start-up
    /// without overwriting what a user changed). Returns whether it was inserted.
    async fn insert_rule_if_absent(
        &self,
        _id: &str,
        _definition: &serde_json::Value,
    ) -> StoreResult<bool> {
        Err(StoreError::Unsupported("rules"))
    }
    /// Returns whether a rule was deleted.
    async fn delete_rule(&self, _id: &str) -> StoreResult<bool> {
        Err(StoreError::Unsupported("rules"))
    }

    /// Record matches of threshold rules; a (rule, event) already recorded is ignored.
    async fn record_rule_matches(&self, _matches: &[RuleMatch]) -> StoreResult<()> {
        Err(StoreError::Unsupported("rule matches"))
    }
    /// The events rule `rule_id` matched for `group_key` with `from <= occurred_at <= to`, as
    /// (event id, when), oldest first, at most `limit`; and how many there are in all.
    async fn rule_matches_in(
        &self,
        _rule_id: &str,
        _group_key: &str,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
        _limit: u32,
    ) -> StoreResult<(u64, Vec<(String, DateTime<Utc>)>)> {
        Err(StoreError::Unsupported("rule matches"))
    }
    /// For each span, in order, how many matches of rule `rule_id` its group has with
    /// `from <= occurred_at <= to`: one round trip for every group a batch touched, where most
    /// hold too few matches for a closer look.
    async fn rule_match_counts(
        &self,
        _rule_id: &str,
        _spans: &[GroupSpan],
    ) -> StoreResult<Vec<u64>> {
        Err(StoreError::Unsupported("rule matches"))
    }
    /// Forget matches that happened before `cutoff`; returns how many.
    async fn prune_rule_matches(&self, _cutoff: DateTime<Utc>) -> StoreResult<u64> {
        Err(StoreError::Unsupported("rule matches"))
    }

    /// Raise an alert unless one with its `dedupe_key` exists. Returns the stored alert (the
    /// existing one when it was there) and whether this call created it.
    async fn raise_alert(&self, _alert: &NewAlert) -> StoreResult<(Alert, bool)> {
        Err(StoreError::Unsupported("alerts"))
    }

    /// [`EventStore::raise_alert`] for each of `alerts`, in the order given; backends do it in
    /// one transaction (one commit per consumer batch, not per alert).
    async fn raise_alerts(&self, alerts: &[NewAlert]) -> StoreResult<Vec<(Alert, bool)>> {
        let mut raised = Vec::with_capacity(alerts.len());
        for alert in alerts {
            raised.push(self.raise_alert(alert).await?);
        }
        Ok(raised)
    }

    /// Replace the tags of each (event id, tags), without reading the events back; backends do
    /// it in one transaction. Ids not stored are skipped. Returns how many events changed.
    async fn set_tags_many(&self, tags: &[(String, Vec<String>)]) -> StoreResult<u64> {
        let mut changed = 0;
        for (id, tags) in tags {
            if self.set_tags(id, tags).await?.is_some() {
                changed += 1;
            }
        }
        Ok(changed)
    }
    /// One rule-evaluation batch's writes: threshold matches recorded (as
    /// [`Self::record_rule_matches`]), alerts raised (as [`Self::raise_alerts`], answered in
    /// order) and tags set (as [`Self::set_tags_many`]). Backends do it in one transaction:
    /// beside a bulk load every write waits for the writer behind the load's batches, so one
    /// wait per evaluated batch instead of three is what lets the evaluator keep up.
    async fn write_evaluation(
        &self,
        matches: &[RuleMatch],
        alerts: &[NewAlert],
        tags: &[(String, Vec<String>)],
    ) -> StoreResult<Vec<(Alert, bool)>> {
        self.record_rule_matches(matches).await?;
        let raised = self.raise_alerts(alerts).await?;
        self.set_tags_many(tags).await?;
        Ok(raised)
    }
    async fn get_alert(&self, _id: i64) -> StoreResult<Option<Alert>> {
        Err(StoreError::Unsupported("alerts"))
    }
    /// Alerts newest first (see [`AlertQuery`]).
    async fn list_alerts(&self, _query: &AlertQuery) -> StoreResult<Vec<Alert>> {
        Err(StoreError::Unsupported("alerts"))
    }
    /// Set an alert's status (open, acknowledged, resolved) with who and an optional note;
    /// None when there is no such alert.
    async fn update_alert(
        &self,
        _id: i64,
        _status: &str,
        _by: &str,
        _note: Option<&str>,
    ) -> StoreResult<Option<Alert>> {
        Err(StoreError::Unsupported("alerts"))
    }
    async fn alert_counts(&self) -> StoreResult<Vec<AlertCount>> {
        Err(StoreError::Unsupported("alerts"))
    }

    /// Saved searches `owner` may see: their own and the shared ones, by name.
    async fn list_saved_searches(&self, _owner: &str) -> StoreResult<Vec<SavedSearch>> {
        Err(StoreError::Unsupported("saved searches"))
    }
    async fn get_saved_search(&self, _id: &str) -> StoreResult<Option<SavedSearch>> {
        Err(StoreError::Unsupported("saved searches"))
    }
    /// Insert or replace by id (`created_at` kept on replace).
    async fn put_saved_search(&self, _search: &SavedSearch) -> StoreResult<SavedSearch> {
        Err(StoreError::Unsupported("saved searches"))
    }
    async fn delete_saved_search(&self, _id: &str) -> StoreResult<bool> {
        Err(StoreError::Unsupported("saved searches"))
    }

    /// Queue messages; an item whose `dedupe_key` is queued already (delivered or not) is
    /// ignored. Returns how many were new.
    async fn enqueue_outbox(&self, _items: &[NewOutboxItem]) -> StoreResult<u64> {
        Err(StoreError::Unsupported("the outbox"))
    }
    /// Undelivered items due at `now` (next_attempt_at <= now), oldest first, at most `limit`.
    async fn due_outbox(&self, _now: DateTime<Utc>, _limit: u32) -> StoreResult<Vec<OutboxItem>> {
        Err(StoreError::Unsupported("the outbox"))
    }
    async fn outbox_delivered(&self, _id: i64, _at: DateTime<Utc>) -> StoreResult<()> {
        Err(StoreError::Unsupported("the outbox"))
    }
    /// A failed attempt: attempts + 1, the error kept, tried again at `retry_at`.
    async fn outbox_failed(
        &self,
        _id: i64,
        _error: &str,
        _retry_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        Err(StoreError::Unsupported("the outbox"))
    }
    async fn outbox_status(&self) -> StoreResult<Vec<OutboxStatus>> {
        Err(StoreError::Unsupported("the outbox"))
    }

    // --- Jobs (see `jobs`). Backends override all of these.

    /// Queue a job; returns it as stored (state `queued`).
    async fn create_job(&self, _job: &NewJob) -> StoreResult<Job> {
        Err(StoreError::Unsupported("jobs"))
    }
    /// Move the oldest queued job to `running` for `worker` and return it; None when nothing
    /// is queued. Atomic: however many workers call at once, each job is claimed by one.
    async fn claim_job(&self, _worker: &str) -> StoreResult<Option<Job>> {
        Err(StoreError::Unsupported("jobs"))
    }
    /// A running job's progress, and proof its worker is alive (the heartbeat). Returns
    /// whether a cancel was asked for (false too when the job is no longer running).
    async fn job_heartbeat(&self, _id: i64, _done: u64, _total: Option<u64>) -> StoreResult<bool> {
        Err(StoreError::Unsupported("jobs"))
    }
    /// End a running job. Returns false, changing nothing, when it is not running (it was
    /// swept to `interrupted` meanwhile).
    async fn finish_job(&self, _id: i64, _end: &JobEnd) -> StoreResult<bool> {
        Err(StoreError::Unsupported("jobs"))
    }
    /// Cancel: a queued job becomes `cancelled` at once, a running one is flagged for its
    /// worker, a finished one is left as it is. Returns the job after the change; None when
    /// there is no such job.
    async fn cancel_job(&self, _id: i64) -> StoreResult<Option<Job>> {
        Err(StoreError::Unsupported("jobs"))
    }
    async fn get_job(&self, _id: i64) -> StoreResult<Option<Job>> {
        Err(StoreError::Unsupported("jobs"))
    }
    /// Jobs newest first (see [`JobQuery`]).
    async fn list_jobs(&self, _query: &JobQuery) -> StoreResult<Vec<Job>> {
        Err(StoreError::Unsupported("jobs"))
    }
    /// Running jobs whose last heartbeat is before `stale_before` (or that never beat and
    /// started before it): their worker is gone. They become `interrupted` (`cancelled` when a
    /// cancel was asked for), finished now. Returns how many.
    async fn interrupt_stale_jobs(&self, _stale_before: DateTime<Utc>) -> StoreResult<u64> {
        Err(StoreError::Unsupported("jobs"))
    }
}

/// Open the store a `DATABASE_URL` names: `sqlite://path` / `sqlite:path` / a plain file path
/// (embedded; the file and its directory are created if missing), or `postgres://` /
/// `postgresql://`. Applies migrations. In-memory SQLite is refused: every pooled connection
/// would see its own empty database.
///
/// A PostgreSQL that is not up yet is waited for ([`connect::DEFAULT_STARTUP_TIMEOUT`]; see
/// [`connect::open_with`]); failures are [`StoreError::Connect`], one line naming the cause.
pub async fn open(database_url: &str) -> StoreResult<std::sync::Arc<dyn EventStore>> {
    connect::open_with(database_url, &connect::OpenOptions::default()).await
}

/// Which backend a `DATABASE_URL` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(std::path::PathBuf),
    Postgres,
}

/// Classify a `DATABASE_URL` without connecting (for configuration checks).
pub fn parse_url(database_url: &str) -> StoreResult<DatabaseUrl> {
    let url = database_url.trim();
    let unsupported = || StoreError::UnsupportedUrl(redact(url));
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(DatabaseUrl::Postgres);
    }
    let is_sqlite = url.starts_with("sqlite:");
    if !is_sqlite && has_scheme(url) {
        return Err(unsupported());
    }
    sqlite::path_from_url(url)
        .map(DatabaseUrl::Sqlite)
        .ok_or_else(unsupported)
}

/// `scheme:` at the start (two or more letters, so a Windows drive letter is still a path).
fn has_scheme(url: &str) -> bool {
    match url.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() >= 2
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        }
        None => false,
    }
}

/// The URL without anything after the scheme that could hold credentials.
fn redact(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, _)) if has_scheme(url) => format!("{scheme}:..."),
        _ => "(not a URL)".to_string(),
    }
}

/// Turn `page_size + 1` fetched rows into a page: the extra row only says that more exist.
pub(crate) fn into_page(items: Vec<Event>, page_size: u32) -> Page {
    let (items, next_cursor) = page_of(items, page_size);
    Page { items, next_cursor }
}

pub(crate) fn into_summary_page(
    items: Vec<aoc_domain::EventSummary>,
    page_size: u32,
) -> SummaryPage {
    let (items, next_cursor) = page_of(items, page_size);
    SummaryPage { items, next_cursor }
}

/// `page_size + 1` rows read: keep a page, and a cursor when there were more.
fn page_of<T: summary::PageKey>(mut items: Vec<T>, page_size: u32) -> (Vec<T>, Option<String>) {
    let size = usize::try_from(page_size).unwrap_or(usize::MAX);
    let next_cursor = if items.len() > size {
        items.truncate(size);
        items.last().map(|last| {
            let (at, id) = last.key();
            Cursor::new(at, id.to_string()).encode()
        })
    } else {
        None
    };
    (items, next_cursor)
}

/// Histogram rows of (bucket start in microseconds, count).
pub(crate) fn histogram_rows(
    rows: impl Iterator<Item = Result<(i64, i64), sqlx::Error>>,
) -> StoreResult<Vec<(DateTime<Utc>, u64)>> {
    rows.map(|row| {
        let (us, n) = row?;
        let at = DateTime::<Utc>::from_timestamp_micros(us)
            .ok_or_else(|| StoreError::Corrupt(format!("histogram bucket out of range: {us}")))?;
        Ok((at, u64::try_from(n).unwrap_or(0)))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn urls_select_backends() {
        assert_eq!(
            parse_url("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres
        );
        assert_eq!(
            parse_url("postgresql://h/db").unwrap(),
            DatabaseUrl::Postgres
        );
        assert_eq!(
            parse_url("sqlite://data/aoc.db").unwrap(),
            DatabaseUrl::Sqlite("data/aoc.db".into())
        );
        assert_eq!(
            parse_url("sqlite:aoc.db").unwrap(),
            DatabaseUrl::Sqlite("aoc.db".into())
        );
        assert_eq!(
            parse_url("/var/lib/aoc/aoc.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/aoc/aoc.db".into())
        );
        assert_eq!(
            parse_url("C:\\aoc\\aoc.db").unwrap(),
            DatabaseUrl::Sqlite("C:\\aoc\\aoc.db".into())
        );
        for bad in ["sqlite::memory:", "mysql://u:secret@h/db", "", "redis:x"] {
            let err = parse_url(bad).unwrap_err();
            assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{bad}");
            assert!(!err.to_string().contains("secret"));
        }
    }
}
