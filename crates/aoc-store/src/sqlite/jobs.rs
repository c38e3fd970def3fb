//! Jobs on SQLite (table `jobs`, migration 0006). Every write is one statement on the single
//! writer connection, so "take the oldest queued job" in `claim` cannot interleave with another
//! claim or a cancel: each job is claimed once.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, SqlitePool};

use crate::StoreResult;
use crate::codec::{micros, to_json};
use crate::jobs::{self, INTERRUPTED_ERROR, Job, JobEnd, JobQuery, JobState, NewJob, count};

fn columns() -> String {
    jobs::columns(|c| format!("{c}_us"), "cancel_requested")
}

pub(super) async fn create(writer: &SqlitePool, job: &NewJob) -> StoreResult<Job> {
    let sql = format!(
        "INSERT INTO jobs (kind, state, params, created_by, created_at_us) \
         VALUES (?, 'queued', ?, ?, ?) RETURNING {}",
        columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(&job.kind)
        .bind(to_json(&job.params)?)
        .bind(&job.created_by)
        .bind(micros(Utc::now()))
        .fetch_one(writer)
        .await?;
    jobs::from_row(&row)
}

pub(super) async fn claim(writer: &SqlitePool, worker: &str) -> StoreResult<Option<Job>> {
    let now = micros(Utc::now());
    let sql = format!(
        "UPDATE jobs SET state = 'running', worker = ?1, started_at_us = ?2, \
         heartbeat_at_us = ?2 \
         WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1) \
         AND state = 'queued' RETURNING {}",
        columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(worker)
        .bind(now)
        .fetch_optional(writer)
        .await?;
    row.as_ref().map(jobs::from_row).transpose()
}

pub(super) async fn heartbeat(
    writer: &SqlitePool,
    id: i64,
    done: u64,
    total: Option<u64>,
) -> StoreResult<bool> {
    let flag: Option<i64> = sqlx::query_scalar(
        "UPDATE jobs SET progress_done = ?, progress_total = ?, heartbeat_at_us = ? \
         WHERE id = ? AND state = 'running' RETURNING cancel_requested",
    )
    .bind(count(done))
    .bind(total.map(count))
    .bind(micros(Utc::now()))
    .bind(id)
    .fetch_optional(writer)
    .await?;
    Ok(flag.is_some_and(|f| f != 0))
}

pub(super) async fn finish(writer: &SqlitePool, id: i64, end: &JobEnd) -> StoreResult<bool> {
    let result = end.result.as_ref().map(to_json).transpose()?;
    let done = sqlx::query(
        "UPDATE jobs SET state = ?, result = ?, error = ?, finished_at_us = ? \
         WHERE id = ? AND state = 'running'",
    )
    .bind(end.state.as_str())
    .bind(result)
    .bind(&end.error)
    .bind(micros(Utc::now()))
    .bind(id)
    .execute(writer)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn cancel(writer: &SqlitePool, id: i64) -> StoreResult<Option<Job>> {
    let sql = format!(
        "UPDATE jobs SET \
         state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END, \
         finished_at_us = CASE WHEN state = 'queued' THEN ?1 ELSE finished_at_us END, \
         cancel_requested = CASE WHEN state IN ('queued', 'running') THEN 1 \
             ELSE cancel_requested END \
         WHERE id = ?2 RETURNING {}",
        columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(micros(Utc::now()))
        .bind(id)
        .fetch_optional(writer)
        .await?;
    row.as_ref().map(jobs::from_row).transpose()
}

pub(super) async fn get(reader: &SqlitePool, id: i64) -> StoreResult<Option<Job>> {
    let sql = format!("SELECT {} FROM jobs WHERE id = ?", columns());
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(reader)
        .await?;
    row.as_ref().map(jobs::from_row).transpose()
}

pub(super) async fn list(reader: &SqlitePool, query: &JobQuery) -> StoreResult<Vec<Job>> {
    let sql = format!(
        "SELECT {} FROM jobs WHERE id < ?1 AND (?2 IS NULL OR state = ?2) \
         AND (?3 IS NULL OR kind = ?3) ORDER BY id DESC LIMIT ?4",
        columns()
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(query.before.unwrap_or(i64::MAX))
        .bind(query.state.map(JobState::as_str))
        .bind(&query.kind)
        .bind(i64::from(query.limit))
        .fetch_all(reader)
        .await?;
    found.iter().map(jobs::from_row).collect()
}

pub(super) async fn interrupt_stale(
    writer: &SqlitePool,
    stale_before: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE jobs SET \
         state = CASE WHEN cancel_requested != 0 THEN 'cancelled' ELSE 'interrupted' END, \
         error = CASE WHEN cancel_requested != 0 THEN error ELSE ?1 END, \
         finished_at_us = ?2 \
         WHERE state = 'running' AND coalesce(heartbeat_at_us, started_at_us, 0) < ?3",
    )
    .bind(INTERRUPTED_ERROR)
    .bind(micros(Utc::now()))
    .bind(micros(stale_before))
    .execute(writer)
    .await?;
    Ok(done.rows_affected())
}
