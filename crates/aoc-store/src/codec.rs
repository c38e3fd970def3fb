//! Events to and from the column values both backends store.

use aoc_domain::{Event, Source};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::text;
use crate::{StoreError, StoreResult};

/// The column list every event read selects, in [`StoredRow`] order, except `ts`, which each
/// backend renders as integer microseconds.
pub(crate) const TAIL_COLUMNS: [&str; 14] = [
    "service",
    "operation",
    "result",
    "result_detail",
    "actor_display",
    "actor",
    "target_displays",
    "targets",
    "display_summary",
    "dedupe_key",
    "raw",
    "tags",
    "comments",
    "source",
];

/// One stored event as read back: text columns, JSON as text, the timestamp in microseconds.
#[derive(Debug)]
pub(crate) struct StoredRow {
    pub id: String,
    pub ts_us: i64,
    /// In [`TAIL_COLUMNS`] order.
    pub tail: [String; 14],
}

impl StoredRow {
    /// Read `id, ts, TAIL_COLUMNS...` from a row.
    pub(crate) fn from_row<R>(row: &R) -> Result<Self, sqlx::Error>
    where
        R: sqlx::Row,
        usize: sqlx::ColumnIndex<R>,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        let mut tail: [String; 14] = Default::default();
        for (i, slot) in tail.iter_mut().enumerate() {
            *slot = row.try_get(i + 2)?;
        }
        Ok(Self {
            id: row.try_get(0)?,
            ts_us: row.try_get(1)?,
            tail,
        })
    }

    pub(crate) fn into_event(self) -> StoreResult<Event> {
        let id = self.id;
        let corrupt = |what: &str, detail: String| {
            StoreError::Corrupt(format!("event {id:?}: {what}: {detail}"))
        };
        let [
            service,
            operation,
            result,
            result_detail,
            actor_display,
            actor,
            target_displays,
            targets,
            display_summary,
            dedupe_key,
            raw,
            tags,
            comments,
            source,
        ] = self.tail;
        let timestamp =
            from_micros(self.ts_us).ok_or_else(|| corrupt("timestamp", self.ts_us.to_string()))?;
        let source: Source = source.parse().map_err(|e| corrupt("source", e))?;
        let json = |what: &str, text: &str| -> StoreResult<Value> {
            serde_json::from_str(text).map_err(|e| corrupt(what, e.to_string()))
        };
        let list = |what: &str, text: &str| -> StoreResult<Vec<String>> {
            serde_json::from_str(text).map_err(|e| corrupt(what, e.to_string()))
        };
        let targets = match json("targets", &targets)? {
            Value::Array(items) => items,
            other => return Err(corrupt("targets", format!("not an array: {other}"))),
        };
        Ok(Event {
            source,
            timestamp,
            service,
            operation,
            result,
            result_detail,
            actor_display,
            actor: json("actor", &actor)?,
            target_displays: list("target_displays", &target_displays)?,
            targets,
            display_summary,
            dedupe_key,
            raw: json("raw", &raw)?,
            tags: list("tags", &tags)?,
            comments: serde_json::from_str(&comments)
                .map_err(|e| corrupt("comments", e.to_string()))?,
            id,
        })
    }
}

pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(us)
}

/// The values an insert or update writes, besides the event's own text fields.
#[derive(Debug)]
pub(crate) struct Encoded<'a> {
    pub event: &'a Event,
    pub ts_us: i64,
    pub actor: String,
    pub target_displays: String,
    pub targets: String,
    pub raw: String,
    pub tags: String,
    pub comments: String,
    pub search_short: String,
    /// See [`text::raw_words`].
    pub raw_words: String,
}

impl<'a> Encoded<'a> {
    pub(crate) fn new(event: &'a Event) -> StoreResult<Self> {
        Ok(Self {
            event,
            ts_us: micros(event.timestamp),
            actor: to_json(&event.actor)?,
            target_displays: to_json(&event.target_displays)?,
            targets: to_json(&event.targets)?,
            raw: to_json(&event.raw)?,
            tags: to_json(&event.tags)?,
            comments: to_json(&event.comments)?,
            search_short: text::short_text(event),
            raw_words: text::raw_words(&event.raw),
        })
    }
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}
