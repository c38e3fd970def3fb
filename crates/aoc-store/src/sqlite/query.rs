//! Reads: the search WHERE clause (SQLite dialect), pages, counts, histograms, filter options.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Row, Sqlite, SqlitePool};

use aoc_domain::{Event, EventQuery, FilterOptions, Page, SummaryPage};

use super::body;
use crate::codec::{StoredRow, micros};
use crate::sql::{self, Arg, Dialect, Scope, Sql};
use crate::summary;
use crate::text::FreeText;
use crate::{StoreResult, into_page, into_summary_page};

/// Text matching at least this many events is "common": a newest-first page then walks the
/// timestamp index and checks candidates, instead of sorting every match.
const COMMON_TEXT: i64 = 2000;

/// Columns of `events` an event read selects, after `id` and `ts`; the compressed body
/// follows them. They are a summary's columns, so one row layout serves both.
const EVENT_COLUMNS: [&str; 11] = summary::SUMMARY_COLUMNS;

/// `SELECT <event columns> FROM events e JOIN event_bodies b ...` (no WHERE).
pub(super) fn select_events() -> String {
    let mut s = String::from("SELECT e.id, e.ts");
    for c in EVENT_COLUMNS {
        s.push_str(&format!(", e.{c}"));
    }
    s.push_str(", b.body FROM events e JOIN event_bodies b ON b.seq = e.seq");
    s
}

pub(super) fn decode(row: &SqliteRow) -> StoreResult<Event> {
    let text = |i: usize| row.try_get::<String, _>(i);
    let (actor, targets, raw) = body::unpack(row.try_get::<&[u8], _>(13)?)?;
    // In `codec::TAIL_COLUMNS` order.
    let tail = [
        text(2)?,
        text(3)?,
        text(4)?,
        text(5)?,
        text(6)?,
        actor,
        text(7)?,
        targets,
        text(8)?,
        text(9)?,
        raw,
        text(10)?,
        text(11)?,
        text(12)?,
    ];
    StoredRow {
        id: text(0)?,
        ts_us: row.try_get(1)?,
        tail,
    }
    .into_event()
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

pub(super) fn bind_all(mut q: Query<'_>, args: Vec<Arg>) -> Query<'_> {
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

pub(super) struct SqliteDialect {
    /// Keep the planner from driving the query by full-text matches (`+e.seq`): right when
    /// the text is common and a newest-first page should walk the timestamp index instead.
    pub walk_time_index: bool,
    /// Check substrings with `instr` alone, without the trigram candidate list (see
    /// [`search_recent_window`]).
    pub instr_only: bool,
}

pub(super) const DIALECT: SqliteDialect = SqliteDialect {
    walk_time_index: false,
    instr_only: false,
};

impl Dialect for SqliteDialect {
    fn placeholder(&self, _n: usize, _arg: &Arg) -> String {
        "?".to_string()
    }

    fn not_in(&self, column: &str, list: &str) -> String {
        format!("{column} NOT IN (SELECT value FROM json_each({list}))")
    }

    fn ascii_lower(&self, column: &str) -> String {
        // SQLite's built-in lower() folds ASCII only (there is no ICU extension here).
        format!("lower({column})")
    }

    fn free_text(&self, sql: &mut Sql, text: &FreeText) {
        let seq = if self.walk_time_index {
            "+e.seq"
        } else {
            "e.seq"
        };
        sql.push("(");
        if text.trigram_searchable() && !self.instr_only {
            // Trigram candidates, confirmed as real substrings.
            sql.push(&format!(
                "({seq} IN (SELECT rowid FROM events_short_fts WHERE events_short_fts MATCH "
            ))
            .arg(self, Arg::Text(text.fts5_trigrams()))
            .push(") AND instr(e.search_short, ")
            .arg(self, Arg::Text(text.needle.clone()))
            .push(") > 0)");
        } else {
            sql.push("instr(e.search_short, ")
                .arg(self, Arg::Text(text.needle.clone()))
                .push(") > 0");
        }
        if let Some(phrase) = text.fts5_words_phrase() {
            sql.push(&format!(
                " OR {seq} IN (SELECT rowid FROM events_raw_fts WHERE events_raw_fts MATCH "
            ))
            .arg(self, Arg::Text(phrase))
            .push(")");
        }
        sql.push(")");
    }
}

/// Whether the free text has at least [`COMMON_TEXT`] full-text candidates (counting stops
/// there, so this is cheap).
async fn is_common(reader: &SqlitePool, text: &FreeText) -> StoreResult<bool> {
    if !text.trigram_searchable() {
        // The substring check cannot use an index: the time index walk is the only plan.
        return Ok(true);
    }
    let mut sql = Sql::new(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM events_short_fts \
         WHERE events_short_fts MATCH ? LIMIT ?))",
    );
    sql.args.push(Arg::Text(text.fts5_trigrams()));
    sql.args.push(Arg::Int(COMMON_TEXT));
    if let Some(phrase) = text.fts5_words_phrase() {
        sql.push(
            " + (SELECT count(*) FROM (SELECT 1 FROM events_raw_fts \
             WHERE events_raw_fts MATCH ? LIMIT ?))",
        );
        sql.args.push(Arg::Text(phrase));
        sql.args.push(Arg::Int(COMMON_TEXT));
    }
    let row = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
        .fetch_one(reader)
        .await?;
    Ok(row.try_get::<i64, _>(0)? >= COMMON_TEXT)
}

pub(super) async fn get_on<'c, E>(executor: E, id: &str) -> StoreResult<Option<Event>>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    let sql = format!("{} WHERE e.id = ?", select_events());
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn get(reader: &SqlitePool, id: &str) -> StoreResult<Option<Event>> {
    get_on(reader, id).await
}

/// Events for the seqs an inner `SELECT e.seq ... ORDER BY ... LIMIT` picks: sorting and
/// limiting happen on the narrow table, bodies are read for the survivors only.
async fn fetch_page(reader: &SqlitePool, inner: Sql, order: &str) -> StoreResult<Vec<Event>> {
    let rows = fetch_rows(reader, inner, order, Body::Read).await?;
    rows.iter().map(decode).collect()
}

/// Whether a read joins `event_bodies` (whole events) or not (summaries).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    Read,
    Skip,
}

