//! Values as PostgreSQL takes them: text without NUL, JSON that JSONB accepts, timestamps as
//! RFC 3339 text, and a batch as one array per column for `UNNEST`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use aoc_domain::Event;

use crate::StoreResult;
use crate::codec::{self, Encoded};
use crate::text;

pub(super) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// PostgreSQL text cannot hold NUL; a record carrying one must still be stored, so NUL
/// becomes U+FFFD.
pub(super) fn pg_text(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_owned()
    }
}

/// JSON for a JSONB column: JSONB rejects `\u0000` too.
pub(super) fn pg_json(json: &str, value: &Value) -> StoreResult<String> {
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

/// Encoded events with their JSON made safe for JSONB.
pub(super) struct PgEncoded<'a> {
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

pub(super) fn encode_all(events: &[Event]) -> StoreResult<Vec<PgEncoded<'_>>> {
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

/// A batch as one array per column, for `UNNEST`.
#[derive(Default)]
pub(super) struct Columns {
    pub id: Vec<String>,
    pub dedupe_key: Vec<String>,
    pub source: Vec<String>,
    pub ts: Vec<String>,
    pub service: Vec<String>,
    pub operation: Vec<String>,
    pub result: Vec<String>,
    pub result_detail: Vec<String>,
    pub actor_display: Vec<String>,
    pub actor: Vec<String>,
    pub target_displays: Vec<String>,
    pub targets: Vec<String>,
    pub display_summary: Vec<String>,
    pub raw: Vec<String>,
    pub tags: Vec<String>,
    pub comments: Vec<String>,
    pub search_short: Vec<String>,
    pub raw_words: Vec<String>,
}

impl Columns {
    pub(super) fn new<'a, 'e: 'a>(rows: impl Iterator<Item = &'a PgEncoded<'e>>) -> Self {
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
            c.result_detail.push(pg_text(&e.result_detail));
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
