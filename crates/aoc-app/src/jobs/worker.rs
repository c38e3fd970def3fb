//! The job worker: claims queued jobs one at a time and runs them. Every replica may run one;
//! the store's claim hands each job to exactly one of them.
//!
//! Liveness is a heartbeat: while a job runs, its worker writes the progress and the time to
//! the job every [`WorkerOptions::heartbeat`], and reads back whether a cancel was asked for.
//! Every worker sweeps, at start-up and each time it looks for work, running jobs whose
//! heartbeat is older than [`WorkerOptions::stale_after`] to `interrupted`: the process running
//! them died (or lost the database for that long) and nobody will finish them. The rule needs
//! no process identity and works across replicas: a job a killed replica left behind is swept
//! by whichever replica looks next, a job whose worker is alive never is (its heartbeat is
//! fresh), and a job swept by mistake (its worker cut off from the database for longer than
//! `stale_after`) cannot be finished by the late worker: finishing only applies to running jobs.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::task::JoinHandle;

use aoc_store::{Job, JobEnd, JobState};

use super::run::{self, Counter, Outcome};
use crate::context::AppContext;

/// How long a cancelled job that stops by itself (a fetch) may take to do so.
const CANCEL_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How often an idle worker looks for queued jobs.
    pub poll: Duration,
    /// How often a running job's progress and liveness are written (and a cancel noticed).
    pub heartbeat: Duration,
    /// A running job without a heartbeat for this long is interrupted.
    pub stale_after: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            heartbeat: Duration::from_secs(2),
            // Many heartbeats: a busy database or a paused VM does not interrupt a live job.
            stale_after: Duration::from_secs(60),
        }
    }
}

/// Start a worker on its own task; abort the handle to stop it (the job it was running is
/// then swept to `interrupted` by the next worker once its heartbeat is stale).
pub fn spawn_worker(ctx: Arc<AppContext>, options: WorkerOptions) -> JoinHandle<()> {
    let id = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    tokio::spawn(async move { work(ctx, options, id).await })
}

async fn work(ctx: Arc<AppContext>, options: WorkerOptions, worker: String) {
    tracing::info!(%worker, "job worker running");
    loop {
        let stale_before = Utc::now()
            - chrono::Duration::from_std(options.stale_after).unwrap_or(chrono::Duration::MAX);
        match ctx.store().interrupt_stale_jobs(stale_before).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "jobs whose worker stopped marked interrupted"),
            Err(e) => tracing::debug!(error = %e, "could not sweep stale jobs"),
        }
        match ctx.store().claim_job(&worker).await {
            Ok(Some(job)) => run_one(&ctx, &options, job).await,
            Ok(None) => tokio::time::sleep(options.poll).await,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for queued jobs");
                tokio::time::sleep(options.poll.max(Duration::from_secs(5))).await;
            }
        }
    }
}

/// Run a claimed job to its end: succeeded, failed, or cancelled when its heartbeat reads back
/// a cancel (the work future is then dropped, which stops it at its next await).
async fn run_one(ctx: &Arc<AppContext>, options: &WorkerOptions, job: Job) {
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind);
    tracing::info!(parent: &span, "job started");
    let counter = Arc::new(Counter::default());
    let store = ctx.store().clone();
    let id = job.id;
    let beat = {
        let counter = counter.clone();
        let store = store.clone();
        let every = options.heartbeat;
        async move {
            loop {
                tokio::time::sleep(every).await;
                let (done, total) = counter.get();
                match store.job_heartbeat(id, done, total).await {
                    Ok(true) => return,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(job = id, error = %e, "job heartbeat failed"),
                }
            }
        }
    };
    let work = run::run(ctx, &job, counter.clone());
    tokio::pin!(work);
    let outcome = tokio::select! {
        outcome = &mut work => Some(outcome),
        () = beat => None,
    };
    if outcome.is_none() {
        counter.cancel();
        if run::stops_by_itself(&job.kind)
            && tokio::time::timeout(CANCEL_GRACE, &mut work).await.is_err()
        {
            tracing::warn!(parent: &span, "a cancelled job did not stop in time; dropping it");
        }
    }
    let (done, total) = counter.get();
    // The last progress, so a finished job shows where it ended.
    if let Err(e) = store.job_heartbeat(id, done, total).await {
        tracing::warn!(job = id, error = %e, "job progress could not be saved");
    }
    let end = match outcome {
        None => JobEnd {
            state: JobState::Cancelled,
            result: Some(json!({ "done": done, "total": total })),
            error: None,
        },
        Some(Outcome::Succeeded(result)) => JobEnd {
            state: JobState::Succeeded,
            result: Some(result),
            error: None,
        },
        Some(Outcome::Failed(error, result)) => JobEnd {
            state: JobState::Failed,
            result,
            error: Some(error),
        },
    };
    match store.finish_job(id, &end).await {
        Ok(true) => tracing::info!(parent: &span, state = %end.state, "job ended"),
        Ok(false) => {
            tracing::warn!(parent: &span, "job was no longer running when it ended (interrupted meanwhile)")
        }
        Err(e) => {
            tracing::error!(parent: &span, error = %e, "could not record the end of a job")
        }
    }
}
