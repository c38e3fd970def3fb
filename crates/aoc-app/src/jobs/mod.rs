//! Long work as jobs a client can watch: a fetch, an import of an uploaded file, a
//! renormalization, a rule back-test. Starting one stores it `queued` and returns at once; a
//! worker ([`worker`]) on this or another replica claims it, runs it, reports its progress and
//! ends it `succeeded`, `failed` or `cancelled`. A job whose worker died is swept to
//! `interrupted` (see [`worker`] for the heartbeat rule); a fetch cut short that way loses
//! nothing, the next one resumes from the watermarks.

mod run;
pub mod worker;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use aoc_domain::Source;
use aoc_store::{Job, JobQuery, NewJob};

pub use aoc_store::JobState;
pub use worker::{WorkerOptions, spawn_worker};

use crate::alerting::RuleTest;
use crate::caller::Caller;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::ingest::FetchRequest;

/// Activity log actions.
pub const ACTION_JOB_START: &str = "job.start";
pub const ACTION_JOB_CANCEL: &str = "job.cancel";

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// The key under which a job's params keep who started it (name, subject, roles, groups): the
/// worker runs the job as that caller, so privacy gating is the requester's. Not shown.
const CALLER_KEY: &str = "_caller";

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Fetch,
    Import,
    Renormalize,
    RuleTest,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [
        JobKind::Fetch,
        JobKind::Import,
        JobKind::Renormalize,
        JobKind::RuleTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Fetch => "fetch",
            JobKind::Import => "import",
            JobKind::Renormalize => "renormalize",
            JobKind::RuleTest => "rule_test",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Done and total units of a job (records fetched, bytes imported, events renormalized).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobProgress {
    pub done: u64,
    /// None while the total is unknown (a fetch cannot know how many records there are).
    pub total: Option<u64>,
}

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: i64,
    /// `fetch`, `import`, `renormalize` or `rule_test`.
    pub kind: String,
    pub state: JobState,
    pub progress: JobProgress,
    /// What was asked for.
    #[schema(value_type = Object)]
    pub params: Value,
    /// The report: a fetch report, import counts with the first rejected lines, a
    /// renormalize report, a rule test result. A cancelled job reports how far it got.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// Why it failed or was interrupted.
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// A cancel was asked for and the running worker has not stopped yet.
    pub cancel_requested: bool,
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        let mut params = job.params;
        if let Value::Object(map) = &mut params {
            map.remove(CALLER_KEY);
        }
        Self {
            id: job.id,
            kind: job.kind,
            state: job.state,
            progress: JobProgress {
                done: job.progress_done,
                total: job.progress_total,
            },
            params,
            result: job.result,
            error: job.error,
            created_by: job.created_by,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            cancel_requested: job.cancel_requested && !job.state.is_finished(),
        }
    }
}

/// `GET /api/jobs` query parameters, as text.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListParams {
    /// Only jobs in this state: queued, running, succeeded, failed, cancelled, interrupted.
    #[param(pattern = "^(queued|running|succeeded|failed|cancelled|interrupted)?$")]
    pub state: Option<String>,
    /// Only jobs of this kind: fetch, import, renormalize, rule_test.
    #[param(pattern = "^(fetch|import|renormalize|rule_test)?$")]
    pub kind: Option<String>,
    /// Page size (default 50, at most 200).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^(0*[1-9][0-9]{0,17})?$")]
    pub cursor: Option<String>,
}

/// One page of jobs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    pub items: Vec<JobView>,
    /// Pass as `cursor` for the next page; None on the last.
    pub next_cursor: Option<String>,
}

/// `POST /api/jobs/fetch`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchJobRequest {
    /// How far back a source without a watermark starts, in hours (1 to 720, default 168).
    #[schema(minimum = 1, maximum = 720)]
    pub hours: Option<i64>,
    /// Only this source: directory, unified or intune (default every source).
    #[schema(pattern = "^(directory|unified|intune)$")]
    pub source: Option<String>,
}

/// An uploaded file on disk, to import as a job.
#[derive(Debug, Clone)]
pub struct Upload {
    pub path: PathBuf,
    /// The name the client gave it (shown, never used as a path).
    pub filename: String,
    pub bytes: u64,
}

/// Starting, listing and cancelling jobs.
pub struct JobService<'a> {
    ctx: &'a AppContext,
}

impl AppContext {
    /// The job queue of this context's store.
    pub fn jobs(&self) -> JobService<'_> {
        JobService { ctx: self }
    }
}

