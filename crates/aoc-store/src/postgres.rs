//! The PostgreSQL backend: JSONB raw records, a `pg_trgm` GIN index for substring search, a
//! `tsvector` GIN index over the raw record's words (computed by the store, like SQLite's),
//! bulk writes through `UNNEST` arrays.
//!
//! Needs PostgreSQL 14 or newer (`extract(epoch ...)` returning exact numeric) and the
//! `pg_trgm` extension (created by the first migration, or beforehand by an administrator).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Postgres, Row};

use aoc_domain::{Comment, Event, EventQuery, FilterOptions, Page};

use crate::codec::{self, Encoded, StoredRow, TAIL_COLUMNS, from_micros};
use crate::sql::{self, Arg, Dialect, Scope, Sql};
use crate::text::{self, FreeText};
use crate::{CachedName, EventStore, InsertOutcome, SourceHealth, StoreError, StoreResult};

/// Events per bulk statement.
const BULK_ROWS: usize = 1000;
/// Rows deleted per transaction by `delete_before`.
const RETENTION_CHUNK: i64 = 10_000;
const JSON_COLUMNS: [&str; 6] = [
    "actor",
    "target_displays",
    "targets",
    "raw",
    "tags",
    "comments",
];
/// PostgreSQL's unique_violation.
const UNIQUE_VIOLATION: &str = "23505";
const DEADLOCK_DETECTED: &str = "40P01";
/// Tries per batch when it deadlocks with another batch in flight.
const INSERT_ATTEMPTS: u32 = 3;

/// Microseconds since the epoch of a timestamptz expression (exact on PostgreSQL 14+).
fn micros_of(expr: &str) -> String {
    format!("(extract(epoch from {expr}) * 1000000)::int8")
}