/// Rows of `id, ts, EVENT_COLUMNS` (then the body with [`Body::Read`]) for the seqs `inner`
/// picks, in `order`.
async fn fetch_rows(
    reader: &SqlitePool,
    inner: Sql,
    order: &str,
    body: Body,
) -> StoreResult<Vec<SqliteRow>> {
    let mut sql = Sql::new("SELECT e.id, e.ts");
    for c in EVENT_COLUMNS {
        sql.push(&format!(", e.{c}"));
    }
    if body == Body::Read {
        sql.push(", b.body");
    }
    sql.push(" FROM (")
        .push(&inner.text)
        .push(") p JOIN events e ON e.seq = p.seq");
    if body == Body::Read {
        sql.push(" JOIN event_bodies b ON b.seq = p.seq");
    }
    sql.push(&format!(" ORDER BY {order}"));
    sql.args = inner.args;
    Ok(bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
        .fetch_all(reader)
        .await?)
}

pub(super) async fn search(reader: &SqlitePool, query: &EventQuery) -> StoreResult<Page> {
    let rows = search_rows(reader, query, Body::Read).await?;
    let items = rows.iter().map(decode).collect::<StoreResult<_>>()?;
    Ok(into_page(items, sql::page_limit(query)))
}

/// [`search`] without reading or inflating a single body.
pub(super) async fn search_summaries(
    reader: &SqlitePool,
    query: &EventQuery,
) -> StoreResult<SummaryPage> {
    let rows = search_rows(reader, query, Body::Skip).await?;
    let items = rows
        .iter()
        .map(summary::from_row)
        .collect::<StoreResult<_>>()?;
    Ok(into_summary_page(items, sql::page_limit(query)))
}

/// Up to a page and one row of a search, newest first.
async fn search_rows(
    reader: &SqlitePool,
    query: &EventQuery,
    body: Body,
) -> StoreResult<Vec<SqliteRow>> {
    let walk_time_index = match query.search.as_deref().and_then(FreeText::parse) {
        Some(text) => is_common(reader, &text).await?,
        None => false,
    };
    let page_size = sql::page_limit(query);
    if walk_time_index
        && let Some(rows) = search_recent_window(reader, query, page_size, body).await?
    {
        return Ok(rows);
    }
    let d = &SqliteDialect {
        walk_time_index,
        instr_only: false,
    };
    let mut inner = Sql::new("SELECT e.seq FROM events e");
    sql::push_where(&mut inner, d, query, Scope::Page);
    inner
        .push(" ORDER BY e.ts DESC, e.id DESC LIMIT ")
        .arg(d, Arg::Int(i64::from(page_size) + 1));
    fetch_rows(reader, inner, "e.ts DESC, e.id DESC", body).await
}

/// Newest rows (after the other filters and the cursor) a common free text is first looked
/// for in. Common text (an actor's name, a workload) matches often, so a page is usually found
/// among the newest few thousand rows.
const RECENT_WINDOW: i64 = 10_000;

