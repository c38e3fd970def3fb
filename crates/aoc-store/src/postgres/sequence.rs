//! The event sequence and consumer cursors on PostgreSQL.
//!
//! Why not `seq` alone: sequence values are taken when a row is inserted, not when its
//! transaction commits. With two insert batches in flight (bulk import does that, and so do
//! several `aoc serve` replicas), batch A can take seq 10, batch B seq 11 and commit first; a
//! consumer reading then sees 11, moves its cursor past it, and never sees 10.
//!
//! What is used instead: every row keeps the id of the transaction that inserted it (`xid`,
//! `pg_current_xact_id()`, 64 bits so it never wraps), positions are (xid, seq), and a read
//! returns only rows whose xid is below `pg_snapshot_xmin(pg_current_snapshot())`, the
//! oldest transaction id still running when the reading statement took its snapshot. Why
//! that never skips a row:
//! - every transaction with an xid below xmin has ended: its rows are all visible to the
//!   snapshot (committed) or will never exist (aborted). So the rows a read may return are a
//!   final set, read in full in (xid, seq) order before anything after it;
//! - every row not yet visible belongs to a transaction still running (xid >= xmin, as xmin
//!   is the oldest of them) or not yet started (it will get an xid >= the next xid to be
//!   assigned, which is >= xmin);
//! - a cursor (x, s) is always a returned row's position, so x < xmin of the read that
//!   returned it. Any row that becomes visible later has xid >= that xmin > x, so it sorts
//!   after the cursor and a later read returns it. Rows returned once sort at or before the
//!   cursor, so they never come back.
//!
//! `pg_current_xact_id()` is the top-level transaction's id even inside a savepoint, and
//! `pg_current_snapshot()` is the statement's own snapshot, which is the one the scan uses.
//! `update_events` leaves both columns alone, so renormalized events are not delivered again.
//! The price: a transaction that writes (anywhere on the server: xids are cluster-wide) and
//! stays open holds every later event back until it ends. Delivery is delayed, never lost.

use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Row};

use super::encode::pg_text;
use super::query::decode;
use crate::recent::{RecentEvents, SequenceRow};
use crate::{SequenceBatch, SequencePosition, StoreError, StoreResult};

/// (xid, seq) as `"<xid>/<seq>"`: text, because xid8 has no integer binding here.
fn parse(position: &SequencePosition) -> StoreResult<(String, i64)> {
    let invalid = || StoreError::InvalidPosition(position.to_string());
    let (xid, seq) = position.as_str().split_once('/').ok_or_else(invalid)?;
    let xid = xid.parse::<u64>().map_err(|_| invalid())?;
    let seq = seq.parse::<i64>().map_err(|_| invalid())?;
    Ok((xid.to_string(), seq))
}

fn position(xid: &str, seq: i64) -> SequencePosition {
    SequencePosition::new(format!("{xid}/{seq}"))
}

/// Before every stored row: xid 0 is never assigned (rows stored before the sequence existed
/// have xid 1).
const START: (&str, i64) = ("0", 0);

pub(super) async fn events_after(
    pool: &PgPool,
    columns: &str,
    recent: &RecentEvents,
    after: Option<&SequencePosition>,
    limit: u32,
) -> StoreResult<SequenceBatch> {
    let (xid, seq) = match after {
        Some(p) => parse(p)?,
        None => (START.0.to_owned(), START.1),
    };
    if recent.is_enabled() {
        // The small columns first; the full rows only when memory lacks one of the events.
        // Either read is a complete batch on its own (the xmin bound holds for each).
        let lean =
            "e.id, e.dedupe_key, e.tags::text AS tags_text, e.comments::text AS comments_text";
        let rows = read(pool, lean, &xid, seq, limit).await?;
        let mut wanted = Vec::with_capacity(rows.len());
        let mut positions = Vec::with_capacity(rows.len());
        for row in &rows {
            wanted.push(SequenceRow {
                id: row.try_get("id")?,
                dedupe_key: row.try_get("dedupe_key")?,
                tags: row.try_get("tags_text")?,
                comments: row.try_get("comments_text")?,
            });
            positions.push(position_of(row)?);
        }
        // `resolve` may serve a prefix of the rows: the position is its last one's.
        if let Some(events) = recent.resolve(&wanted)? {
            let mut positions = positions;
            positions.truncate(events.len());
            return Ok(SequenceBatch {
                events,
                next: positions.pop().or_else(|| after.cloned()),
            });
        }
    }
    let rows = read(pool, columns, &xid, seq, limit).await?;
    let mut events = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in &rows {
        events.push(decode(row)?);
        last = Some(position_of(row)?);
    }
    Ok(SequenceBatch {
        events,
        next: last.or_else(|| after.cloned()),
    })
}