pub struct PgStore {
    pool: PgPool,
    columns: String,
    select: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// One attempt at storing a batch, in one transaction.
    async fn insert_encoded(&self, encoded: &[PgEncoded<'_>]) -> StoreResult<InsertOutcome> {
        let mut tx = self.pool.begin().await?;
        let mut new = 0u64;
        for chunk in encoded.chunks(BULK_ROWS) {
            let cols = Columns::new(chunk.iter());
            // WITH ORDINALITY + ORDER BY: within a batch the first of two duplicates wins.
            new += sqlx::query(
                "INSERT INTO events (id, dedupe_key, source, ts, service, operation, result, \
                 actor_display, actor, target_displays, targets, display_summary, raw, tags, \
                 comments, search_short, raw_words) \
                 SELECT u.id, u.dedupe_key, u.source, u.ts::timestamptz, u.service, \
                 u.operation, u.result, u.actor_display, u.actor::jsonb, \
                 u.target_displays::jsonb, u.targets::jsonb, u.display_summary, u.raw::jsonb, \
                 u.tags::jsonb, u.comments::jsonb, u.search_short, \
                 u.raw_words::tsvector \
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                   $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                   $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], \
                   $17::text[]) WITH ORDINALITY \
                 AS u(id, dedupe_key, source, ts, service, operation, result, actor_display, \
                   actor, target_displays, targets, display_summary, raw, tags, comments, \
                   search_short, raw_words, ord) \
                 ORDER BY u.ord \
                 ON CONFLICT DO NOTHING",
            )
            .bind(cols.id)
            .bind(cols.dedupe_key)
            .bind(cols.source)
            .bind(cols.ts)
            .bind(cols.service)
            .bind(cols.operation)
            .bind(cols.result)
            .bind(cols.actor_display)
            .bind(cols.actor)
            .bind(cols.target_displays)
            .bind(cols.targets)
            .bind(cols.display_summary)
            .bind(cols.raw)
            .bind(cols.tags)
            .bind(cols.comments)
            .bind(cols.search_short)
            .bind(cols.raw_words)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        let total = u64::try_from(encoded.len()).unwrap_or(u64::MAX);
        Ok(InsertOutcome {
            new,
            duplicates: total.saturating_sub(new),
        })
    }

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
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    /// Use an existing pool; applies migrations.
    pub async fn from_pool(pool: PgPool) -> StoreResult<Self> {
        crate::migrations::postgres().run(&pool).await?;
        let mut columns = format!("e.id, {}", micros_of("e.ts"));
        for c in TAIL_COLUMNS {
            if JSON_COLUMNS.contains(&c) {
                columns.push_str(&format!(", e.{c}::text"));
            } else {
                columns.push_str(&format!(", e.{c}"));
            }
        }
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

    async fn fetch_events(&self, sql: Sql) -> StoreResult<Vec<Event>> {
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn distinct(
        &self,
        column: &str,
        query: &EventQuery,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        // A loose index scan: each step seeks the next larger value through the index.
        let d = &PgDialect;
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
            "e.{column} > v.x) FROM v WHERE v.x IS NOT NULL) \
             SELECT x FROM v WHERE x IS NOT NULL LIMIT "
        ))
        .arg(d, Arg::Int(i64::from(limit)));
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?)
    }

    async fn update_chunk(
        &self,
        tx: &mut sqlx::PgConnection,
        rows: &[&PgEncoded<'_>],
    ) -> Result<u64, sqlx::Error> {
        let cols = Columns::new(rows.iter().copied());
        let done = sqlx::query(
            "UPDATE events e SET dedupe_key = u.dedupe_key, source = u.source, \
             ts = u.ts::timestamptz, service = u.service, operation = u.operation, \
             result = u.result, actor_display = u.actor_display, actor = u.actor::jsonb, \
             target_displays = u.target_displays::jsonb, targets = u.targets::jsonb, \
             display_summary = u.display_summary, raw = u.raw::jsonb, \
             search_short = u.search_short, raw_words = u.raw_words::tsvector \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
               $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
               $12::text[], $13::text[], $14::text[], $15::text[]) \
             AS u(id, dedupe_key, source, ts, service, operation, result, actor_display, \
               actor, target_displays, targets, display_summary, raw, search_short, raw_words) \
             WHERE e.id = u.id AND NOT EXISTS \
             (SELECT 1 FROM events o WHERE o.dedupe_key = u.dedupe_key AND o.id <> u.id)",
        )
        .bind(cols.id)
        .bind(cols.dedupe_key)
        .bind(cols.source)
        .bind(cols.ts)
        .bind(cols.service)
        .bind(cols.operation)
        .bind(cols.result)
        .bind(cols.actor_display)
        .bind(cols.actor)
        .bind(cols.target_displays)
        .bind(cols.targets)
        .bind(cols.display_summary)
        .bind(cols.raw)
        .bind(cols.search_short)
        .bind(cols.raw_words)
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected())
    }

