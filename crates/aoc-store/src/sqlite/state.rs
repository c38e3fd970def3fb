//! Watermarks, source health and the directory name cache.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::codec::{self, micros};
use crate::{CachedName, SourceHealth, StoreResult, rows};

/// Object ids per `json_each` list.
const IDS_PER_QUERY: usize = 1000;

pub(super) async fn get_watermark(
    reader: &SqlitePool,
    source: &str,
) -> StoreResult<Option<DateTime<Utc>>> {
    let at: Option<i64> = sqlx::query_scalar("SELECT at_us FROM watermarks WHERE source = ?")
        .bind(source)
        .fetch_optional(reader)
        .await?;
    at.map(|us| rows::time("watermark", us)).transpose()
}

pub(super) async fn set_watermark(
    writer: &SqlitePool,
    source: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO watermarks (source, at_us) VALUES (?, ?) \
         ON CONFLICT (source) DO UPDATE SET at_us = excluded.at_us",
    )
    .bind(source)
    .bind(micros(at))
    .execute(writer)
    .await?;
    Ok(())
}

pub(super) async fn source_health(reader: &SqlitePool) -> StoreResult<Vec<SourceHealth>> {
    let found = sqlx::query(
        "SELECT source, last_attempt_us, last_success_us, last_error, last_count \
         FROM source_health ORDER BY source",
    )
    .fetch_all(reader)
    .await?;
    found.iter().map(rows::source_health).collect()
}

pub(super) async fn put_source_health(
    writer: &SqlitePool,
    health: &SourceHealth,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO source_health \
         (source, last_attempt_us, last_success_us, last_error, last_count) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET \
         last_attempt_us = excluded.last_attempt_us, \
         last_success_us = excluded.last_success_us, \
         last_error = excluded.last_error, last_count = excluded.last_count",
    )
    .bind(&health.source)
    .bind(health.last_attempt.map(micros))
    .bind(health.last_success.map(micros))
    .bind(&health.last_error)
    .bind(i64::try_from(health.last_count).unwrap_or(i64::MAX))
    .execute(writer)
    .await?;
    Ok(())
}

pub(super) async fn cached_names(
    reader: &SqlitePool,
    ids: &[String],
    now: DateTime<Utc>,
) -> StoreResult<Vec<CachedName>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let found = sqlx::query(
            "SELECT object_id, display_name, expires_at_us FROM name_cache \
             WHERE object_id IN (SELECT value FROM json_each(?)) AND expires_at_us > ? \
             ORDER BY object_id",
        )
        .bind(codec::to_json(chunk)?)
        .bind(micros(now))
        .fetch_all(reader)
        .await?;
        for r in &found {
            out.push(rows::cached_name(r)?);
        }
    }
    Ok(out)
}

pub(super) async fn put_cached_names(writer: &SqlitePool, names: &[CachedName]) -> StoreResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    for n in names {
        sqlx::query(
            "INSERT INTO name_cache (object_id, display_name, expires_at_us) VALUES (?, ?, ?) \
             ON CONFLICT (object_id) DO UPDATE SET display_name = excluded.display_name, \
             expires_at_us = excluded.expires_at_us",
        )
        .bind(&n.object_id)
        .bind(&n.display_name)
        .bind(micros(n.expires_at))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
