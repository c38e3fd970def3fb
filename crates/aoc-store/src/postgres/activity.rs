//! The activity log on PostgreSQL (table `activity`, migration 0002).
//!
//! Ids come from an identity column. Two appends committing out of id order could let a reader
//! page past an id that becomes visible a moment later; for a log of human actions that is an
//! accepted edge, not worth a serializing lock on every write.

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPool;

use super::encode::{pg_text, time_text};
use super::micros_of;
use crate::activity::{Activity, NewActivity};
use crate::{StoreError, StoreResult, rows};

pub(super) async fn append(pool: &PgPool, entry: &NewActivity) -> StoreResult<i64> {
    // Kept as text: serde_json escapes NUL as \u0000, which text holds but JSONB refuses.
    let detail = serde_json::to_string(&entry.detail)
        .map_err(|e| StoreError::Corrupt(format!("activity detail: {e}")))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO activity (at, actor, subject, action, target, detail) \
         VALUES ($1::timestamptz, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(time_text(entry.at))
    .bind(pg_text(&entry.actor))
    .bind(entry.subject.as_deref().map(pg_text))
    .bind(pg_text(&entry.action))
    .bind(entry.target.as_deref().map(pg_text))
    .bind(detail)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

pub(super) async fn list(
    pool: &PgPool,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<Activity>> {
    let sql = format!(
        "SELECT id, {} AS at_us, actor, subject, action, target, detail FROM activity \
         WHERE id < $1 ORDER BY id DESC LIMIT $2",
        micros_of("at")
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    found.iter().map(rows::activity).collect()
}
