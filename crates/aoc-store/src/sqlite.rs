//! The embedded backend: one SQLite file in WAL mode, one writer connection (all writes go
//! through it, in `BEGIN IMMEDIATE` transactions) and a pool of read-only readers.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite};

use aoc_domain::{Comment, Event, EventQuery, FilterOptions, Page};

use crate::codec::{self, Encoded, StoredRow, TAIL_COLUMNS, from_micros, micros};
use crate::sql::{self, Arg, Dialect, Scope, Sql};
use crate::text::FreeText;
use crate::{CachedName, EventStore, InsertOutcome, SourceHealth, StoreError, StoreResult};

/// Rows per multi-row INSERT statement. Statements are built for powers of two up to this,
/// so a handful of distinct statements cover every batch size and stay in the statement cache.
const MAX_INSERT_ROWS: usize = 256;
/// Ids per `json_each` list in one delete statement.
const DELETE_CHUNK: usize = 1000;
/// Rows deleted per transaction by `delete_before`, so retention never holds the writer long.
const RETENTION_CHUNK: i64 = 5000;
const INSERT_COLUMNS: &str = "id, dedupe_key, source, ts, service, operation, result, \
     actor_display, actor, target_displays, targets, display_summary, raw, tags, comments, \
     search_short";
const INSERT_PARAMS: usize = 16;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    path: PathBuf,
    select: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (creating if missing) the database file at `path` and apply migrations.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Database(sqlx::Error::Configuration(
                    format!("cannot create directory {}: {e}", parent.display()).into(),
                ))
            })?;
        }
        let base = SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory");

        let writer_options = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // The unique indexes on id and dedupe_key take random inserts; keep them cached.
            .pragma("cache_size", "-131072")
            .optimize_on_close(true, Some(1000));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(120))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer_options)
            .await?;
        crate::migrations::sqlite().run(&writer).await?;

        let readers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8);
        let reader_options = base.read_only(true).pragma("cache_size", "-32768");
        let reader = SqlitePoolOptions::new()
            .max_connections(u32::try_from(readers).unwrap_or(4))
            .connect_with(reader_options)
            .await?;
        Ok(Self {
            writer,
            reader,
            path,
            select: select_columns(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Merge the full-text index segments (maintenance; slow on big databases).
    pub async fn optimize(&self) -> StoreResult<()> {
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

    async fn fetch_events(&self, sql: Sql) -> StoreResult<Vec<Event>> {
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn get_on<'c, E>(&self, executor: E, id: &str) -> StoreResult<Option<Event>>
    where
        E: sqlx::Executor<'c, Database = Sqlite>,
    {
        let sql = format!("{} WHERE e.id = ?", self.select);
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(executor)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn distinct(
        &self,
        column: &str,
        query: &EventQuery,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        // A loose index scan: each step seeks the next larger value through the column's
        // index instead of reading every row.
        let d = &SqliteDialect;
        let mut sql = Sql::new(&format!(
            "WITH RECURSIVE v(x) AS (SELECT (SELECT min(e.{column}) FROM events e"
        ));
        sql::push_where(&mut sql, d, query, Scope::HiddenOnly);
        sql.push(&format!(
            ") UNION ALL SELECT (SELECT min(e.{column}) FROM events e"
        ));
        let more = sql::push_where(&mut sql, d, query, Scope::HiddenOnly);
        sql.push(if more { " AND " } else { " WHERE " });
        sql.push(&format!(
            "e.{column} > v.x) FROM v WHERE v.x IS NOT NULL LIMIT "
        ))
        .arg(d, Arg::Int(i64::from(limit) + 1))
        .push(") SELECT x FROM v WHERE x IS NOT NULL LIMIT ")
        .arg(d, Arg::Int(i64::from(limit)));
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(&self.reader)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?)
    }
}

fn select_columns() -> String {
    let mut s = String::from("SELECT e.id, e.ts");
    for c in TAIL_COLUMNS {
        s.push_str(", e.");
        s.push_str(c);
    }
    s.push_str(" FROM events e");
    s
}

fn decode(row: &SqliteRow) -> StoreResult<Event> {
    StoredRow::from_row(row)?.into_event()
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

fn bind_all(mut q: Query<'_>, args: Vec<Arg>) -> Query<'_> {
    for arg in args {
        q = match arg {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
            Arg::Time(t) => q.bind(micros(t)),
            // serde_json cannot fail on a list of strings; an empty list excludes nothing.
            Arg::List(items) => {
                q.bind(serde_json::to_string(&items).unwrap_or_else(|_| "[]".into()))
            }
        };
    }
    q
}

struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn placeholder(&self, _n: usize, _arg: &Arg) -> String {
        "?".to_string()
    }

    fn not_in(&self, column: &str, list: &str) -> String {
        format!("{column} NOT IN (SELECT value FROM json_each({list}))")
    }

    fn free_text(&self, sql: &mut Sql, text: &FreeText) {
        let d = self;
        sql.push("(");
        if text.trigram_searchable() {
            // Trigram candidates, confirmed as real substrings.
            sql.push("(e.seq IN (SELECT rowid FROM events_short_fts WHERE events_short_fts MATCH ")
                .arg(d, Arg::Text(text.fts5_trigrams()))
                .push(") AND instr(e.search_short, ")
                .arg(d, Arg::Text(text.needle.clone()))
                .push(") > 0)");
        } else {
            sql.push("instr(e.search_short, ")
                .arg(d, Arg::Text(text.needle.clone()))
                .push(") > 0");
        }
        if let Some(phrase) = text.fts5_words_phrase() {
            sql.push(" OR e.seq IN (SELECT rowid FROM events_raw_fts WHERE events_raw_fts MATCH ")
                .arg(d, Arg::Text(phrase))
                .push(")");
        }
        sql.push(")");
    }
}

fn insert_sql(rows: usize) -> String {
    let one = format!("({})", vec!["?"; INSERT_PARAMS].join(", "));
    format!(
        "INSERT INTO events ({INSERT_COLUMNS}) VALUES {} ON CONFLICT DO NOTHING",
        vec![one.as_str(); rows].join(", ")
    )
}

/// The largest power of two not above `remaining` (capped at [`MAX_INSERT_ROWS`]).
fn chunk_len(remaining: usize) -> usize {
    let capped = remaining.min(MAX_INSERT_ROWS);
    if capped == 0 {
        return 0;
    }
    1 << capped.ilog2()
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

    async fn insert_batch(&self, events: &[Event]) -> StoreResult<InsertOutcome> {
        if events.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let encoded: Vec<Encoded<'_>> =
            events.iter().map(Encoded::new).collect::<Result<_, _>>()?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut new = 0u64;
        let mut rest = encoded.as_slice();
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
            let sql = insert_sql(chunk.len());
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for row in chunk {
                let e = row.event;
                q = q
                    .bind(e.id.as_str())
                    .bind(e.dedupe_key.as_str())
                    .bind(e.source.as_str())
                    .bind(row.ts_us)
                    .bind(e.service.as_str())
                    .bind(e.operation.as_str())
                    .bind(e.result.as_str())
                    .bind(e.actor_display.as_str())
                    .bind(row.actor.as_str())
                    .bind(row.target_displays.as_str())
                    .bind(row.targets.as_str())
                    .bind(e.display_summary.as_str())
                    .bind(row.raw.as_str())
                    .bind(row.tags.as_str())
                    .bind(row.comments.as_str())
                    .bind(row.search_short.as_str());
            }
            new += q.execute(&mut *tx).await?.rows_affected();
            rest = tail;
        }
        tx.commit().await?;
        let total = u64::try_from(events.len()).unwrap_or(u64::MAX);
        Ok(InsertOutcome {
            new,
            duplicates: total.saturating_sub(new),
        })
    }

    async fn update_events(&self, events: &[Event]) -> StoreResult<u64> {
        if events.is_empty() {
            return Ok(0);
        }
        let encoded: Vec<Encoded<'_>> =
            events.iter().map(Encoded::new).collect::<Result<_, _>>()?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut changed = 0u64;
        for row in &encoded {
            let e = row.event;
            // A new dedupe key that another event already holds would violate uniqueness:
            // such an event is left as it is (the caller deletes the duplicate first).
            changed += sqlx::query(
                "UPDATE events SET dedupe_key = ?1, source = ?2, ts = ?3, service = ?4, \
                 operation = ?5, result = ?6, actor_display = ?7, actor = ?8, \
                 target_displays = ?9, targets = ?10, display_summary = ?11, raw = ?12, \
                 search_short = ?13 \
                 WHERE id = ?14 AND NOT EXISTS \
                 (SELECT 1 FROM events o WHERE o.dedupe_key = ?1 AND o.id <> ?14)",
            )
            .bind(e.dedupe_key.as_str())
            .bind(e.source.as_str())
            .bind(row.ts_us)
            .bind(e.service.as_str())
            .bind(e.operation.as_str())
            .bind(e.result.as_str())
            .bind(e.actor_display.as_str())
            .bind(row.actor.as_str())
            .bind(row.target_displays.as_str())
            .bind(row.targets.as_str())
            .bind(e.display_summary.as_str())
            .bind(row.raw.as_str())
            .bind(row.search_short.as_str())
            .bind(e.id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn get(&self, id: &str) -> StoreResult<Option<Event>> {
        self.get_on(&self.reader, id).await
    }

    async fn search(&self, query: &EventQuery) -> StoreResult<Page> {
        let d = &SqliteDialect;
        let page_size = sql::page_limit(query);
        let mut sql = Sql::new(&self.select);
        sql::push_where(&mut sql, d, query, Scope::Page);
        sql.push(" ORDER BY e.ts DESC, e.id DESC LIMIT ")
            .arg(d, Arg::Int(i64::from(page_size) + 1));
        let items = self.fetch_events(sql).await?;
        Ok(crate::into_page(items, page_size))
    }

    async fn filter_options(&self, query: &EventQuery, limit: u32) -> StoreResult<FilterOptions> {
        Ok(FilterOptions {
            services: self.distinct("service", query, limit).await?,
            operations: self.distinct("operation", query, limit).await?,
            results: self.distinct("result", query, limit).await?,
            actors: self.distinct("actor_display", query, limit).await?,
        })
    }

    async fn set_tags(&self, id: &str, tags: &[String]) -> StoreResult<Option<Event>> {
        let tags = codec::to_json(tags)?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let updated = sqlx::query("UPDATE events SET tags = ? WHERE id = ?")
            .bind(tags)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let event = if updated == 0 {
            None
        } else {
            self.get_on(&mut *tx, id).await?
        };
        tx.commit().await?;
        Ok(event)
    }

    async fn add_comment(&self, id: &str, comment: &Comment) -> StoreResult<Option<Event>> {
        let comment = codec::to_json(comment)?;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Appending inside one UPDATE keeps concurrent comments from overwriting each other.
        let updated = sqlx::query(
            "UPDATE events SET comments = json_insert(comments, '$[#]', json(?)) WHERE id = ?",
        )
        .bind(comment)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let event = if updated == 0 {
            None
        } else {
            self.get_on(&mut *tx, id).await?
        };
        tx.commit().await?;
        Ok(event)
    }

    async fn scan(
        &self,
        after: Option<&(DateTime<Utc>, String)>,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        let d = &SqliteDialect;
        let mut sql = Sql::new(&self.select);
        if let Some((ts, id)) = after {
            sql.push(" WHERE (e.ts, e.id) > (")
                .arg(d, Arg::Time(*ts))
                .push(", ")
                .arg(d, Arg::Text(id.clone()))
                .push(")");
        }
        sql.push(" ORDER BY e.ts, e.id LIMIT ")
            .arg(d, Arg::Int(i64::from(limit)));
        self.fetch_events(sql).await
    }

    async fn count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.reader)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn count_matching(&self, query: &EventQuery) -> StoreResult<u64> {
        let mut sql = Sql::new("SELECT count(*) FROM events e");
        sql::push_where(&mut sql, &SqliteDialect, query, Scope::All);
        let row = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
            .fetch_one(&self.reader)
            .await?;
        Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
    }

    async fn histogram(
        &self,
        query: &EventQuery,
        bucket_seconds: i64,
    ) -> StoreResult<Vec<(DateTime<Utc>, u64)>> {
        let b = sql::bucket_micros(bucket_seconds);
        // Floor division, so buckets before 1970 align to the epoch too. `b` is an integer we
        // computed, never user text.
        let mut sql = Sql::new(&format!(
            "SELECT e.ts - (((e.ts % {b}) + {b}) % {b}) AS bucket, count(*) FROM events e"
        ));
        sql::push_where(&mut sql, &SqliteDialect, query, Scope::All);
        sql.push(" GROUP BY bucket ORDER BY bucket");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(&self.reader)
            .await?;
        crate::histogram_rows(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))))
    }

    async fn delete_ids(&self, ids: &[String]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut deleted = 0;
        for chunk in ids.chunks(DELETE_CHUNK) {
            deleted +=
                sqlx::query("DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))")
                    .bind(codec::to_json(chunk)?)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn delete_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let cutoff = micros(cutoff);
        let mut deleted = 0;
        loop {
            let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            let n = sqlx::query(
                "DELETE FROM events WHERE seq IN \
                 (SELECT seq FROM events WHERE ts < ? ORDER BY ts LIMIT ?)",
            )
            .bind(cutoff)
            .bind(RETENTION_CHUNK)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            deleted += n;
            if n < u64::try_from(RETENTION_CHUNK).unwrap_or(0) {
                return Ok(deleted);
            }
        }
    }

    async fn get_watermark(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT at_us FROM watermarks WHERE source = ?")
            .bind(source)
            .fetch_optional(&self.reader)
            .await?;
        at.map(|us| from_micros(us).ok_or_else(|| corrupt_time("watermark", us)))
            .transpose()
    }

    async fn set_watermark(&self, source: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO watermarks (source, at_us) VALUES (?, ?) \
             ON CONFLICT (source) DO UPDATE SET at_us = excluded.at_us",
        )
        .bind(source)
        .bind(micros(at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>> {
        let rows = sqlx::query(
            "SELECT source, last_attempt_us, last_success_us, last_error, last_count \
             FROM source_health ORDER BY source",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let time = |i: usize| -> StoreResult<Option<DateTime<Utc>>> {
                    let us: Option<i64> = r.try_get(i)?;
                    us.map(|us| from_micros(us).ok_or_else(|| corrupt_time("source health", us)))
                        .transpose()
                };
                Ok(SourceHealth {
                    source: r.try_get(0)?,
                    last_attempt: time(1)?,
                    last_success: time(2)?,
                    last_error: r.try_get(3)?,
                    last_count: u64::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn put_source_health(&self, health: &SourceHealth) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO source_health \
             (source, last_attempt_us, last_success_us, last_error, last_count) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET \
             last_attempt_us = excluded.last_attempt_us, \
             last_success_us = excluded.last_success_us, \
             last_error = excluded.last_error, last_count = excluded.last_count",
        )
        .bind(&health.source)
        .bind(health.last_attempt.map(micros))
        .bind(health.last_success.map(micros))
        .bind(&health.last_error)
        .bind(i64::try_from(health.last_count).unwrap_or(i64::MAX))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn cached_names(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CachedName>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(DELETE_CHUNK) {
            let rows = sqlx::query(
                "SELECT object_id, display_name, expires_at_us FROM name_cache \
                 WHERE object_id IN (SELECT value FROM json_each(?)) AND expires_at_us > ? \
                 ORDER BY object_id",
            )
            .bind(codec::to_json(chunk)?)
            .bind(micros(now))
            .fetch_all(&self.reader)
            .await?;
            for r in &rows {
                let us: i64 = r.try_get(2)?;
                out.push(CachedName {
                    object_id: r.try_get(0)?,
                    display_name: r.try_get(1)?,
                    expires_at: from_micros(us).ok_or_else(|| corrupt_time("name cache", us))?,
                });
            }
        }
        Ok(out)
    }

    async fn put_cached_names(&self, names: &[CachedName]) -> StoreResult<()> {
        if names.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for n in names {
            sqlx::query(
                "INSERT INTO name_cache (object_id, display_name, expires_at_us) VALUES (?, ?, ?) \
                 ON CONFLICT (object_id) DO UPDATE SET display_name = excluded.display_name, \
                 expires_at_us = excluded.expires_at_us",
            )
            .bind(&n.object_id)
            .bind(&n.display_name)
            .bind(micros(n.expires_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn corrupt_time(what: &str, us: i64) -> StoreError {
    StoreError::Corrupt(format!("{what}: timestamp out of range: {us}"))
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
    fn chunks_are_powers_of_two() {
        assert_eq!(chunk_len(1000), 256);
        assert_eq!(chunk_len(255), 128);
        assert_eq!(chunk_len(3), 2);
        assert_eq!(chunk_len(1), 1);
    }

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
