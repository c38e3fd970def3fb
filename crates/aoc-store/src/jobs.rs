//! Jobs: long work (a fetch, an import, a renormalization, a rule back-test) queued by a
//! request and run by a worker, with progress, a result and a state a client can poll.
//!
//! Life of a job: `queued` -> (`claim_job`) `running` -> `succeeded` | `failed` |
//! `cancelled`; a queued job cancelled before any worker took it goes straight to `cancelled`.
//! A running job whose worker stopped beating (`job_heartbeat`) for too long is swept to
//! `interrupted` (`interrupt_stale_jobs`): its process died or lost the database, and nobody
//! will finish it. Finished states never change again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rows::{ReadColumns, time};
use crate::{StoreError, StoreResult};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Interrupted,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Interrupted => "interrupted",
        }
    }

    /// The state named `name` (as [`JobState::as_str`] spells it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// No worker will touch a job in this state again.
    pub fn is_finished(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Assigned by the store, increasing: the list's order and cursor.
    pub id: i64,
    /// What it does: `fetch`, `import`, `renormalize`, `rule_test`.
    pub kind: String,
    pub state: JobState,
    /// What was asked for (a small JSON object, kind-specific).
    pub params: Value,
    /// The report of a finished job (also of a cancelled one, as far as it got).
    pub result: Option<Value>,
    /// Why it failed or was interrupted.
    pub error: Option<String>,
    pub progress_done: u64,
    /// None while the total is unknown.
    pub progress_total: Option<u64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the running worker last said it is alive.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// The worker that claimed it.
    pub worker: Option<String>,
    /// A cancel was asked for while it ran; the worker stops at its next check.
    pub cancel_requested: bool,
}

/// A job to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub params: Value,
    pub created_by: String,
}

/// Which jobs to list: newest first, optionally one state and/or kind, ids below `before`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// How a running job ended.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEnd {
    /// `succeeded`, `failed` or `cancelled`.
    pub state: JobState,
    pub result: Option<Value>,
    pub error: Option<String>,
}

/// The error recorded on a job swept to `interrupted`.
pub const INTERRUPTED_ERROR: &str =
    "interrupted: the process running it stopped before it finished";

/// The column list both backends select, timestamps as integer microseconds (`micros` renders
/// a column so) and `cancel` the cancel flag as a 0/1 integer.
pub(crate) fn columns(micros: impl Fn(&str) -> String, cancel: &str) -> String {
    format!(
        "id, kind, state, params, result, error, progress_done, progress_total, created_by, \
         {} AS created_at_us, {} AS started_at_us, {} AS finished_at_us, \
         {} AS heartbeat_at_us, worker, {cancel} AS cancel_requested",
        micros("created_at"),
        micros("started_at"),
        micros("finished_at"),
        micros("heartbeat_at"),
    )
}

fn json(what: &str, text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("job {what}: {e}")))
}

fn time_or_null(row: &impl ReadColumns, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.int_or_null(column)?
        .map(|us| time("jobs", us))
        .transpose()
}

/// A row of [`columns`].
pub(crate) fn from_row(row: &impl ReadColumns) -> StoreResult<Job> {
    let state = row.text("state")?;
    Ok(Job {
        id: row.int("id")?,
        kind: row.text("kind")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state {state:?}")))?,
        params: json("params", &row.text("params")?)?,
        result: row
            .text_or_null("result")?
            .map(|r| json("result", &r))
            .transpose()?,
        error: row.text_or_null("error")?,
        progress_done: u64::try_from(row.int("progress_done")?).unwrap_or(0),
        progress_total: row
            .int_or_null("progress_total")?
            .map(|t| u64::try_from(t).unwrap_or(0)),
        created_by: row.text("created_by")?,
        created_at: time("jobs", row.int("created_at_us")?)?,
        started_at: time_or_null(row, "started_at_us")?,
        finished_at: time_or_null(row, "finished_at_us")?,
        heartbeat_at: time_or_null(row, "heartbeat_at_us")?,
        worker: row.text_or_null("worker")?,
        cancel_requested: row.int("cancel_requested")? != 0,
    })
}

/// A progress counter as a column value (saturating: a count past i64 is not a real count).
pub(crate) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
