//! The PostgreSQL backend: JSONB raw records, a `pg_trgm` GIN index for substring search, a
//! `tsvector` GIN index over the raw record's words (computed by the store, like SQLite's),
//! bulk writes through `UNNEST` arrays.
//!
//! Needs PostgreSQL 14 or newer (`extract(epoch ...)` returning exact numeric) and the
//! `pg_trgm` extension (created by the first migration, or beforehand by an administrator).

mod activity;
mod alerting;
mod encode;
mod jobs;
mod query;
mod sequence;
mod state;
mod write;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::ConnectOptions as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use aoc_domain::{Comment, Event, EventQuery, FilterOptions, Page, SummaryPage};

use crate::{CachedName, EventStore, InsertOutcome, SourceHealth, StoreResult};

/// Microseconds since the epoch of a timestamptz expression (exact on PostgreSQL 14+).
fn micros_of(expr: &str) -> String {
    format!("(extract(epoch from {expr}) * 1000000)::int8")
}

pub struct PgStore {
    pool: PgPool,
    /// The event column list (`RETURNING` of tag and comment updates).
    columns: String,
    /// `SELECT <columns> FROM events e`.
    select: String,
    /// [`query::select_summaries`], built once.
    select_summaries: String,
    recent: crate::RecentEvents,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connect to `url` (`postgres://...`) and apply migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        Self::connect_with(options, 10).await
    }

    /// Connect with explicit options (schema via `options([("search_path", ...)])`, TLS, ...)
    /// and apply migrations.
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            // sqlx warns of a slow statement with its whole SQL text: a bulk load or a search
            // over millions of rows is legitimately slow, and SQL is not for warn-level logs.
            .connect_with(
                options.log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1)),
            )
            .await?;
        Self::from_pool(pool).await
    }

    /// Use an existing pool; applies migrations.
    pub async fn from_pool(pool: PgPool) -> StoreResult<Self> {
        crate::migrations::postgres().run(&pool).await?;
        let columns = query::event_columns();
        let select = format!("SELECT {columns} FROM events e");
        Ok(Self {
            pool,
            columns,
            select,
            select_summaries: query::select_summaries(),
            recent: crate::RecentEvents::default(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl EventStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn pending_migrations(&self) -> StoreResult<u64> {
        crate::readiness::pending_postgres(&self.pool).await
    }

    async fn insert_batch(&self, events: &[Event]) -> StoreResult<InsertOutcome> {
        write::insert_batch(&self.pool, events).await
    }

    async fn update_events(&self, events: &[Event]) -> StoreResult<u64> {
        // Before and after: no read in between serves the old version from memory.
        self.recent.forget(events.iter().map(|e| e.id.as_str()));
        let changed = write::update_events(&self.pool, events).await;
        self.recent.forget(events.iter().map(|e| e.id.as_str()));
        changed
    }

    async fn get(&self, id: &str) -> StoreResult<Option<Event>> {
        query::get(&self.pool, &self.select, id).await
    }

    async fn search(&self, query: &EventQuery) -> StoreResult<Page> {
        query::search(&self.pool, &self.select, query).await
    }

    async fn search_summaries(&self, query: &EventQuery) -> StoreResult<SummaryPage> {
        query::search_summaries(&self.pool, &self.select_summaries, query).await
    }

    async fn filter_options(&self, query: &EventQuery, limit: u32) -> StoreResult<FilterOptions> {
        query::filter_options(&self.pool, query, limit).await
    }

    async fn set_tags(&self, id: &str, tags: &[String]) -> StoreResult<Option<Event>> {
        write::set_tags(&self.pool, &self.columns, id, tags).await
    }

    async fn add_comment(&self, id: &str, comment: &Comment) -> StoreResult<Option<Event>> {
        write::add_comment(&self.pool, &self.columns, id, comment).await
    }

    async fn scan(
        &self,
        after: Option<&(DateTime<Utc>, String)>,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        query::scan(&self.pool, &self.select, after, limit).await
    }

    async fn count(&self) -> StoreResult<u64> {
        query::count(&self.pool).await
    }

    async fn count_matching(&self, query: &EventQuery) -> StoreResult<u64> {
        query::count_matching(&self.pool, query).await
    }

    async fn histogram(
        &self,
        query: &EventQuery,
        bucket_seconds: i64,
    ) -> StoreResult<Vec<(DateTime<Utc>, u64)>> {
        query::histogram(&self.pool, query, bucket_seconds).await
    }

    async fn delete_ids(&self, ids: &[String]) -> StoreResult<u64> {
        write::delete_ids(&self.pool, ids).await
    }

    async fn delete_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        write::delete_before(&self.pool, cutoff).await
    }

    async fn get_watermark(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>> {
        state::get_watermark(&self.pool, source).await
    }

    async fn set_watermark(&self, source: &str, at: DateTime<Utc>) -> StoreResult<()> {
        state::set_watermark(&self.pool, source, at).await
    }

    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>> {
        state::source_health(&self.pool).await
    }

    async fn put_source_health(&self, health: &SourceHealth) -> StoreResult<()> {
        state::put_source_health(&self.pool, health).await
    }

    async fn cached_names(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CachedName>> {
        state::cached_names(&self.pool, ids, now).await
    }

    async fn put_cached_names(&self, names: &[CachedName]) -> StoreResult<()> {
        state::put_cached_names(&self.pool, names).await
    }

    async fn optimize(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE events").execute(&self.pool).await?;
        Ok(())
    }

    async fn append_activity(&self, entry: &crate::NewActivity) -> StoreResult<i64> {
        activity::append(&self.pool, entry).await
    }

    async fn list_activity(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<crate::Activity>> {
        activity::list(&self.pool, before, limit).await
    }

    async fn events_after(
        &self,
        after: Option<&crate::SequencePosition>,
        limit: u32,
    ) -> StoreResult<crate::SequenceBatch> {
        sequence::events_after(&self.pool, &self.columns, &self.recent, after, limit).await
    }

    fn recent_events(&self) -> Option<&crate::RecentEvents> {
        Some(&self.recent)
    }

    async fn events_behind(
        &self,
        after: Option<&crate::SequencePosition>,
        cap: u64,
    ) -> StoreResult<u64> {
        sequence::events_behind(&self.pool, after, cap).await
    }

    async fn get_consumer_cursor(
        &self,
        consumer: &str,
    ) -> StoreResult<Option<crate::SequencePosition>> {
        sequence::get_cursor(&self.pool, consumer).await
    }

    async fn set_consumer_cursor(
        &self,
        consumer: &str,
        position: &crate::SequencePosition,
    ) -> StoreResult<bool> {
        sequence::set_cursor(&self.pool, consumer, position).await
    }

    async fn list_rules(&self) -> StoreResult<Vec<crate::StoredRule>> {
        alerting::list_rules(&self.pool).await
    }

    async fn get_rule(&self, id: &str) -> StoreResult<Option<crate::StoredRule>> {
        alerting::get_rule(&self.pool, id).await
    }

    async fn put_rule(
        &self,
        id: &str,
        definition: &serde_json::Value,
    ) -> StoreResult<crate::StoredRule> {
        alerting::put_rule(&self.pool, id, definition).await
    }

    async fn insert_rule_if_absent(
        &self,
        id: &str,
        definition: &serde_json::Value,
    ) -> StoreResult<bool> {
        alerting::insert_rule_if_absent(&self.pool, id, definition).await
    }

    async fn delete_rule(&self, id: &str) -> StoreResult<bool> {
        alerting::delete_rule(&self.pool, id).await
    }

    async fn record_rule_matches(&self, matches: &[crate::RuleMatch]) -> StoreResult<()> {
        alerting::record_rule_matches(&self.pool, matches).await
    }

    async fn rule_matches_in(
        &self,
        rule_id: &str,
        group_key: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<(u64, Vec<(String, DateTime<Utc>)>)> {
        alerting::rule_matches_in(&self.pool, rule_id, group_key, from, to, limit).await
    }

    async fn rule_match_counts(
        &self,
        rule_id: &str,
        spans: &[crate::GroupSpan],
    ) -> StoreResult<Vec<u64>> {
        alerting::rule_match_counts(&self.pool, rule_id, spans).await
    }

    async fn prune_rule_matches(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        alerting::prune_rule_matches(&self.pool, cutoff).await
    }

    async fn raise_alert(&self, alert: &crate::NewAlert) -> StoreResult<(crate::Alert, bool)> {
        alerting::raise_alert(&self.pool, alert).await
    }

    async fn raise_alerts(
        &self,
        alerts: &[crate::NewAlert],
    ) -> StoreResult<Vec<(crate::Alert, bool)>> {
        alerting::raise_alerts(&self.pool, alerts).await
    }

    async fn write_evaluation(
        &self,
        matches: &[crate::RuleMatch],
        alerts: &[crate::NewAlert],
        tags: &[(String, Vec<String>)],
    ) -> StoreResult<Vec<(crate::Alert, bool)>> {
        alerting::write_evaluation(&self.pool, matches, alerts, tags).await
    }

    async fn set_tags_many(&self, tags: &[(String, Vec<String>)]) -> StoreResult<u64> {
        alerting::set_tags_many(&self.pool, tags).await
    }

    async fn get_alert(&self, id: i64) -> StoreResult<Option<crate::Alert>> {
        alerting::get_alert(&self.pool, id).await
    }

    async fn list_alerts(&self, query: &crate::AlertQuery) -> StoreResult<Vec<crate::Alert>> {
        alerting::list_alerts(&self.pool, query).await
    }

    async fn update_alert(
        &self,
        id: i64,
        status: &str,
        by: &str,
        note: Option<&str>,
    ) -> StoreResult<Option<crate::Alert>> {
        alerting::update_alert(&self.pool, id, status, by, note).await
    }

    async fn alert_counts(&self) -> StoreResult<Vec<crate::AlertCount>> {
        alerting::alert_counts(&self.pool).await
    }

    async fn list_saved_searches(&self, owner: &str) -> StoreResult<Vec<crate::SavedSearch>> {
        alerting::list_saved_searches(&self.pool, owner).await
    }

    async fn get_saved_search(&self, id: &str) -> StoreResult<Option<crate::SavedSearch>> {
        alerting::get_saved_search(&self.pool, id).await
    }

    async fn put_saved_search(
        &self,
        search: &crate::SavedSearch,
    ) -> StoreResult<crate::SavedSearch> {
        alerting::put_saved_search(&self.pool, search).await
    }

    async fn delete_saved_search(&self, id: &str) -> StoreResult<bool> {
        alerting::delete_saved_search(&self.pool, id).await
    }

    async fn enqueue_outbox(&self, items: &[crate::NewOutboxItem]) -> StoreResult<u64> {
        alerting::enqueue_outbox(&self.pool, items).await
    }

    async fn due_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<crate::OutboxItem>> {
        alerting::due_outbox(&self.pool, now, limit).await
    }

    async fn outbox_delivered(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        alerting::outbox_delivered(&self.pool, id, at).await
    }

    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        alerting::outbox_failed(&self.pool, id, error, retry_at).await
    }

    async fn outbox_status(&self) -> StoreResult<Vec<crate::OutboxStatus>> {
        alerting::outbox_status(&self.pool).await
    }

    async fn create_job(&self, job: &crate::NewJob) -> StoreResult<crate::Job> {
        jobs::create(&self.pool, job).await
    }

    async fn claim_job(&self, worker: &str) -> StoreResult<Option<crate::Job>> {
        jobs::claim(&self.pool, worker).await
    }

    async fn job_heartbeat(&self, id: i64, done: u64, total: Option<u64>) -> StoreResult<bool> {
        jobs::heartbeat(&self.pool, id, done, total).await
    }

    async fn finish_job(&self, id: i64, end: &crate::JobEnd) -> StoreResult<bool> {
        jobs::finish(&self.pool, id, end).await
    }

    async fn cancel_job(&self, id: i64) -> StoreResult<Option<crate::Job>> {
        jobs::cancel(&self.pool, id).await
    }

    async fn get_job(&self, id: i64) -> StoreResult<Option<crate::Job>> {
        jobs::get(&self.pool, id).await
    }

    async fn list_jobs(&self, query: &crate::JobQuery) -> StoreResult<Vec<crate::Job>> {
        jobs::list(&self.pool, query).await
    }

    async fn interrupt_stale_jobs(&self, stale_before: DateTime<Utc>) -> StoreResult<u64> {
        jobs::interrupt_stale(&self.pool, stale_before).await
    }
}
