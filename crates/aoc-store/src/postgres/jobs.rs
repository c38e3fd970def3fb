//! Jobs on PostgreSQL (table `jobs`, migration 0006). Several replicas claim from one table:
//! `claim` locks the oldest queued row with `FOR UPDATE SKIP LOCKED` inside the same `UPDATE`,
//! so two workers never take the same job and neither waits for the other. A cancel racing a
//! claim locks the same row: whichever commits second sees the other's state.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPool;

use super::encode::{pg_text, time_text};
use super::micros_of;
use crate::StoreResult;
use crate::codec::to_json;
use crate::jobs::{self, INTERRUPTED_ERROR, Job, JobEnd, JobQuery, JobState, NewJob, count};

fn columns() -> String {
    jobs::columns(micros_of, "cancel_requested::int::int8")
}

/// JSON text without NUL bytes (kept as text, which cannot hold NUL).
fn json_text(value: &serde_json::Value) -> StoreResult<String> {
    Ok(pg_text(&to_json(value)?))
}

pub(super) async fn create(pool: &PgPool, job: &NewJob) -> StoreResult<Job> {
    let sql = format!(
        "INSERT INTO jobs (kind, state, params, created_by, created_at) \
         VALUES ($1, 'queued', $2, $3, $4::timestamptz) RETURNING {}",
        columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(&job.kind))
        .bind(json_text(&job.params)?)
        .bind(pg_text(&job.created_by))
        .bind(time_text(Utc::now()))
        .fetch_one(pool)
        .await?;
    jobs::from_row(&row)
}

pub(super) async fn claim(pool: &PgPool, worker: &str) -> StoreResult<Option<Job>> {
    let sql = format!(
        "UPDATE jobs SET state = 'running', worker = $1, started_at = $2::timestamptz, \
         heartbeat_at = $2::timestamptz \
         WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1 \
                     FOR UPDATE SKIP LOCKED) \
         RETURNING {}",
        columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(worker))
        .bind(time_text(Utc::now()))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(jobs::from_row).transpose()
}

pub(super) async fn heartbeat(
    pool: &PgPool,
    id: i64,
    done: u64,
    total: Option<u64>,
) -> StoreResult<bool> {
    let flag: Option<bool> = sqlx::query_scalar(
        "UPDATE jobs SET progress_done = $1, progress_total = $2, \
         heartbeat_at = $3::timestamptz \
         WHERE id = $4 AND state = 'running' RETURNING cancel_requested",
    )
    .bind(count(done))
    .bind(total.map(count))
    .bind(time_text(Utc::now()))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(flag.unwrap_or(false))
}

pub(super) async fn finish(pool: &PgPool, id: i64, end: &JobEnd) -> StoreResult<bool> {
    let result = end.result.as_ref().map(json_text).transpose()?;
    let done = sqlx::query(
        "UPDATE jobs SET state = $1, result = $2, error = $3, finished_at = $4::timestamptz \
         WHERE id = $5 AND state = 'running'",
    )
    .bind(end.state.as_str())
    .bind(result)
    .bind(end.error.as_deref().map(pg_text))
    .bind(time_text(Utc::now()))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn cancel(pool: &PgPool, id: i64) -> StoreResult<Option<Job>> {
    let sql = format!(
        "UPDATE jobs SET \
         state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END, \
         finished_at = CASE WHEN state = 'queued' THEN $1::timestamptz ELSE finished_at END, \
         cancel_requested = cancel_requested OR state IN ('queued', 'running') \
         WHERE id = $2 RETURNING {}",
        columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(time_text(Utc::now()))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(jobs::from_row).transpose()
}

pub(super) async fn get(pool: &PgPool, id: i64) -> StoreResult<Option<Job>> {
    let sql = format!("SELECT {} FROM jobs WHERE id = $1", columns());
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(jobs::from_row).transpose()
}

pub(super) async fn list(pool: &PgPool, query: &JobQuery) -> StoreResult<Vec<Job>> {
    let sql = format!(
        "SELECT {} FROM jobs WHERE id < $1 AND ($2::text IS NULL OR state = $2) \
         AND ($3::text IS NULL OR kind = $3) ORDER BY id DESC LIMIT $4",
        columns()
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(query.before.unwrap_or(i64::MAX))
        .bind(query.state.map(JobState::as_str))
        .bind(query.kind.as_deref().map(pg_text))
        .bind(i64::from(query.limit))
        .fetch_all(pool)
        .await?;
    found.iter().map(jobs::from_row).collect()
}

pub(super) async fn interrupt_stale(
    pool: &PgPool,
    stale_before: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE jobs SET \
         state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'interrupted' END, \
         error = CASE WHEN cancel_requested THEN error ELSE $1 END, \
         finished_at = $2::timestamptz \
         WHERE state = 'running' \
         AND coalesce(heartbeat_at, started_at, '-infinity'::timestamptz) < $3::timestamptz",
    )
    .bind(INTERRUPTED_ERROR)
    .bind(time_text(Utc::now()))
    .bind(time_text(stale_before))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
