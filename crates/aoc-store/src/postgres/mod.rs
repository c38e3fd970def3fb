//! The PostgreSQL backend: JSONB raw records, a `pg_trgm` GIN index for substring search, a
//! `tsvector` GIN index over the raw record's words (computed by the store, like SQLite's),
//! bulk writes through `UNNEST` arrays.
//!
//! Needs PostgreSQL 14 or newer (`extract(epoch ...)` returning exact numeric) and the
//! `pg_trgm` extension (created by the first migration, or beforehand by an administrator).

mod activity;
mod encode;
mod query;
mod sequence;
mod state;
mod write;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::ConnectOptions as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use aoc_domain::{Comment, Event, EventQuery, FilterOptions, Page};

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

    async fn insert_batch(&self, events: &[Event]) -> StoreResult<InsertOutcome> {
        write::insert_batch(&self.pool, events).await
    }

    async fn update_events(&self, events: &[Event]) -> StoreResult<u64> {
        write::update_events(&self.pool, events).await
    }

    async fn get(&self, id: &str) -> StoreResult<Option<Event>> {
        query::get(&self.pool, &self.select, id).await
    }

    async fn search(&self, query: &EventQuery) -> StoreResult<Page> {
        query::search(&self.pool, &self.select, query).await
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
        sequence::events_after(&self.pool, &self.columns, after, limit).await
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
}
