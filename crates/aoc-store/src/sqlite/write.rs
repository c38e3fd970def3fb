//! Writes. All go through the single writer connection in `BEGIN IMMEDIATE` transactions.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, SqliteConnection, SqlitePool};

use aoc_domain::{Comment, Event};

use super::body;
use super::query::get_on;
use crate::codec::{self, Encoded, micros};
use crate::{InsertOutcome, StoreError, StoreResult};

/// Rows per multi-row statement. Statements are built for powers of two up to this, so a
/// handful of distinct statements cover every batch size and stay in the statement cache.
const MAX_ROWS_PER_STATEMENT: usize = 256;
/// Ids per `json_each` list in one delete statement.
const DELETE_CHUNK: usize = 1000;
/// Rows deleted per transaction by `delete_before`, so retention never holds the writer long.
const RETENTION_CHUNK: i64 = 5000;
const BEGIN: &str = "BEGIN IMMEDIATE";

/// The largest power of two not above `remaining` (capped at [`MAX_ROWS_PER_STATEMENT`]).
fn chunk_len(remaining: usize) -> usize {
    let capped = remaining.min(MAX_ROWS_PER_STATEMENT);
    if capped == 0 {
        return 0;
    }
    1 << capped.ilog2()
}

/// `{head} VALUES (?, ...), ... {tail}` for `rows` rows of `params` parameters.
fn values_sql(head: &str, params: usize, rows: usize, tail: &str) -> String {
    let one = format!("({})", vec!["?"; params].join(", "));
    format!(
        "{head} VALUES {}{tail}",
        vec![one.as_str(); rows].join(", ")
    )
}

pub(super) async fn insert_batch(
    writer: &SqlitePool,
    events: &[Event],
) -> StoreResult<InsertOutcome> {
    if events.is_empty() {
        return Ok(InsertOutcome::default());
    }
    // Encoding and compression happen before the writer is taken, so with two batches in
    // flight one is prepared while the other is written. A duplicate's body is packed for
    // nothing, which costs less than a second pass would.
    let encoded: Vec<Prepared<'_>> = events.iter().map(Prepared::new).collect::<Result<_, _>>()?;
    let mut tx = writer.begin_with(BEGIN).await?;
    // Rows get their seq from us (above any stored one: this is the only writer), so the
    // seqs the insert returns say which events were new. Above any deleted one too: a seq
    // used twice could land behind a consumer's cursor (see sqlite/sequence.rs).
    let base: i64 = sqlx::query_scalar(
        "SELECT max(coalesce((SELECT max(seq) FROM events), 0), \
         coalesce((SELECT highest_deleted FROM event_sequence WHERE id = 1), 0)) + 1",
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut inserted: Vec<(i64, &Prepared<'_>)> = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_slice();
    let mut next_seq = base;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
        let sql = values_sql(
            "INSERT INTO events (seq, id, dedupe_key, source, ts, service, operation, result, \
             result_detail, actor_display, target_displays, display_summary, tags, comments, \
             search_short)",
            15,
            chunk.len(),
            " ON CONFLICT DO NOTHING RETURNING seq",
        );
        let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
        for (row, seq) in chunk.iter().zip(next_seq..) {
            let row = &row.encoded;
            let e = row.event;
            q = q
                .bind(seq)
                .bind(e.id.as_str())
                .bind(e.dedupe_key.as_str())
                .bind(e.source.as_str())
                .bind(row.ts_us)
                .bind(e.service.as_str())
                .bind(e.operation.as_str())
                .bind(e.result.as_str())
                .bind(e.result_detail.as_str())
                .bind(e.actor_display.as_str())
                .bind(row.target_displays.as_str())
                .bind(e.display_summary.as_str())
                .bind(row.tags.as_str())
                .bind(row.comments.as_str())
                .bind(row.search_short.as_str());
        }
        for seq in q.fetch_all(&mut *tx).await? {
            let row = usize::try_from(seq - base)
                .ok()
                .and_then(|i| encoded.get(i))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("insert returned unexpected seq {seq}"))
                })?;
            inserted.push((seq, row));
        }
        next_seq += i64::try_from(chunk.len()).unwrap_or(0);
        rest = tail;
    }
    insert_bodies(&mut tx, &inserted).await?;
    tx.commit().await?;
    let new = u64::try_from(inserted.len()).unwrap_or(u64::MAX);
    let total = u64::try_from(events.len()).unwrap_or(u64::MAX);
    Ok(InsertOutcome {
        new,
        duplicates: total.saturating_sub(new),
    })
}

/// An event encoded for its row, with its compressed body.
struct Prepared<'a> {
    encoded: Encoded<'a>,
    body: Vec<u8>,
}

impl<'a> Prepared<'a> {
    fn new(event: &'a Event) -> StoreResult<Self> {
        let encoded = Encoded::new(event)?;
        let body = body::pack(&encoded.actor, &encoded.targets, &encoded.raw)?;
        Ok(Self { encoded, body })
    }
}