fn position_of(row: &sqlx::postgres::PgRow) -> StoreResult<SequencePosition> {
    Ok(position(
        &row.try_get::<String, _>("position_xid")?,
        row.try_get::<i64, _>("position_seq")?,
    ))
}

/// `columns` of the rows after (xid, seq) that no running transaction can still precede.
async fn read(
    pool: &PgPool,
    columns: &str,
    xid: &str,
    seq: i64,
    limit: u32,
) -> StoreResult<Vec<sqlx::postgres::PgRow>> {
    // One statement, so the xmin bound and the rows come from the same snapshot.
    let sql = format!(
        "SELECT {columns}, e.xid::text AS position_xid, e.seq AS position_seq FROM events e \
         WHERE (e.xid, e.seq) > ($1::text::xid8, $2) \
         AND e.xid < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY e.xid, e.seq LIMIT $3"
    );
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(xid)
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?)
}

pub(super) async fn events_behind(
    pool: &PgPool,
    after: Option<&SequencePosition>,
    cap: u64,
) -> StoreResult<u64> {
    let (xid, seq) = match after {
        Some(p) => parse(p)?,
        None => (START.0.to_owned(), START.1),
    };
    // Every visible row counts, held back or not: lag is what the consumer has yet to handle.
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM events \
         WHERE (xid, seq) > ($1::text::xid8, $2) LIMIT $3) behind",
    )
    .bind(xid)
    .bind(seq)
    .bind(i64::try_from(cap).unwrap_or(i64::MAX))
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn get_cursor(
    pool: &PgPool,
    consumer: &str,
) -> StoreResult<Option<SequencePosition>> {
    let row = sqlx::query("SELECT xid::text, seq FROM consumer_cursors WHERE consumer = $1")
        .bind(pg_text(consumer))
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok(position(&row.try_get::<String, _>(0)?, row.try_get(1)?)))
        .transpose()
}

pub(super) async fn set_cursor(
    pool: &PgPool,
    consumer: &str,
    to: &SequencePosition,
) -> StoreResult<bool> {
    let (xid, seq) = parse(to)?;
    // ON CONFLICT DO UPDATE locks the row and checks the WHERE against its latest version, so
    // replicas saving at once leave the furthest position.
    let moved = sqlx::query(
        "INSERT INTO consumer_cursors (consumer, xid, seq, updated_at) \
         VALUES ($1, $2::text::xid8, $3, now()) \
         ON CONFLICT (consumer) DO UPDATE SET xid = excluded.xid, seq = excluded.seq, \
         updated_at = excluded.updated_at \
         WHERE (consumer_cursors.xid, consumer_cursors.seq) < (excluded.xid, excluded.seq) \
         RETURNING 1",
    )
    .bind(pg_text(consumer))
    .bind(xid)
    .bind(seq)
    .fetch_optional(pool)
    .await?;
    Ok(moved.is_some())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn positions_round_trip_and_reject_other_shapes() {
        let p = position("7421", 12);
        assert_eq!(parse(&p).unwrap(), ("7421".to_owned(), 12));
        for bad in ["12", "x/1", "1/x", "-1/2", "1/2/3", ""] {
            assert!(
                matches!(
                    parse(&SequencePosition::new(bad)),
                    Err(StoreError::InvalidPosition(_))
                ),
                "{bad}"
            );
        }
    }
}
