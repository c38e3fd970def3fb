//! The activity log on SQLite (table `activity`, migration 0002).

use sqlx::{Row, SqlitePool};

use super::corrupt_time;
use crate::activity::{Activity, NewActivity};
use crate::codec::{from_micros, micros};
use crate::{StoreError, StoreResult};

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
    let rows = sqlx::query(
        "SELECT id, at_us, actor, subject, action, target, detail FROM activity \
         WHERE id < ? ORDER BY id DESC LIMIT ?",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await?;
    rows.iter()
        .map(|r| {
            let us: i64 = r.try_get(1)?;
            let detail: String = r.try_get(6)?;
            Ok(Activity {
                id: r.try_get(0)?,
                at: from_micros(us).ok_or_else(|| corrupt_time("activity", us))?,
                actor: r.try_get(2)?,
                subject: r.try_get(3)?,
                action: r.try_get(4)?,
                target: r.try_get(5)?,
                detail: serde_json::from_str(&detail)
                    .map_err(|e| StoreError::Corrupt(format!("activity detail: {e}")))?,
            })
        })
        .collect()
}