/// Write the bodies and raw words of rows just inserted into `events`.
async fn insert_bodies(
    tx: &mut SqliteConnection,
    rows: &[(i64, &Prepared<'_>)],
) -> StoreResult<()> {
    let mut rest = rows;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
        let sql = values_sql("INSERT INTO event_bodies (seq, body)", 2, chunk.len(), "");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (seq, row) in chunk {
            q = q.bind(*seq).bind(row.body.as_slice());
        }
        q.execute(&mut *tx).await?;
        let sql = values_sql(
            "INSERT INTO events_raw_fts (rowid, words)",
            2,
            chunk.len(),
            "",
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (seq, row) in chunk {
            q = q.bind(*seq).bind(row.encoded.raw_words.as_str());
        }
        q.execute(&mut *tx).await?;
        rest = tail;
    }
    Ok(())
}

pub(super) async fn update_events(writer: &SqlitePool, events: &[Event]) -> StoreResult<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let prepared: Vec<Prepared<'_>> = events.iter().map(Prepared::new).collect::<Result<_, _>>()?;
    let mut tx = writer.begin_with(BEGIN).await?;
    let mut changed = 0u64;
    for prepared in &prepared {
        let row = &prepared.encoded;
        let e = row.event;
        // A new dedupe key that another event already holds would violate uniqueness: such
        // an event is left as it is (the caller deletes the duplicate first).
        let seq: Option<i64> = sqlx::query_scalar(
            "UPDATE events SET dedupe_key = ?1, source = ?2, ts = ?3, service = ?4, \
             operation = ?5, result = ?6, actor_display = ?7, target_displays = ?8, \
             display_summary = ?9, search_short = ?10, result_detail = ?12 \
             WHERE id = ?11 AND NOT EXISTS \
             (SELECT 1 FROM events o WHERE o.dedupe_key = ?1 AND o.id <> ?11) \
             RETURNING seq",
        )
        .bind(e.dedupe_key.as_str())
        .bind(e.source.as_str())
        .bind(row.ts_us)
        .bind(e.service.as_str())
        .bind(e.operation.as_str())
        .bind(e.result.as_str())
        .bind(e.actor_display.as_str())
        .bind(row.target_displays.as_str())
        .bind(e.display_summary.as_str())
        .bind(row.search_short.as_str())
        .bind(e.id.as_str())
        .bind(e.result_detail.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else { continue };
        sqlx::query("DELETE FROM event_bodies WHERE seq = ?")
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM events_raw_fts WHERE rowid = ?")
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        insert_bodies(&mut tx, &[(seq, prepared)]).await?;
        changed += 1;
    }
    tx.commit().await?;
    Ok(changed)
}

pub(super) async fn set_tags(
    writer: &SqlitePool,
    id: &str,
    tags: &[String],
) -> StoreResult<Option<Event>> {
    let tags = codec::to_json(tags)?;
    let mut tx = writer.begin_with(BEGIN).await?;
    let updated = sqlx::query("UPDATE events SET tags = ? WHERE id = ?")
        .bind(tags)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let event = if updated == 0 {
        None
    } else {
        get_on(&mut *tx, id).await?
    };
    tx.commit().await?;
    Ok(event)
}

pub(super) async fn add_comment(
    writer: &SqlitePool,
    id: &str,
    comment: &Comment,
) -> StoreResult<Option<Event>> {
    let comment = codec::to_json(comment)?;
    let mut tx = writer.begin_with(BEGIN).await?;
    // Appending inside one UPDATE keeps concurrent comments from overwriting each other.
    let updated = sqlx::query(
        "UPDATE events SET comments = json_insert(comments, '$[#]', json(?)) WHERE id = ?",
    )
    .bind(comment)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let event = if updated == 0 {
        None
    } else {
        get_on(&mut *tx, id).await?
    };
    tx.commit().await?;
    Ok(event)
}

pub(super) async fn delete_ids(writer: &SqlitePool, ids: &[String]) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = writer.begin_with(BEGIN).await?;
    let mut deleted = 0;
    for chunk in ids.chunks(DELETE_CHUNK) {
        deleted += sqlx::query("DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))")
            .bind(codec::to_json(chunk)?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(deleted)
}

pub(super) async fn delete_before(writer: &SqlitePool, cutoff: DateTime<Utc>) -> StoreResult<u64> {
    let cutoff = micros(cutoff);
    let mut deleted = 0;
    loop {
        let mut tx = writer.begin_with(BEGIN).await?;
        let n = sqlx::query(
            "DELETE FROM events WHERE seq IN \
             (SELECT seq FROM events WHERE ts < ? ORDER BY ts LIMIT ?)",
        )
        .bind(cutoff)
        .bind(RETENTION_CHUNK)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        deleted += n;
        if n < u64::try_from(RETENTION_CHUNK).unwrap_or(0) {
            return Ok(deleted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two() {
        assert_eq!(chunk_len(1000), 256);
        assert_eq!(chunk_len(255), 128);
        assert_eq!(chunk_len(3), 2);
        assert_eq!(chunk_len(1), 1);
    }

    #[test]
    fn values_lists_rows() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b)", 2, 2, " RETURNING a"),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) RETURNING a"
        );
    }
}
