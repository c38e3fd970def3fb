//! What each kind of job does, and how its progress is counted. Progress lands in
//! [`Counter`]s the worker's heartbeat writes to the store; the work itself never waits for
//! the store to note progress.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use aoc_domain::Source;
use aoc_store::Job;

use super::{JobKind, caller_of};
use crate::alerting::RuleTest;
use crate::alerting::backtest::{MAX_DAYS, MAX_SAMPLE};
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::import::{ImportCounts, ImportProgress, Reject};
use crate::ingest::{FetchProgress, FetchRequest, SourceCounts, SourceReport};

/// Rejected records a finished import job lists (the counts cover all of them).
pub const REJECTS_SHOWN: usize = 100;

/// Total not known yet.
const UNKNOWN: u64 = u64::MAX;

/// Done and total units of a running job, shared by the work and the heartbeat.
#[derive(Debug)]
pub struct Counter {
    done: AtomicU64,
    total: AtomicU64,
    /// Set by the worker when a cancel was asked for; work that can stop cleanly polls it.
    cancel: AtomicBool,
}

impl Default for Counter {
    fn default() -> Self {
        Self {
            done: AtomicU64::new(0),
            total: AtomicU64::new(UNKNOWN),
            cancel: AtomicBool::new(false),
        }
    }
}

impl Counter {
    pub fn set(&self, done: u64, total: Option<u64>) {
        self.done.store(done, Ordering::Relaxed);
        self.total
            .store(total.unwrap_or(UNKNOWN), Ordering::Relaxed);
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    pub fn get(&self) -> (u64, Option<u64>) {
        let total = self.total.load(Ordering::Relaxed);
        (
            self.done.load(Ordering::Relaxed),
            (total != UNKNOWN).then_some(total),
        )
    }
}

/// How a job's work ended (cancellation is the worker's business, not the work's).
pub enum Outcome {
    Succeeded(Value),
    /// The error, and a report when there is one (a fetch whose every source failed).
    Failed(String, Option<Value>),
}

/// Check what `backtest::run` would refuse, before the job is queued.
pub fn check_rule_test(test: &RuleTest) -> AppResult<()> {
    if let Some(days) = test.days
        && !(1..=MAX_DAYS).contains(&days)
    {
        return Err(AppError::BadRequest(format!(
            "days: expected 1 to {MAX_DAYS}"
        )));
    }
    if test.sample.is_some_and(|s| s > MAX_SAMPLE) {
        return Err(AppError::BadRequest(format!(
            "sample: at most {MAX_SAMPLE}"
        )));
    }
    if !test.rule.is_object() {
        return Err(AppError::BadRequest("rule: expected an object".into()));
    }
    Ok(())
}

/// Whether a cancelled job of this kind stops by itself once [`Counter::cancel`] is set (a
/// fetch aborts its own task, which merely dropping the future would leave running). Other
/// kinds stop when the worker drops their future, at their next await.
pub fn stops_by_itself(kind: &str) -> bool {
    JobKind::parse(kind) == Some(JobKind::Fetch)
}

/// Run `job` to its end.
pub async fn run(ctx: &Arc<AppContext>, job: &Job, counter: Arc<Counter>) -> Outcome {
    let kind = JobKind::parse(&job.kind);
    let result = match kind {
        Some(JobKind::Fetch) => fetch(ctx, job, counter).await,
        Some(JobKind::Import) => import(ctx, job, counter).await,
        Some(JobKind::Renormalize) => renormalize(ctx, counter).await,
        Some(JobKind::RuleTest) => rule_test(ctx, job, counter).await,
        None => Err(AppError::BadRequest(format!(
            "unknown job kind {:?}",
            job.kind
        ))),
    };
    match result {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Failed(e.to_string(), None),
    }
}

fn report<T: serde::Serialize>(value: &T) -> AppResult<Value> {
    serde_json::to_value(value).map_err(|e| AppError::Unavailable(format!("job report: {e}")))
}

/// Fetch progress: records received over every source (the total is never known ahead).
struct FetchCounter {
    counter: Arc<Counter>,
    sources: Mutex<BTreeMap<Source, u64>>,
}

impl FetchProgress for FetchCounter {
    fn update(&self, source: Source, counts: &SourceCounts) {
        // A poisoned lock only means a panic elsewhere; the map itself is intact.
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources.insert(source, counts.fetched);
        self.counter.set(sources.values().sum(), None);
    }