    async fn update_one_by_one(&self, rows: &[&PgEncoded<'_>]) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let mut changed = 0;
        for row in rows {
            changed += self.update_chunk(&mut tx, &[*row]).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}

fn decode(row: &PgRow) -> StoreResult<Event> {
    StoredRow::from_row(row)?.into_event()
}

fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

fn bind_all(mut q: Query<'_>, args: Vec<Arg>) -> Query<'_> {
    for arg in args {
        q = match arg {
            Arg::Text(s) => q.bind(pg_text(&s)),
            Arg::Int(i) => q.bind(i),
            Arg::Time(t) => q.bind(time_text(t)),
            Arg::List(items) => q.bind(items.iter().map(|s| pg_text(s)).collect::<Vec<_>>()),
        };
    }
    q
}

/// PostgreSQL text cannot hold NUL; a record carrying one must still be stored, so NUL
/// becomes U+FFFD.
fn pg_text(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_owned()
    }
}

/// JSON for a JSONB column: JSONB rejects `\u0000` too.
fn pg_json(json: &str, value: &Value) -> StoreResult<String> {
    if json.contains("\\u0000") {
        codec::to_json(&without_nul(value))
    } else {
        Ok(json.to_owned())
    }
}

fn without_nul(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(pg_text(s)),
        Value::Array(items) => Value::Array(items.iter().map(without_nul).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (pg_text(k), without_nul(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

struct PgDialect;

impl Dialect for PgDialect {
    fn placeholder(&self, n: usize, arg: &Arg) -> String {
        match arg {
            Arg::Text(_) | Arg::Int(_) => format!("${n}"),
            Arg::Time(_) => format!("${n}::timestamptz"),
            Arg::List(_) => format!("${n}::text[]"),
        }
    }

    fn not_in(&self, column: &str, list: &str) -> String {
        format!("NOT ({column} = ANY({list}))")
    }

    fn free_text(&self, sql: &mut Sql, text: &FreeText) {
        sql.push("(e.search_short LIKE ")
            .arg(self, Arg::Text(text.like_pattern()))
            .push(" ESCAPE '\\'");
        if let Some(phrase) = text.tsquery_phrase() {
            sql.push(" OR e.raw_words @@ ")
                .arg(self, Arg::Text(phrase))
                .push("::tsquery");
        }
        sql.push(")");
    }
}

/// A batch as one array per column, for `UNNEST`.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    dedupe_key: Vec<String>,
    source: Vec<String>,
    ts: Vec<String>,
    service: Vec<String>,
    operation: Vec<String>,
    result: Vec<String>,
    actor_display: Vec<String>,
    actor: Vec<String>,
    target_displays: Vec<String>,
    targets: Vec<String>,
    display_summary: Vec<String>,
    raw: Vec<String>,
    tags: Vec<String>,
    comments: Vec<String>,
    search_short: Vec<String>,
    raw_words: Vec<String>,
}

impl Columns {
    fn new<'a, 'e: 'a>(rows: impl Iterator<Item = &'a PgEncoded<'e>>) -> Self {
        let mut c = Columns::default();
        for row in rows {
            let e = row.event;
            c.id.push(pg_text(&e.id));
            c.dedupe_key.push(pg_text(&e.dedupe_key));
            c.source.push(e.source.as_str().to_owned());
            c.ts.push(time_text(e.timestamp));
            c.service.push(pg_text(&e.service));
            c.operation.push(pg_text(&e.operation));
            c.result.push(pg_text(&e.result));
            c.actor_display.push(pg_text(&e.actor_display));
            c.actor.push(row.pg_actor.clone());
            c.target_displays.push(row.pg_target_displays.clone());
            c.targets.push(row.pg_targets.clone());
            c.display_summary.push(pg_text(&e.display_summary));
            c.raw.push(row.pg_raw.clone());
            c.tags.push(row.pg_tags.clone());
            c.comments.push(row.pg_comments.clone());
            c.search_short.push(pg_text(&row.search_short));
            c.raw_words
                .push(pg_text(&text::tsvector_literal(&row.raw_words)));
        }
        c
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
        if events.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let encoded = encode_all(events)?;
        let mut attempt = 1;
        loop {
            match self.insert_encoded(&encoded).await {
                // Two batches in flight that hold the same re-delivered records in a
                // different order can each wait for the other's uncommitted row; PostgreSQL
                // aborts one. Nothing of it was stored, so it runs again.
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if e.code().as_deref() == Some(DEADLOCK_DETECTED)
                        && attempt < INSERT_ATTEMPTS =>
                {
                    attempt += 1;
                    tracing::debug!(attempt, "insert batch deadlocked with another; retrying");
                }
                other => return other,
            }
        }
    }

    async fn update_events(&self, events: &[Event]) -> StoreResult<u64> {
        if events.is_empty() {
            return Ok(0);
        }
        let encoded = encode_all(events)?;
        let rows = sequential_updates(&encoded);
        let mut tx = self.pool.begin().await?;
        let mut changed = 0u64;
        for chunk in rows.chunks(BULK_ROWS) {
            match self.update_chunk(&mut tx, chunk).await {
                Ok(n) => changed += n,
                // Two events swapping dedupe keys trip the unique index inside one
                // statement; updating one by one skips the clash instead.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(UNIQUE_VIOLATION) => {
                    drop(tx);
                    return self.update_one_by_one(&rows).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn get(&self, id: &str) -> StoreResult<Option<Event>> {
        let sql = format!("{} WHERE e.id = $1", self.select);
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(pg_text(id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn search(&self, query: &EventQuery) -> StoreResult<Page> {
        let d = &PgDialect;
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
        let tags: Vec<String> = tags.iter().map(|t| pg_text(t)).collect();
        let sql = format!(
            "UPDATE events e SET tags = $1::jsonb WHERE e.id = $2 RETURNING {}",
            self.columns
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(codec::to_json(&tags)?)
            .bind(pg_text(id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn add_comment(&self, id: &str, comment: &Comment) -> StoreResult<Option<Event>> {
        let json = codec::to_json(comment)?;
        let json = pg_json(&json, &serde_json::to_value(comment).unwrap_or(Value::Null))?;
        // One UPDATE appends under the row lock, so concurrent comments all land.
        let sql = format!(
            "UPDATE events e SET comments = e.comments || jsonb_build_array($1::jsonb) \
             WHERE e.id = $2 RETURNING {}",
            self.columns
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(json)
            .bind(pg_text(id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn scan(
        &self,
        after: Option<&(DateTime<Utc>, String)>,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        let d = &PgDialect;
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
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn count_matching(&self, query: &EventQuery) -> StoreResult<u64> {
        let mut sql = Sql::new("SELECT count(*) FROM events e");
        sql::push_where(&mut sql, &PgDialect, query, Scope::All);
        let row = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
    }

    async fn histogram(
        &self,
        query: &EventQuery,
        bucket_seconds: i64,
    ) -> StoreResult<Vec<(DateTime<Utc>, u64)>> {
        let b = sql::bucket_micros(bucket_seconds);
        // `b` is an integer we computed, never user text.
        let mut sql = Sql::new(&format!(
            "SELECT s.us - (((s.us % {b}) + {b}) % {b}) AS bucket, count(*) \
             FROM (SELECT {} AS us FROM events e",
            micros_of("e.ts")
        ));
        sql::push_where(&mut sql, &PgDialect, query, Scope::All);
        sql.push(") s GROUP BY bucket ORDER BY bucket");
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
            .fetch_all(&self.pool)
            .await?;
        crate::histogram_rows(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))))
    }

    async fn delete_ids(&self, ids: &[String]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let mut deleted = 0;
        for chunk in ids.chunks(BULK_ROWS) {
            let chunk: Vec<String> = chunk.iter().map(|s| pg_text(s)).collect();
            deleted += sqlx::query("DELETE FROM events WHERE id = ANY($1::text[])")
                .bind(chunk)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn delete_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let cutoff = time_text(cutoff);
        let mut deleted = 0;
        loop {
            let n = sqlx::query(
                "DELETE FROM events WHERE id IN \
                 (SELECT id FROM events WHERE ts < $1::timestamptz ORDER BY ts LIMIT $2)",
            )
            .bind(&cutoff)
            .bind(RETENTION_CHUNK)
            .execute(&self.pool)
            .await?
            .rows_affected();
            deleted += n;
            if n < u64::try_from(RETENTION_CHUNK).unwrap_or(0) {
                return Ok(deleted);
            }
        }
    }

    async fn get_watermark(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let sql = format!(
            "SELECT {} FROM watermarks WHERE source = $1",
            micros_of("at")
        );
        let at: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(pg_text(source))
            .fetch_optional(&self.pool)
            .await?;
        at.map(|us| from_micros(us).ok_or_else(|| corrupt_time("watermark", us)))
            .transpose()
    }

    async fn set_watermark(&self, source: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO watermarks (source, at) VALUES ($1, $2::timestamptz) \
             ON CONFLICT (source) DO UPDATE SET at = excluded.at",
        )
        .bind(pg_text(source))
        .bind(time_text(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>> {
        let sql = format!(
            "SELECT source, {}, {}, last_error, last_count FROM source_health ORDER BY source",
            micros_of("last_attempt"),
            micros_of("last_success")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
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
            "INSERT INTO source_health (source, last_attempt, last_success, last_error, \
             last_count) VALUES ($1, $2::timestamptz, $3::timestamptz, $4, $5) \
             ON CONFLICT (source) DO UPDATE SET last_attempt = excluded.last_attempt, \
             last_success = excluded.last_success, last_error = excluded.last_error, \
             last_count = excluded.last_count",
        )
        .bind(pg_text(&health.source))
        .bind(health.last_attempt.map(time_text))
        .bind(health.last_success.map(time_text))
        .bind(health.last_error.as_deref().map(pg_text))
        .bind(i64::try_from(health.last_count).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cached_names(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CachedName>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(|s| pg_text(s)).collect();
        let sql = format!(
            "SELECT object_id, display_name, {} FROM name_cache \
             WHERE object_id = ANY($1::text[]) AND expires_at > $2::timestamptz \
             ORDER BY object_id",
            micros_of("expires_at")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(ids)
            .bind(time_text(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let us: i64 = r.try_get(2)?;
                Ok(CachedName {
                    object_id: r.try_get(0)?,
                    display_name: r.try_get(1)?,
                    expires_at: from_micros(us).ok_or_else(|| corrupt_time("name cache", us))?,
                })
            })
            .collect()
    }

    async fn optimize(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE events").execute(&self.pool).await?;
        Ok(())
    }

    async fn put_cached_names(&self, names: &[CachedName]) -> StoreResult<()> {
        if names.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for n in names {
            sqlx::query(
                "INSERT INTO name_cache (object_id, display_name, expires_at) \
                 VALUES ($1, $2, $3::timestamptz) ON CONFLICT (object_id) DO UPDATE SET \
                 display_name = excluded.display_name, expires_at = excluded.expires_at",
            )
            .bind(pg_text(&n.object_id))
            .bind(pg_text(&n.display_name))
            .bind(time_text(n.expires_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn append_activity(&self, entry: &crate::NewActivity) -> StoreResult<i64> {
        crate::postgres_activity::append(&self.pool, entry).await
    }

    async fn list_activity(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<crate::Activity>> {
        crate::postgres_activity::list(&self.pool, before, limit).await
    }
}

/// Encoded events with their JSON made safe for JSONB.
struct PgEncoded<'a> {
    inner: Encoded<'a>,
    pg_actor: String,
    pg_target_displays: String,
    pg_targets: String,
    pg_raw: String,
    pg_tags: String,
    pg_comments: String,
}

impl<'a> std::ops::Deref for PgEncoded<'a> {
    type Target = Encoded<'a>;
    fn deref(&self) -> &Encoded<'a> {
        &self.inner
    }
}

fn encode_all(events: &[Event]) -> StoreResult<Vec<PgEncoded<'_>>> {
    events
        .iter()
        .map(|e| {
            let inner = Encoded::new(e)?;
            let list = |v: &[String]| -> StoreResult<String> {
                codec::to_json(&v.iter().map(|s| pg_text(s)).collect::<Vec<_>>())
            };
            Ok(PgEncoded {
                pg_actor: pg_json(&inner.actor, &e.actor)?,
                pg_target_displays: list(&e.target_displays)?,
                pg_targets: pg_json(&inner.targets, &Value::Array(e.targets.clone()))?,
                pg_raw: pg_json(&inner.raw, &e.raw)?,
                pg_tags: list(&e.tags)?,
                pg_comments: pg_json(
                    &inner.comments,
                    &serde_json::to_value(&e.comments).unwrap_or(Value::Null),
                )?,
                inner,
            })
        })
        .collect()
}

/// The updates a sequence of single-row updates would apply: for one id the last wins; a
/// later event taking a dedupe key an earlier one in the batch took is skipped.
fn sequential_updates<'b, 'a>(rows: &'b [PgEncoded<'a>]) -> Vec<&'b PgEncoded<'a>> {
    let mut last_for_id = std::collections::HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        last_for_id.insert(r.event.id.as_str(), i);
    }
    let mut key_owner = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if last_for_id.get(r.event.id.as_str()) != Some(&i) {
            continue;
        }
        let owner = key_owner
            .entry(r.event.dedupe_key.as_str())
            .or_insert(r.event.id.as_str());
        if *owner == r.event.id.as_str() {
            out.push(r);
        }
    }
    out
}

fn corrupt_time(what: &str, us: i64) -> StoreError {
    StoreError::Corrupt(format!("{what}: timestamp out of range: {us}"))
}
