//! The event sequence and consumer cursors. A position is an event's `seq`: the one writer
//! numbers each batch above every seq stored or deleted before, inside its `BEGIN IMMEDIATE`
//! transaction, so seq order is commit order and a reader's snapshot always holds every event
//! up to the highest seq it sees. Reading on after a seq therefore never skips an event.

use chrono::Utc;
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::query::{decode, select_events};
use crate::codec::micros;
use crate::recent::{RecentEvents, SequenceRow};
use crate::{SequenceBatch, SequencePosition, StoreError, StoreResult};

fn parse(position: &SequencePosition) -> StoreResult<i64> {
    position
        .as_str()
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| StoreError::InvalidPosition(position.to_string()))
}

fn position(seq: i64) -> SequencePosition {
    SequencePosition::new(seq.to_string())
}

pub(super) async fn events_after(
    reader: &SqlitePool,
    recent: &RecentEvents,
    after: Option<&SequencePosition>,
    limit: u32,
) -> StoreResult<SequenceBatch> {
    let from = after.map(parse).transpose()?.unwrap_or(0);
    if recent.is_enabled()
        && let Some(batch) = from_recent(reader, recent, after, from, limit).await?
    {
        return Ok(batch);
    }
    // The seq rides after the columns `decode` reads.
    let sql = select_events().replacen(" FROM events e", ", e.seq FROM events e", 1)
        + " WHERE e.seq > ? ORDER BY e.seq LIMIT ?";
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(from)
        .bind(i64::from(limit))
        .fetch_all(reader)
        .await?;
    let mut events = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in &rows {
        events.push(decode(row)?);
        last = Some(row.try_get::<i64, _>("seq")?);
    }
    Ok(SequenceBatch {
        events,
        next: last.map(position).or_else(|| after.cloned()),
    })
}

/// The batch after `from` with its events taken from `recent`, when it holds them all: only
/// the rows' small columns are read (no body to inflate and parse).
async fn from_recent(
    reader: &SqlitePool,
    recent: &RecentEvents,
    after: Option<&SequencePosition>,
    from: i64,
    limit: u32,
) -> StoreResult<Option<SequenceBatch>> {
    let rows = sqlx::query(
        "SELECT seq, id, dedupe_key, tags, comments FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(from)
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await?;
    let mut wanted = Vec::with_capacity(rows.len());
    let mut seqs = Vec::with_capacity(rows.len());
    for row in &rows {
        seqs.push(row.try_get::<i64, _>(0)?);
        wanted.push(SequenceRow {
            id: row.try_get(1)?,
            dedupe_key: row.try_get(2)?,
            tags: row.try_get(3)?,
            comments: row.try_get(4)?,
        });
    }
    // `resolve` may serve a prefix of the rows: the position is its last one's.
    Ok(recent.resolve(&wanted)?.map(|events| SequenceBatch {
        next: events
            .len()
            .checked_sub(1)
            .and_then(|i| seqs.get(i))
            .map(|seq| position(*seq))
            .or_else(|| after.cloned()),
        events,
    }))
}

pub(super) async fn events_behind(
    reader: &SqlitePool,
    after: Option<&SequencePosition>,
    cap: u64,
) -> StoreResult<u64> {
    let from = after.map(parse).transpose()?.unwrap_or(0);
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE seq > ? ORDER BY seq LIMIT ?)",
    )
    .bind(from)
    .bind(i64::try_from(cap).unwrap_or(i64::MAX))
    .fetch_one(reader)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn get_cursor(
    reader: &SqlitePool,
    consumer: &str,
) -> StoreResult<Option<SequencePosition>> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM consumer_cursors WHERE consumer = ?")
            .bind(consumer)
            .fetch_optional(reader)
            .await?;
    Ok(seq.map(position))
}

pub(super) async fn set_cursor(
    writer: &SqlitePool,
    consumer: &str,
    to: &SequencePosition,
) -> StoreResult<bool> {
    let seq = parse(to)?;
    // The comparison happens in the upsert, under the write lock: two replicas saving at once
    // leave the further position, whichever commits last.
    let moved = sqlx::query(
        "INSERT INTO consumer_cursors (consumer, seq, updated_at_us) VALUES (?1, ?2, ?3) \
         ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq, \
         updated_at_us = excluded.updated_at_us WHERE consumer_cursors.seq < excluded.seq \
         RETURNING 1",
    )
    .bind(consumer)
    .bind(seq)
    .bind(micros(Utc::now()))
    .fetch_optional(writer)
    .await?;
    Ok(moved.is_some())
}