/// A page of common free text found by checking the newest [`RECENT_WINDOW`] filtered rows
/// one by one (`instr` on the short text, plus the raw-word index), or None when they hold
/// less than a page. Walking the timestamp index with the trigram candidate list instead
/// first builds the whole list, which for common text is most of the table (measured at 2M
/// events: 150-300 ms for an actor-name substring, against a few ms for this window). The
/// answer is the same either way: the window is the newest rows in page order, so a full
/// page found in it is the page.
async fn search_recent_window(
    reader: &SqlitePool,
    query: &EventQuery,
    page_size: u32,
    body: Body,
) -> StoreResult<Option<Vec<SqliteRow>>> {
    let Some(text) = query.search.as_deref().and_then(FreeText::parse) else {
        return Ok(None);
    };
    let d = &SqliteDialect {
        walk_time_index: true,
        instr_only: true,
    };
    let unfiltered = EventQuery {
        search: None,
        ..query.clone()
    };
    let mut sql =
        Sql::new("SELECT e.seq FROM (SELECT e.seq, e.ts, e.id, e.search_short FROM events e");
    sql::push_where(&mut sql, d, &unfiltered, Scope::Page);
    sql.push(" ORDER BY e.ts DESC, e.id DESC LIMIT ")
        .arg(d, Arg::Int(RECENT_WINDOW))
        .push(") e WHERE ");
    d.free_text(&mut sql, &text);
    sql.push(" ORDER BY e.ts DESC, e.id DESC LIMIT ")
        .arg(d, Arg::Int(i64::from(page_size) + 1));
    let rows = fetch_rows(reader, sql, "e.ts DESC, e.id DESC", body).await?;
    let full = u32::try_from(rows.len()).unwrap_or(u32::MAX) > page_size;
    Ok(full.then_some(rows))
}

pub(super) async fn scan(
    reader: &SqlitePool,
    after: Option<&(DateTime<Utc>, String)>,
    limit: u32,
) -> StoreResult<Vec<Event>> {
    let d = &DIALECT;
    let mut inner = Sql::new("SELECT e.seq FROM events e");
    if let Some((ts, id)) = after {
        inner
            .push(" WHERE (e.ts, e.id) > (")
            .arg(d, Arg::Time(*ts))
            .push(", ")
            .arg(d, Arg::Text(id.clone()))
            .push(")");
    }
    inner
        .push(" ORDER BY e.ts, e.id LIMIT ")
        .arg(d, Arg::Int(i64::from(limit)));
    fetch_page(reader, inner, "e.ts, e.id").await
}

pub(super) async fn count(reader: &SqlitePool) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(reader)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn count_matching(reader: &SqlitePool, query: &EventQuery) -> StoreResult<u64> {
    let mut sql = Sql::new("SELECT count(*) FROM events e");
    sql::push_where(&mut sql, &DIALECT, query, Scope::All);
    let row = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
        .fetch_one(reader)
        .await?;
    Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
}

pub(super) async fn histogram(
    reader: &SqlitePool,
    query: &EventQuery,
    bucket_seconds: i64,
) -> StoreResult<Vec<(DateTime<Utc>, u64)>> {
    let b = sql::bucket_micros(bucket_seconds);
    // Floor division, so buckets before 1970 align to the epoch too. `b` is an integer we
    // computed, never user text.
    let mut sql = Sql::new(&format!(
        "SELECT e.ts - (((e.ts % {b}) + {b}) % {b}) AS bucket, count(*) FROM events e"
    ));
    sql::push_where(&mut sql, &DIALECT, query, Scope::All);
    sql.push(" GROUP BY bucket ORDER BY bucket");
    let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
        .fetch_all(reader)
        .await?;
    crate::histogram_rows(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))))
}

pub(super) async fn filter_options(
    reader: &SqlitePool,
    query: &EventQuery,
    limit: u32,
) -> StoreResult<FilterOptions> {
    Ok(FilterOptions {
        services: distinct(reader, "service", query, limit).await?,
        operations: distinct(reader, "operation", query, limit).await?,
        results: sql::outcome_options(distinct(reader, "result", query, limit).await?),
        actors: distinct(reader, "actor_display", query, limit).await?,
    })
}

/// Sorted distinct values of a column by a loose index scan: each step seeks the next larger
/// value through the column's index instead of reading every row.
async fn distinct(
    reader: &SqlitePool,
    column: &str,
    query: &EventQuery,
    limit: u32,
) -> StoreResult<Vec<String>> {
    let d = &DIALECT;
    let mut sql = Sql::new(&format!(
        "WITH RECURSIVE v(x) AS (SELECT (SELECT min(e.{column}) FROM events e"
    ));
    sql::push_where(&mut sql, d, query, Scope::HiddenOnly);
    sql.push(&format!(
        ") UNION ALL SELECT (SELECT min(e.{column}) FROM events e"
    ));
    let more = sql::push_where(&mut sql, d, query, Scope::HiddenOnly);
    sql.push(if more { " AND " } else { " WHERE " });
    // The LIMIT inside the CTE stops the recursion itself.
    sql.push(&format!(
        "e.{column} > v.x) FROM v WHERE v.x IS NOT NULL LIMIT "
    ))
    .arg(d, Arg::Int(i64::from(limit) + 1))
    .push(") SELECT x FROM v WHERE x IS NOT NULL LIMIT ")
    .arg(d, Arg::Int(i64::from(limit)));
    let rows = bind_all(sqlx::query(AssertSqlSafe(sql.text)), sql.args)
        .fetch_all(reader)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?)
}
