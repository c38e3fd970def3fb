//! Writes: bulk inserts and updates through `UNNEST` arrays, tags, comments, deletes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, PgConnection};

use aoc_domain::{Comment, Event};

use super::encode::{Columns, PgEncoded, encode_all, pg_json, pg_text, time_text};
use super::query::decode;
use crate::codec;
use crate::{InsertOutcome, StoreResult};

/// Events per bulk statement.
const BULK_ROWS: usize = 1000;
/// Rows deleted per transaction by `delete_before`.
const RETENTION_CHUNK: i64 = 10_000;
/// PostgreSQL's unique_violation.
const UNIQUE_VIOLATION: &str = "23505";

pub(super) async fn insert_batch(pool: &PgPool, events: &[Event]) -> StoreResult<InsertOutcome> {
    if events.is_empty() {
        return Ok(InsertOutcome::default());
    }
    let encoded = encode_all(events)?;
    // A batch is safe to run again: its rows dedupe on their keys. So a lost connection, a
    // restart or a failover is waited out, and so is a deadlock (two batches in flight that
    // hold the same re-delivered records in a different order can each wait for the other's
    // uncommitted row; PostgreSQL aborts one, and nothing of it was stored).
    crate::retry::idempotent("the insert batch", || insert_encoded(pool, &encoded)).await
}

/// One attempt at storing a batch, in one transaction.
async fn insert_encoded(pool: &PgPool, encoded: &[PgEncoded<'_>]) -> StoreResult<InsertOutcome> {
    let mut tx = pool.begin().await?;
    let mut new = 0u64;
    for chunk in encoded.chunks(BULK_ROWS) {
        let cols = Columns::new(chunk.iter());
        // WITH ORDINALITY + ORDER BY: within a batch the first of two duplicates wins.
        new += sqlx::query(
            "INSERT INTO events (id, dedupe_key, source, ts, service, operation, result, \
             actor_display, actor, target_displays, targets, display_summary, raw, tags, \
             comments, search_short, raw_words, result_detail) \
             SELECT u.id, u.dedupe_key, u.source, u.ts::timestamptz, u.service, \
             u.operation, u.result, u.actor_display, u.actor::jsonb, \
             u.target_displays::jsonb, u.targets::jsonb, u.display_summary, u.raw::jsonb, \
             u.tags::jsonb, u.comments::jsonb, u.search_short, \
             u.raw_words, u.result_detail \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
               $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
               $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], \
               $17::tsvector[], $18::text[]) WITH ORDINALITY \
             AS u(id, dedupe_key, source, ts, service, operation, result, actor_display, \
               actor, target_displays, targets, display_summary, raw, tags, comments, \
               search_short, raw_words, result_detail, ord) \
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
        .bind(cols.result_detail)
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

pub(super) async fn update_events(pool: &PgPool, events: &[Event]) -> StoreResult<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let encoded = encode_all(events)?;
    let rows = sequential_updates(&encoded);
    let mut tx = pool.begin().await?;
    let mut changed = 0u64;
    for chunk in rows.chunks(BULK_ROWS) {
        match update_chunk(&mut tx, chunk).await {
            Ok(n) => changed += n,
            // Two events swapping dedupe keys trip the unique index inside one statement;
            // updating one by one skips the clash instead.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(UNIQUE_VIOLATION) => {
                drop(tx);
                return update_one_by_one(pool, &rows).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(changed)
}

async fn update_chunk(tx: &mut PgConnection, rows: &[&PgEncoded<'_>]) -> Result<u64, sqlx::Error> {
    let cols = Columns::new(rows.iter().copied());
    let done = sqlx::query(
        "UPDATE events e SET dedupe_key = u.dedupe_key, source = u.source, \
         ts = u.ts::timestamptz, service = u.service, operation = u.operation, \
         result = u.result, actor_display = u.actor_display, actor = u.actor::jsonb, \
         target_displays = u.target_displays::jsonb, targets = u.targets::jsonb, \
         display_summary = u.display_summary, raw = u.raw::jsonb, \
         search_short = u.search_short, raw_words = u.raw_words, \
         result_detail = u.result_detail \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
           $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
           $12::text[], $13::text[], $14::text[], $15::tsvector[], $16::text[]) \
         AS u(id, dedupe_key, source, ts, service, operation, result, actor_display, \
           actor, target_displays, targets, display_summary, raw, search_short, raw_words, \
           result_detail) \
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
    .bind(cols.result_detail)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}

async fn update_one_by_one(pool: &PgPool, rows: &[&PgEncoded<'_>]) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    let mut changed = 0;
    for row in rows {
        changed += update_chunk(&mut tx, &[*row]).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// The updates a sequence of single-row updates would apply: for one id the last wins; a
/// later event taking a dedupe key an earlier one in the batch took is skipped.
fn sequential_updates<'b, 'a>(rows: &'b [PgEncoded<'a>]) -> Vec<&'b PgEncoded<'a>> {
    let mut last_for_id = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        last_for_id.insert(r.event.id.as_str(), i);
    }
    let mut key_owner = HashMap::new();
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

/// `columns` is the event column list (see `query::event_columns`) the updated row is
/// returned with.
pub(super) async fn set_tags(
    pool: &PgPool,
    columns: &str,
    id: &str,
    tags: &[String],
) -> StoreResult<Option<Event>> {
    let tags: Vec<String> = tags.iter().map(|t| pg_text(t)).collect();
    let sql = format!("UPDATE events e SET tags = $1::jsonb WHERE e.id = $2 RETURNING {columns}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(codec::to_json(&tags)?)
        .bind(pg_text(id))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn add_comment(
    pool: &PgPool,
    columns: &str,
    id: &str,
    comment: &Comment,
) -> StoreResult<Option<Event>> {
    let json = codec::to_json(comment)?;
    let json = pg_json(&json, &serde_json::to_value(comment).unwrap_or(Value::Null))?;
    // One UPDATE appends under the row lock, so concurrent comments all land.
    let sql = format!(
        "UPDATE events e SET comments = e.comments || jsonb_build_array($1::jsonb) \
         WHERE e.id = $2 RETURNING {columns}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(json)
        .bind(pg_text(id))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn delete_ids(pool: &PgPool, ids: &[String]) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
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

pub(super) async fn delete_before(pool: &PgPool, cutoff: DateTime<Utc>) -> StoreResult<u64> {
    let cutoff = time_text(cutoff);
    let mut deleted = 0;
    loop {
        let n = sqlx::query(
            "DELETE FROM events WHERE id IN \
             (SELECT id FROM events WHERE ts < $1::timestamptz ORDER BY ts LIMIT $2)",
        )
        .bind(&cutoff)
        .bind(RETENTION_CHUNK)
        .execute(pool)
        .await?
        .rows_affected();
        deleted += n;
        if n < u64::try_from(RETENTION_CHUNK).unwrap_or(0) {
            return Ok(deleted);
        }
    }
}