    fn finished(&self, source: Source, report: &SourceReport) {
        self.update(
            source,
            &SourceCounts {
                fetched: report.fetched,
                ..SourceCounts::default()
            },
        );
    }

    fn cancelled(&self) -> bool {
        self.counter.cancelled()
    }
}

async fn fetch(ctx: &Arc<AppContext>, job: &Job, counter: Arc<Counter>) -> AppResult<Outcome> {
    let mut request = FetchRequest::hours(job.params["hours"].as_i64());
    if let Some(source) = job.params["source"].as_str() {
        request.only = Some(source.parse().map_err(AppError::BadRequest)?);
    }
    let progress = Arc::new(FetchCounter {
        counter,
        sources: Mutex::new(BTreeMap::new()),
    });
    let done = ctx
        .ingest
        .fetch_with(request, &caller_of(job), progress)
        .await?;
    let value = report(&done)?;
    if done.all_failed() {
        let errors: Vec<String> = done
            .sources
            .iter()
            .filter_map(|(s, r)| r.error.as_ref().map(|e| format!("{s}: {e}")))
            .collect();
        return Ok(Outcome::Failed(errors.join("; "), Some(value)));
    }
    Ok(Outcome::Succeeded(value))
}

/// Import progress in bytes read of the file's size.
struct ImportCounter(Arc<Counter>);

impl ImportProgress for ImportCounter {
    fn update(&self, counts: &ImportCounts) {
        self.0.set(counts.bytes_read, Some(counts.total_bytes));
    }
}

/// A reject as a job reports it: where, and why (never the server-side path of the upload).
fn reject_line(reject: &Reject) -> Value {
    json!({
        "location": reject.location,
        "at": reject.location.to_string(),
        "reason": reject.reason,
    })
}

async fn import(ctx: &Arc<AppContext>, job: &Job, counter: Arc<Counter>) -> AppResult<Outcome> {
    let path = job.params["path"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| AppError::BadRequest("import job without a file".into()))?;
    // Whatever happens to the import, the upload is removed once the job ends (a job
    // cancelled mid-import drops this guard too).
    let _cleanup = RemoveOnDrop(path.clone());
    let progress = ImportCounter(counter);
    let result = ctx
        .import(std::slice::from_ref(&path), &progress, &caller_of(job))
        .await;
    match result {
        Ok(done) => Ok(Outcome::Succeeded(json!({
            "filename": job.params["filename"],
            "records": done.records,
            "new": done.new,
            "duplicates": done.duplicates,
            "rejected": done.rejected,
            "rejected_lines": done.rejects.iter().take(REJECTS_SHOWN).map(reject_line).collect::<Vec<_>>(),
            "warnings": done.warnings,
        }))),
        Err(e) => Ok(Outcome::Failed(e.to_string(), None)),
    }
}

/// Deletes an uploaded file when the import job is done with it.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %self.0.display(), error = %e, "could not remove an uploaded import file");
        }
    }
}

async fn renormalize(ctx: &Arc<AppContext>, counter: Arc<Counter>) -> AppResult<Outcome> {
    let store = ctx.store().clone();
    let total = store.count().await?;
    counter.set(0, Some(total));
    let progress_counter = counter.clone();
    let done = crate::maintenance::renormalize(&store, &ctx.normalizer, None, &move |n| {
        progress_counter.set(n, Some(total.max(n)))
    })
    .await?;
    Ok(Outcome::Succeeded(report(&done)?))
}

async fn rule_test(ctx: &Arc<AppContext>, job: &Job, counter: Arc<Counter>) -> AppResult<Outcome> {
    let mut params = job.params.clone();
    if let Value::Object(map) = &mut params {
        map.remove(super::CALLER_KEY);
    }
    let test: RuleTest = serde_json::from_value(params)
        .map_err(|e| AppError::BadRequest(format!("invalid rule test: {e}")))?;
    let done = ctx.test_rule(&test, &caller_of(job)).await?;
    counter.set(done.scanned, Some(done.scanned));
    Ok(Outcome::Succeeded(report(&done)?))
}