impl JobService<'_> {
    /// Queue a fetch of every source (or `source`).
    pub async fn start_fetch(
        &self,
        request: &FetchJobRequest,
        caller: &Caller,
    ) -> AppResult<JobView> {
        if !self.ctx.ingest.configured() {
            return Err(AppError::Unavailable(
                "fetching is not configured: set TENANT_ID, CLIENT_ID and CLIENT_SECRET".into(),
            ));
        }
        let mut fetch = FetchRequest::hours(request.hours);
        if let Some(name) = request.source.as_deref().filter(|s| !s.trim().is_empty()) {
            let source: Source = name.parse().map_err(AppError::BadRequest)?;
            if !Source::FETCHED.contains(&source) {
                return Err(AppError::BadRequest(
                    "source: expected directory, unified or intune".into(),
                ));
            }
            fetch.only = Some(source);
        }
        let params = json!({
            "hours": fetch.hours,
            "source": fetch.only.map(Source::as_str),
        });
        self.start(JobKind::Fetch, params, caller).await
    }

    /// Queue the import of a file already on disk; the worker deletes it when the job ends.
    pub async fn start_import(&self, upload: &Upload, caller: &Caller) -> AppResult<JobView> {
        let params = json!({
            "filename": upload.filename,
            "bytes": upload.bytes,
            "path": upload.path.display().to_string(),
        });
        self.start(JobKind::Import, params, caller).await
    }

    /// Queue a renormalization of every stored event.
    pub async fn start_renormalize(&self, caller: &Caller) -> AppResult<JobView> {
        self.start(JobKind::Renormalize, json!({}), caller).await
    }

    /// Queue a rule back-test (the body of `POST /api/rules/test`), checked now so a
    /// malformed request is a 400, not a failed job.
    pub async fn start_rule_test(&self, test: Value, caller: &Caller) -> AppResult<JobView> {
        let parsed: RuleTest = serde_json::from_value(test.clone())
            .map_err(|e| AppError::BadRequest(format!("invalid rule test: {e}")))?;
        run::check_rule_test(&parsed)?;
        self.start(JobKind::RuleTest, test, caller).await
    }

    async fn start(&self, kind: JobKind, params: Value, caller: &Caller) -> AppResult<JobView> {
        let mut stored = params.clone();
        if let Value::Object(map) = &mut stored {
            map.insert(
                CALLER_KEY.into(),
                json!({
                    "name": caller.name,
                    "subject": caller.subject,
                    "roles": caller.roles,
                    "groups": caller.groups,
                }),
            );
        }
        let job = self
            .ctx
            .store()
            .create_job(&NewJob {
                kind: kind.as_str().to_string(),
                params: stored,
                created_by: caller.name.clone(),
            })
            .await?;
        let mut detail = json!({ "job": job.id, "kind": kind.as_str() });
        if let (Value::Object(d), Value::Object(p)) = (&mut detail, &params) {
            for (k, v) in p.iter().filter(|(k, _)| *k != "rule" && *k != "path") {
                d.insert(k.clone(), v.clone());
            }
        }
        self.ctx
            .activity
            .record(caller, ACTION_JOB_START, None, detail)
            .await;
        Ok(job.into())
    }

    /// A job as `viewer` may see it: a rule test's sample keeps only the events the viewer
    /// could read themselves (the job ran with its creator's access, which may be wider).
    fn view_for(&self, job: Job, viewer: &Caller) -> JobView {
        let mut view = JobView::from(job);
        if view.kind != JobKind::RuleTest.as_str() {
            return view;
        }
        let visibility = self.ctx.events.visibility(viewer);
        if let Some(Value::Array(sample)) = view.result.as_mut().and_then(|r| r.get_mut("sample")) {
            sample.retain(|event| {
                visibility.allows(
                    event["service"].as_str().unwrap_or_default(),
                    event["operation"].as_str().unwrap_or_default(),
                )
            });
        }
        view
    }

    /// Jobs newest first, as `viewer` may see them.
    pub async fn list(&self, params: &JobListParams, viewer: &Caller) -> AppResult<JobPage> {
        let state = match params.state.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(JobState::parse(s).ok_or_else(|| {
                AppError::BadRequest(
                    "state: expected queued, running, succeeded, failed, cancelled or \
                     interrupted"
                        .into(),
                )
            })?),
        };
        let kind = match params.kind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(k) => Some(
                JobKind::parse(k)
                    .ok_or_else(|| {
                        AppError::BadRequest(
                            "kind: expected fetch, import, renormalize or rule_test".into(),
                        )
                    })?
                    .as_str()
                    .to_string(),
            ),
        };
        let limit = match params.limit.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| AppError::BadRequest(format!("limit: expected 1 to {MAX_LIMIT}")))?,
        };
        let before =
            match params.cursor.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(c) => Some(c.parse::<i64>().map_err(|_| {
                    AppError::BadRequest("cursor: not a cursor of this list".into())
                })?),
            };
        // One more than asked: it only says whether another page exists.
        let mut jobs = self
            .ctx
            .store()
            .list_jobs(&JobQuery {
                state,
                kind,
                before,
                limit: limit + 1,
            })
            .await?;
        let more = jobs.len() > limit as usize;
        jobs.truncate(limit as usize);
        let next_cursor = more
            .then(|| jobs.last().map(|j| j.id.to_string()))
            .flatten();
        Ok(JobPage {
            items: jobs
                .into_iter()
                .map(|job| self.view_for(job, viewer))
                .collect(),
            next_cursor,
        })
    }

    pub async fn get(&self, id: i64, viewer: &Caller) -> AppResult<JobView> {
        let job = self
            .ctx
            .store()
            .get_job(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no job {id}")))?;
        Ok(self.view_for(job, viewer))
    }

    /// Cancel: a queued job at once, a running one at its worker's next check (within a
    /// heartbeat). A finished job is returned as it is.
    pub async fn cancel(&self, id: i64, caller: &Caller) -> AppResult<JobView> {
        let job = self
            .ctx
            .store()
            .cancel_job(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no job {id}")))?;
        self.ctx
            .activity
            .record(
                caller,
                ACTION_JOB_CANCEL,
                None,
                json!({ "job": job.id, "kind": job.kind, "state": job.state.as_str() }),
            )
            .await;
        Ok(self.view_for(job, caller))
    }
}

/// The caller a job was started by, as the worker runs it.
fn caller_of(job: &Job) -> Caller {
    let saved = &job.params[CALLER_KEY];
    let strings = |key: &str| -> Vec<String> {
        saved[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Caller {
        name: job.created_by.clone(),
        subject: saved["subject"].as_str().map(str::to_string),
        roles: strings("roles"),
        groups: strings("groups"),
        ip: None,
    }
}
