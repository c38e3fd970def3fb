//! Watermarks, source health and the directory name cache.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPool;

use super::encode::{pg_text, time_text};
use super::micros_of;
use crate::{CachedName, SourceHealth, StoreResult, rows};

pub(super) async fn get_watermark(
    pool: &PgPool,
    source: &str,
) -> StoreResult<Option<DateTime<Utc>>> {
    let sql = format!(
        "SELECT {} FROM watermarks WHERE source = $1",
        micros_of("at")
    );
    let at: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(pg_text(source))
        .fetch_optional(pool)
        .await?;
    at.map(|us| rows::time("watermark", us)).transpose()
}

pub(super) async fn set_watermark(
    pool: &PgPool,
    source: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO watermarks (source, at) VALUES ($1, $2::timestamptz) \
         ON CONFLICT (source) DO UPDATE SET at = excluded.at",
    )
    .bind(pg_text(source))
    .bind(time_text(at))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn source_health(pool: &PgPool) -> StoreResult<Vec<SourceHealth>> {
    let sql = format!(
        "SELECT source, {} AS last_attempt_us, {} AS last_success_us, last_error, last_count \
         FROM source_health ORDER BY source",
        micros_of("last_attempt"),
        micros_of("last_success")
    );
    let found = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await?;
    found.iter().map(rows::source_health).collect()
}

pub(super) async fn put_source_health(pool: &PgPool, health: &SourceHealth) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO source_health (source, last_attempt, last_success, last_error, \
         last_count) VALUES ($1, $2::timestamptz, $3::timestamptz, $4, $5) \
         ON CONFLICT (source) DO UPDATE SET last_attempt = excluded.last_attempt, \
         last_success = excluded.last_success, last_error = excluded.last_error, \
         last_count = excluded.last_count",
    )
    .bind(pg_text(&health.source))
    .bind(health.last_attempt.map(time_text))
    .bind(health.last_success.map(time_text))
    .bind(health.last_error.as_deref().map(pg_text))
    .bind(i64::try_from(health.last_count).unwrap_or(i64::MAX))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn cached_names(
    pool: &PgPool,
    ids: &[String],
    now: DateTime<Utc>,
) -> StoreResult<Vec<CachedName>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = ids.iter().map(|s| pg_text(s)).collect();
    let sql = format!(
        "SELECT object_id, display_name, {} AS expires_at_us FROM name_cache \
         WHERE object_id = ANY($1::text[]) AND expires_at > $2::timestamptz \
         ORDER BY object_id",
        micros_of("expires_at")
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(ids)
        .bind(time_text(now))
        .fetch_all(pool)
        .await?;
    found.iter().map(rows::cached_name).collect()
}

pub(super) async fn put_cached_names(pool: &PgPool, names: &[CachedName]) -> StoreResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    for n in names {
        sqlx::query(
            "INSERT INTO name_cache (object_id, display_name, expires_at) \
             VALUES ($1, $2, $3::timestamptz) ON CONFLICT (object_id) DO UPDATE SET \
             display_name = excluded.display_name, expires_at = excluded.expires_at",
        )
        .bind(pg_text(&n.object_id))
        .bind(pg_text(&n.display_name))
        .bind(time_text(n.expires_at))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
