//! Values as PostgreSQL takes them: text without NUL, JSON that JSONB accepts, timestamps as
//! RFC 3339 text, raw words as a binary `tsvector`, and a batch as one array per column for
//! `UNNEST`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::Postgres;
use sqlx::encode::{Encode, IsNull};
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo};

use aoc_domain::Event;

use crate::StoreResult;
use crate::codec::{self, Encoded};

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
    pub raw_words: Vec<TsVector>,
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
            c.raw_words.push(TsVector::of_words(&row.raw_words));
        }
        c
    }
}

/// `tsvector`'s built-in type ids (stable across servers, unlike an extension's).
const TSVECTOR_OID: u32 = 3614;
const TSVECTOR_ARRAY_OID: u32 = 3643;
/// PostgreSQL keeps at most this many positions per lexeme (`MAXNUMPOS`), the lowest ones.
const MAX_POSITIONS: usize = 256;
/// The highest position a tsvector holds (`MAXENTRYPOS - 1`); higher ones are clamped to it.
const MAX_POSITION: usize = 16_383;

/// Space-separated words as a `tsvector` in PostgreSQL's binary form (what `tsvectorrecv`
/// reads): lexemes sorted bytewise, each once, with its 1-based word positions ascending. The
/// text literal (`'w':1 'x':2 'w':3`, one entry per word) made the server tokenize, sort and
/// merge every row's words: ~30% of its time per bulk-loaded row. The value is the one that
/// literal parses to (positions clamped, deduplicated and cut at 256 per lexeme the same way),
/// so search sees the same words; a test compares the two on a real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TsVector(Vec<u8>);

impl TsVector {
    pub(super) fn of_words(words: &str) -> Self {
        let mut entries: Vec<(&[u8], u16)> = words
            .split(' ')
            .filter(|w| !w.is_empty())
            .enumerate()
            .map(|(i, w)| {
                let position = (i + 1).min(MAX_POSITION);
                (w.as_bytes(), u16::try_from(position).unwrap_or(u16::MAX))
            })
            .collect();
        // PostgreSQL orders lexemes by memcmp, a shorter prefix first: byte-slice order.
        entries.sort_unstable();
        entries.dedup();
        let mut lexemes = 0u32;
        let mut out = Vec::with_capacity(4 + words.len() + 5 * entries.len());
        out.extend_from_slice(&[0; 4]);
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            let Some((lexeme, _)) = group.first() else {
                continue;
            };
            let positions = &group[..group.len().min(MAX_POSITIONS)];
            out.extend_from_slice(lexeme);
            out.push(0);
            let count = u16::try_from(positions.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&count.to_be_bytes());
            for (_, position) in positions {
                out.extend_from_slice(&position.to_be_bytes());
            }
            lexemes += 1;
        }
        out[..4].copy_from_slice(&lexemes.to_be_bytes());
        TsVector(out)
    }
}

impl sqlx::Type<Postgres> for TsVector {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(TSVECTOR_OID))
    }
}

impl PgHasArrayType for TsVector {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(TSVECTOR_ARRAY_OID))
    }
}

impl Encode<'_, Postgres> for TsVector {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Word lists whose tsvector is easy to get wrong: repeats, prefixes, non-ASCII bytes,
    /// more than 256 positions of one word, more words than positions.
    fn tricky() -> Vec<String> {
        let many: Vec<String> = (0..300).map(|i| format!("w{} x", i % 7)).collect();
        let clamped: Vec<String> = (0..16_500).map(|i| format!("t{}", i % 3)).collect();
        vec![
            String::new(),
            "a".into(),
            "b a b ab a".into(),
            "zoë zoe zoë 2026-01-01t00 03 16.8232938z e3b08397-2b31 x@y.example".into(),
            many.join(" "),
            clamped.join(" "),
            "ärger a z ß".into(),
        ]
    }

    #[test]
    fn binary_form_lists_lexemes_once_in_byte_order() {
        let v = TsVector::of_words("b a b");
        // 2 lexemes; "a" at 2; "b" at 1 and 3.
        assert_eq!(
            v.0,
            vec![0, 0, 0, 2, b'a', 0, 0, 1, 0, 2, b'b', 0, 0, 2, 0, 1, 0, 3]
        );
    }

    /// The binary value equals what the server parses from the text literal the store sent
    /// before, so search matches the same rows.
    #[tokio::test]
    async fn binary_tsvector_equals_the_parsed_literal() {
        let Ok(url) = std::env::var("AOC_TEST_POSTGRES_URL") else {
            eprintln!("skipped PostgreSQL: AOC_TEST_POSTGRES_URL is not set");
            return;
        };
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        for words in tricky() {
            let same: bool = sqlx::query_scalar("SELECT $1::text::tsvector = $2")
                .bind(crate::text::tsvector_literal(&words))
                .bind(TsVector::of_words(&words))
                .fetch_one(&pool)
                .await
                .unwrap();
            assert!(same, "{}", words.chars().take(80).collect::<String>());
            let all: Vec<TsVector> = vec![TsVector::of_words(&words), TsVector::of_words("q")];
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM unnest($1::tsvector[])")
                .bind(all)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(n, 2);
        }
    }
}
