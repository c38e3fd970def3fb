//! List rows without the stored body: both backends select [`SUMMARY_COLUMNS`] after
//! `id` and the timestamp in microseconds, and read them back here.

use aoc_domain::{Event, EventSummary, Source};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::codec::from_micros;
use crate::{StoreError, StoreResult};

/// The columns of `events` a summary reads after `id` and `ts`, in [`SummaryRow`] order.
/// None of them lives in the compressed body (SQLite) or the JSONB record columns
/// (PostgreSQL), so a list of summaries never reads or decodes a raw record.
pub(crate) const SUMMARY_COLUMNS: [&str; 11] = [
    "service",
    "operation",
    "result",
    "result_detail",
    "actor_display",
    "target_displays",
    "display_summary",
    "dedupe_key",
    "tags",
    "comments",
    "source",
];

/// Columns holding JSON (PostgreSQL selects them as text).
pub(crate) const SUMMARY_JSON_COLUMNS: [&str; 3] = ["target_displays", "tags", "comments"];

/// One summary row as read: `id, ts, SUMMARY_COLUMNS...`.
pub(crate) fn from_row<R>(row: &R) -> StoreResult<EventSummary>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let text = |i: usize| row.try_get::<String, _>(i);
    let id = text(0)?;
    let ts_us: i64 = row.try_get(1)?;
    let corrupt =
        |what: &str, detail: String| StoreError::Corrupt(format!("event {id:?}: {what}: {detail}"));
    fn json<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
    let timestamp = from_micros(ts_us).ok_or_else(|| corrupt("timestamp", ts_us.to_string()))?;
    let source: Source = text(12)?.parse().map_err(|e| corrupt("source", e))?;
    Ok(EventSummary {
        timestamp,
        source,
        service: text(2)?,
        operation: text(3)?,
        result: text(4)?,
        result_detail: text(5)?,
        actor_display: text(6)?,
        target_displays: json(&text(7)?).map_err(|e| corrupt("target_displays", e))?,
        display_summary: text(8)?,
        dedupe_key: text(9)?,
        tags: json(&text(10)?).map_err(|e| corrupt("tags", e))?,
        comments: json(&text(11)?).map_err(|e| corrupt("comments", e))?,
        id,
    })
}

/// What a page is keyed on: (timestamp, id), newest first.
pub(crate) trait PageKey {
    fn key(&self) -> (DateTime<Utc>, &str);
}

impl PageKey for Event {
    fn key(&self) -> (DateTime<Utc>, &str) {
        (self.timestamp, &self.id)
    }
}

impl PageKey for EventSummary {
    fn key(&self) -> (DateTime<Utc>, &str) {
        (self.timestamp, &self.id)
    }
}
