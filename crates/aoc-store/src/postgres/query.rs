//! Reads: the search WHERE clause (PostgreSQL dialect), pages, counts, histograms, filter
//! options.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::{AssertSqlSafe, Postgres, Row};

use aoc_domain::{Event, EventQuery, FilterOptions, Page, SummaryPage};

use super::encode::{pg_text, time_text};
use super::micros_of;
use crate::codec::{StoredRow, TAIL_COLUMNS};
use crate::sql::{self, Arg, Dialect, Scope, Sql};
use crate::summary::{self, SUMMARY_COLUMNS, SUMMARY_JSON_COLUMNS};
use crate::text::FreeText;
use crate::{StoreResult, into_page, into_summary_page};

/// Columns stored as JSONB, read back as text.
const JSON_COLUMNS: [&str; 6] = [
    "actor",
    "target_displays",
    "targets",
    "raw",
    "tags",
    "comments",
];

/// The column list every event read selects (`e.id, <ts in microseconds>, TAIL_COLUMNS...`),
/// in [`StoredRow`] order.
pub(super) fn event_columns() -> String {
    let mut columns = format!("e.id, {}", micros_of("e.ts"));
    for c in TAIL_COLUMNS {
        if JSON_COLUMNS.contains(&c) {
            columns.push_str(&format!(", e.{c}::text"));
        } else {
            columns.push_str(&format!(", e.{c}"));
        }
    }
    columns
}

pub(super) fn decode(row: &PgRow) -> StoreResult<Event> {
    StoredRow::from_row(row)?.into_event()
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

    fn ascii_lower(&self, column: &str) -> String {
        // Under the "C" collation lower() folds ASCII only; under the database's locale it
        // would also fold other letters (`É`), which SQLite and the domain do not.
        format!("lower({column} COLLATE \"C\")")
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

async fn fetch_events(pool: &PgPool, sql: Sql) -> StoreResult<Vec<Event>> {
    let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

/// `select` is `SELECT <event columns> FROM events e` (no WHERE).
pub(super) async fn get(pool: &PgPool, select: &str, id: &str) -> StoreResult<Option<Event>> {
    let sql = format!("{select} WHERE e.id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(id))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn search(pool: &PgPool, select: &str, query: &EventQuery) -> StoreResult<Page> {
    let rows = search_rows(pool, select, query).await?;
    let items = rows.iter().map(decode).collect::<StoreResult<_>>()?;
    Ok(into_page(items, sql::page_limit(query)))
}

/// `SELECT <summary columns> FROM events e`: no `raw`, `actor` or `targets`, so a list of
/// summaries never reads (or de-TOASTs) a record.
pub(super) fn select_summaries() -> String {
    let mut s = format!("SELECT e.id, {}", micros_of("e.ts"));
    for c in SUMMARY_COLUMNS {
        if SUMMARY_JSON_COLUMNS.contains(&c) {
            s.push_str(&format!(", e.{c}::text"));
        } else {
            s.push_str(&format!(", e.{c}"));
        }
    }
    s.push_str(" FROM events e");
    s
}

/// [`search`] as summaries; `select` is [`select_summaries`].
pub(super) async fn search_summaries(
    pool: &PgPool,
    select: &str,
    query: &EventQuery,
) -> StoreResult<SummaryPage> {
    let rows = search_rows(pool, select, query).await?;
    let items = rows
        .iter()
        .map(summary::from_row)
        .collect::<StoreResult<_>>()?;
    Ok(into_summary_page(items, sql::page_limit(query)))
}

/// Up to a page and one row of a search, newest first, as `select` reads them.
async fn search_rows(pool: &PgPool, select: &str, query: &EventQuery) -> StoreResult<Vec<PgRow>> {
    let d = &PgDialect;
    let mut sql = Sql::new(select);
    sql::push_where(&mut sql, d, query, Scope::Page);
    sql.push(" ORDER BY e.ts DESC, e.id DESC LIMIT ")
        .arg(d, Arg::Int(i64::from(sql::page_limit(query)) + 1));
    Ok(bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
        .fetch_all(pool)
        .await?)
}

pub(super) async fn scan(
    pool: &PgPool,
    select: &str,
    after: Option<&(DateTime<Utc>, String)>,
    limit: u32,
) -> StoreResult<Vec<Event>> {
    let d = &PgDialect;
    let mut sql = Sql::new(select);
    if let Some((ts, id)) = after {
        sql.push(" WHERE (e.ts, e.id) > (")
            .arg(d, Arg::Time(*ts))
            .push(", ")
            .arg(d, Arg::Text(id.clone()))
            .push(")");
    }
    sql.push(" ORDER BY e.ts, e.id LIMIT ")
        .arg(d, Arg::Int(i64::from(limit)));
    fetch_events(pool, sql).await
}

pub(super) async fn count(pool: &PgPool) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn count_matching(pool: &PgPool, query: &EventQuery) -> StoreResult<u64> {
    let mut sql = Sql::new("SELECT count(*) FROM events e");
    sql::push_where(&mut sql, &PgDialect, query, Scope::All);
    let row = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
}

pub(super) async fn histogram(
    pool: &PgPool,
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
        .fetch_all(pool)
        .await?;
    crate::histogram_rows(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))))
}

pub(super) async fn filter_options(
    pool: &PgPool,
    query: &EventQuery,
    limit: u32,
) -> StoreResult<FilterOptions> {
    Ok(FilterOptions {
        services: distinct(pool, "service", query, limit).await?,
        operations: distinct(pool, "operation", query, limit).await?,
        results: sql::outcome_options(distinct(pool, "result", query, limit).await?),
        actors: distinct(pool, "actor_display", query, limit).await?,
    })
}

/// Sorted distinct values of a column by a loose index scan: each step seeks the next larger
/// value through the column's index instead of reading every row.
async fn distinct(
    pool: &PgPool,
    column: &str,
    query: &EventQuery,
    limit: u32,
) -> StoreResult<Vec<String>> {
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
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?)
}
