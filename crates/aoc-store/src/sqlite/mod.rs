//! The embedded backend: one SQLite file in WAL mode, one writer connection (all writes go
//! through it, in `BEGIN IMMEDIATE` transactions) and a pool of read-only readers.

mod activity;
mod alerting;
mod body;
mod jobs;
mod query;
mod sequence;
mod state;
mod write;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::ConnectOptions as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use aoc_domain::{Comment, Event, EventQuery, FilterOptions, Page, SummaryPage};

use crate::{CachedName, EventStore, InsertOutcome, SourceHealth, StoreResult};

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    path: PathBuf,
    _checkpointer: Checkpointer,
    recent: crate::RecentEvents,
}

/// Copies committed WAL frames into the database file from its own connection, in the
/// background, so the single writer never waits for checkpoint I/O and its fsync (`perf` on
/// a 1M-event ingest: ~12% of the writer thread's samples were in fsync alone, more in the
/// checkpoint's page copies, and the writer kept only ~half a core busy: it was waiting for
/// the disk). A PASSIVE checkpoint never blocks the writer or readers. Stops when the store
/// is dropped.
struct Checkpointer(tokio::task::JoinHandle<()>);

/// How often the checkpointer looks for committed frames.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

impl Checkpointer {
    async fn start(options: SqliteConnectOptions) -> StoreResult<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Ok(Self(tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    // Not fatal: the writer's own autocheckpoint still bounds the WAL.
                    tracing::debug!(error = %e, "background checkpoint failed");
                }
            }
        })))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (creating if missing, with its directory) the database file at `path` and apply
    /// migrations.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| crate::connect::directory_error(parent, &e))?;
        }
        let base = SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // sqlx warns of a slow statement with its whole SQL text: a bulk load or a search
            // over millions of rows is legitimately slow, and SQL is not for warn-level logs.
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));

        let writer_options = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // The unique indexes on id and dedupe_key take random inserts; keep them cached.
            .pragma("cache_size", "-131072")
            // Checkpoints normally run on their own connection (see `Checkpointer`), so the
            // writer does not stop for the copying and the fsync. This is the safety net if
            // that falls behind: the writer checkpoints itself past ~160 MB of WAL. Then trim
            // the WAL file back to 64 MB, as a big full-text merge can grow it far beyond that.
            .pragma("wal_autocheckpoint", "40000")
            .pragma("journal_size_limit", "67108864")
            .optimize_on_close(true, Some(1000));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(120))
            // Waiting for the one writer is how writes queue (a bulk load keeps two batches
            // in flight): not worth a warning per batch.
            .acquire_slow_level(log::LevelFilter::Debug)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer_options)
            .await?;
        crate::migrations::sqlite().run(&writer).await?;

        let readers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8);
        let reader_options = base.clone().read_only(true).pragma("cache_size", "-32768");
        let reader = SqlitePoolOptions::new()
            .max_connections(u32::try_from(readers).unwrap_or(4))
            .connect_with(reader_options)
            .await?;
        let checkpointer = Checkpointer::start(
            base.clone()
                .read_only(false)
                .pragma("cache_size", "-2048")
                .optimize_on_close(false, None),
        )
        .await?;
        Ok(Self {
            writer,
            reader,
            path,
            _checkpointer: checkpointer,
            recent: crate::RecentEvents::default(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Merge the full-text index segments and refresh planner statistics (maintenance; slow
    /// on big databases, and it holds the writer meanwhile).
    async fn merge_and_analyze(&self) -> StoreResult<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO events_short_fts (events_short_fts) VALUES ('optimize')")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO events_raw_fts (events_raw_fts) VALUES ('optimize')")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        sqlx::query("PRAGMA optimize").execute(&self.writer).await?;
        Ok(())
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn pending_migrations(&self) -> StoreResult<u64> {
        crate::readiness::pending_sqlite(&self.reader).await
    }

    async fn insert_batch(&self, events: &[Event]) -> StoreResult<InsertOutcome> {
        write::insert_batch(&self.writer, events).await
    }

    async fn update_events(&self, events: &[Event]) -> StoreResult<u64> {
        // Before and after: no read in between serves the old version from memory.
        self.recent.forget(events.iter().map(|e| e.id.as_str()));
        let changed = write::update_events(&self.writer, events).await;
        self.recent.forget(events.iter().map(|e| e.id.as_str()));
        changed
    }

    async fn get(&self, id: &str) -> StoreResult<Option<Event>> {
        query::get(&self.reader, id).await
    }

    async fn search(&self, query: &EventQuery) -> StoreResult<Page> {
        query::search(&self.reader, query).await
    }

    async fn search_summaries(&self, query: &EventQuery) -> StoreResult<SummaryPage> {
        query::search_summaries(&self.reader, query).await
    }

    async fn filter_options(&self, query: &EventQuery, limit: u32) -> StoreResult<FilterOptions> {
        query::filter_options(&self.reader, query, limit).await
    }

    async fn set_tags(&self, id: &str, tags: &[String]) -> StoreResult<Option<Event>> {
        write::set_tags(&self.writer, id, tags).await
    }

    async fn add_comment(&self, id: &str, comment: &Comment) -> StoreResult<Option<Event>> {
        write::add_comment(&self.writer, id, comment).await
    }

    async fn scan(
        &self,
        after: Option<&(DateTime<Utc>, String)>,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        query::scan(&self.reader, after, limit).await
    }

    async fn count(&self) -> StoreResult<u64> {
        query::count(&self.reader).await
    }

    async fn count_matching(&self, query: &EventQuery) -> StoreResult<u64> {
        query::count_matching(&self.reader, query).await
    }

    async fn histogram(
        &self,
        query: &EventQuery,
        bucket_seconds: i64,
    ) -> StoreResult<Vec<(DateTime<Utc>, u64)>> {
        query::histogram(&self.reader, query, bucket_seconds).await
    }

    async fn delete_ids(&self, ids: &[String]) -> StoreResult<u64> {
        write::delete_ids(&self.writer, ids).await
    }

    async fn delete_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        write::delete_before(&self.writer, cutoff).await
    }

    async fn get_watermark(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>> {
        state::get_watermark(&self.reader, source).await
    }

    async fn set_watermark(&self, source: &str, at: DateTime<Utc>) -> StoreResult<()> {
        state::set_watermark(&self.writer, source, at).await
    }

    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>> {
        state::source_health(&self.reader).await
    }

    async fn put_source_health(&self, health: &SourceHealth) -> StoreResult<()> {
        state::put_source_health(&self.writer, health).await
    }

    async fn cached_names(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CachedName>> {
        state::cached_names(&self.reader, ids, now).await
    }

    async fn put_cached_names(&self, names: &[CachedName]) -> StoreResult<()> {
        state::put_cached_names(&self.writer, names).await
    }

    async fn optimize(&self) -> StoreResult<()> {
        self.merge_and_analyze().await
    }

    async fn append_activity(&self, entry: &crate::NewActivity) -> StoreResult<i64> {
        activity::append(&self.writer, entry).await
    }

    async fn list_activity(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<crate::Activity>> {
        activity::list(&self.reader, before, limit).await
    }

    async fn events_after(
        &self,
        after: Option<&crate::SequencePosition>,
        limit: u32,
    ) -> StoreResult<crate::SequenceBatch> {
        sequence::events_after(&self.reader, &self.recent, after, limit).await
    }

    fn recent_events(&self) -> Option<&crate::RecentEvents> {
        Some(&self.recent)
    }

    async fn events_behind(
        &self,
        after: Option<&crate::SequencePosition>,
        cap: u64,
    ) -> StoreResult<u64> {
        sequence::events_behind(&self.reader, after, cap).await
    }

    async fn get_consumer_cursor(
        &self,
        consumer: &str,
    ) -> StoreResult<Option<crate::SequencePosition>> {
        sequence::get_cursor(&self.reader, consumer).await
    }

    async fn set_consumer_cursor(
        &self,
        consumer: &str,
        position: &crate::SequencePosition,
    ) -> StoreResult<bool> {
        sequence::set_cursor(&self.writer, consumer, position).await
    }

    async fn list_rules(&self) -> StoreResult<Vec<crate::StoredRule>> {
        alerting::list_rules(&self.reader).await
    }

    async fn get_rule(&self, id: &str) -> StoreResult<Option<crate::StoredRule>> {
        alerting::get_rule(&self.reader, id).await
    }

    async fn put_rule(
        &self,
        id: &str,
        definition: &serde_json::Value,
    ) -> StoreResult<crate::StoredRule> {
        alerting::put_rule(&self.writer, id, definition).await
    }

    async fn insert_rule_if_absent(
        &self,
        id: &str,
        definition: &serde_json::Value,
    ) -> StoreResult<bool> {
        alerting::insert_rule_if_absent(&self.writer, id, definition).await
    }

    async fn delete_rule(&self, id: &str) -> StoreResult<bool> {
        alerting::delete_rule(&self.writer, id).await
    }

    async fn record_rule_matches(&self, matches: &[crate::RuleMatch]) -> StoreResult<()> {
        alerting::record_rule_matches(&self.writer, matches).await
    }

    async fn rule_matches_in(
        &self,
        rule_id: &str,
        group_key: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<(u64, Vec<(String, DateTime<Utc>)>)> {
        alerting::rule_matches_in(&self.reader, rule_id, group_key, from, to, limit).await
    }

    async fn rule_match_counts(
        &self,
        rule_id: &str,
        spans: &[crate::GroupSpan],
    ) -> StoreResult<Vec<u64>> {
        alerting::rule_match_counts(&self.reader, rule_id, spans).await
    }

    async fn prune_rule_matches(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        alerting::prune_rule_matches(&self.writer, cutoff).await
    }

    async fn raise_alert(&self, alert: &crate::NewAlert) -> StoreResult<(crate::Alert, bool)> {
        alerting::raise_alert(&self.writer, alert).await
    }

    async fn raise_alerts(
        &self,
        alerts: &[crate::NewAlert],
    ) -> StoreResult<Vec<(crate::Alert, bool)>> {
        alerting::raise_alerts(&self.writer, alerts).await
    }

    async fn write_evaluation(
        &self,
        matches: &[crate::RuleMatch],
        alerts: &[crate::NewAlert],
        tags: &[(String, Vec<String>)],
    ) -> StoreResult<Vec<(crate::Alert, bool)>> {
        alerting::write_evaluation(&self.writer, matches, alerts, tags).await
    }

    async fn set_tags_many(&self, tags: &[(String, Vec<String>)]) -> StoreResult<u64> {
        alerting::set_tags_many(&self.writer, tags).await
    }

    async fn get_alert(&self, id: i64) -> StoreResult<Option<crate::Alert>> {
        alerting::get_alert(&self.reader, id).await
    }

    async fn list_alerts(&self, query: &crate::AlertQuery) -> StoreResult<Vec<crate::Alert>> {
        alerting::list_alerts(&self.reader, query).await
    }

    async fn update_alert(
        &self,
        id: i64,
        status: &str,
        by: &str,
        note: Option<&str>,
    ) -> StoreResult<Option<crate::Alert>> {
        alerting::update_alert(&self.writer, id, status, by, note).await
    }

    async fn alert_counts(&self) -> StoreResult<Vec<crate::AlertCount>> {
        alerting::alert_counts(&self.reader).await
    }

    async fn list_saved_searches(&self, owner: &str) -> StoreResult<Vec<crate::SavedSearch>> {
        alerting::list_saved_searches(&self.reader, owner).await
    }

    async fn get_saved_search(&self, id: &str) -> StoreResult<Option<crate::SavedSearch>> {
        alerting::get_saved_search(&self.reader, id).await
    }

    async fn put_saved_search(
        &self,
        search: &crate::SavedSearch,
    ) -> StoreResult<crate::SavedSearch> {
        alerting::put_saved_search(&self.writer, search).await
    }

    async fn delete_saved_search(&self, id: &str) -> StoreResult<bool> {
        alerting::delete_saved_search(&self.writer, id).await
    }

    async fn enqueue_outbox(&self, items: &[crate::NewOutboxItem]) -> StoreResult<u64> {
        alerting::enqueue_outbox(&self.writer, items).await
    }

    async fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<crate::OutboxItem>> {
        alerting::due_outbox(&self.reader, now, limit).await
    }

    async fn outbox_delivered(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        alerting::outbox_delivered(&self.writer, id, at).await
    }

    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        alerting::outbox_failed(&self.writer, id, error, retry_at).await
    }

    async fn outbox_status(&self) -> StoreResult<Vec<crate::OutboxStatus>> {
        alerting::outbox_status(&self.reader).await
    }

    async fn create_job(&self, job: &crate::NewJob) -> StoreResult<crate::Job> {
        jobs::create(&self.writer, job).await
    }

    async fn claim_job(&self, worker: &str) -> StoreResult<Option<crate::Job>> {
        jobs::claim(&self.writer, worker).await
    }

    async fn job_heartbeat(&self, id: i64, done: u64, total: Option<u64>) -> StoreResult<bool> {
        jobs::heartbeat(&self.writer, id, done, total).await
    }

    async fn finish_job(&self, id: i64, end: &crate::JobEnd) -> StoreResult<bool> {
        jobs::finish(&self.writer, id, end).await
    }

    async fn cancel_job(&self, id: i64) -> StoreResult<Option<crate::Job>> {
        jobs::cancel(&self.writer, id).await
    }

    async fn get_job(&self, id: i64) -> StoreResult<Option<crate::Job>> {
        jobs::get(&self.reader, id).await
    }

    async fn list_jobs(&self, query: &crate::JobQuery) -> StoreResult<Vec<crate::Job>> {
        jobs::list(&self.reader, query).await
    }

    async fn interrupt_stale_jobs(&self, stale_before: DateTime<Utc>) -> StoreResult<u64> {
        jobs::interrupt_stale(&self.writer, stale_before).await
    }
}

/// Parse the path out of a `sqlite:` URL or a plain path (see [`crate::open`]).
pub(crate) fn path_from_url(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    // Options after '?' are not supported: the store sets its own pragmas.
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() || rest.starts_with(":memory:") || rest.contains("mode=memory") {
        return None;
    }
    PathBuf::from_str(rest).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn urls_name_files() {
        assert_eq!(
            path_from_url("sqlite://data/aoc.db"),
            Some("data/aoc.db".into())
        );
        assert_eq!(
            path_from_url("sqlite:///var/aoc.db"),
            Some("/var/aoc.db".into())
        );
        assert_eq!(
            path_from_url("sqlite:aoc.db?mode=rwc"),
            Some("aoc.db".into())
        );
        assert_eq!(path_from_url("aoc.db"), Some("aoc.db".into()));
        assert_eq!(path_from_url("sqlite::memory:"), None);
        assert_eq!(path_from_url("sqlite://"), None);
    }
}
