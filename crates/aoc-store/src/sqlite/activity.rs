//! The activity log on SQLite (table `activity`, migration 0002).

use sqlx::SqlitePool;

use crate::activity::{Activity, NewActivity};
use crate::codec::micros;
use crate::{StoreError, StoreResult, rows};

pub(super) async fn append(writer: &SqlitePool, entry: &NewActivity) -> StoreResult<i64> {
    let detail = serde_json::to_string(&entry.detail)
        .map_err(|e| StoreError::Corrupt(format!("activity detail: {e}")))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO activity (at_us, actor, subject, action, target, detail) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(micros(entry.at))
    .bind(&entry.actor)
    .bind(&entry.subject)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(detail)
    .fetch_one(writer)
    .await?;
    Ok(id)
}

pub(super) async fn list(
    reader: &SqlitePool,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<Activity>> {
    let found = sqlx::query(
        "SELECT id, at_us, actor, subject, action, target, detail FROM activity \
         WHERE id < ? ORDER BY id DESC LIMIT ?",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await?;
    found.iter().map(rows::activity).collect()
}
