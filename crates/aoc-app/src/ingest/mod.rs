//! The ingest pipeline: fetch -> resolve names -> normalize -> store -> watermark.
//!
//! Each source (Entra directory audits, Intune audit events, the Management Activity API's
//! content types) keeps a watermark in the store. A run starts from the watermark minus an
//! overlap (records arrive late; dedupe makes re-reading safe) and moves it only after every
//! record up to it is committed, so a run cut short anywhere loses nothing.

mod error;
mod graph;
mod names;
mod sink;
mod unified;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::Instrument;

use aoc_domain::{Normalizer, Source};
use aoc_m365::{M365Client, M365Config};
use aoc_store::{EventStore, SourceHealth};

use crate::activity::{ACTION_FETCH, ActivityLog};
use crate::caller::Caller;
use crate::config::M365Settings;
use crate::error::{AppError, AppResult};

pub use error::{FetchError, SourceError};
pub use sink::SourceCounts;

pub const DEFAULT_FETCH_HOURS: u32 = 168;
pub const MAX_FETCH_HOURS: u32 = 720;

/// Re-read before a Graph watermark: directory and Intune records can show up minutes after
/// their activity time.
const GRAPH_OVERLAP: TimeDelta = TimeDelta::minutes(60);
/// Re-listed before a unified watermark (which follows `contentCreated`): covers clock skew and
/// listings that are only eventually consistent.
const UNIFIED_OVERLAP: TimeDelta = TimeDelta::minutes(30);

/// One fetch's outcome for one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceReport {
    /// Raw records received.
    pub fetched: u64,
    /// Events stored for the first time.
    pub stored: u64,
    /// Events already stored (overlap re-reads, records in two blobs).
    pub duplicates: u64,
    /// Records that could not be normalized (counted, reported, never stored half-way).
    pub rejected: u64,
    /// Where the next run of this source starts (its watermark after this run).
    pub watermark: Option<DateTime<Utc>>,
    /// Why this source failed; the other sources are unaffected.
    pub error: Option<String>,
}

/// One fetch's outcome (the JSON of /api/fetch-audit-logs and `aoc fetch --json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FetchReport {
    pub fetched: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub warnings: Vec<String>,
    /// Per source that ran, keyed `directory`, `unified`, `intune`.
    pub sources: BTreeMap<Source, SourceReport>,
    pub started_at: Option<DateTime<Utc>>,
    pub duration_ms: u64,
}

impl FetchReport {
    /// Every source that ran failed.
    pub fn all_failed(&self) -> bool {
        !self.sources.is_empty() && self.sources.values().all(|s| s.error.is_some())
    }
}

/// Progress of a running fetch (the CLI draws it). Called from the fetching tasks.
pub trait FetchProgress: Send + Sync {
    /// Totals of a source changed (after each stored page or blob).
    fn update(&self, _source: Source, _counts: &SourceCounts) {}
    /// A source finished (successfully or not).
    fn finished(&self, _source: Source, _report: &SourceReport) {}
    /// True when the fetch should stop (a cancelled job); asked a few times a second.
    fn cancelled(&self) -> bool {
        false
    }
}

/// How often a running fetch asks [`FetchProgress::cancelled`].
const CANCEL_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// Reports nothing.
pub struct NoFetchProgress;
impl FetchProgress for NoFetchProgress {}

/// `/api/fetch-audit-logs` query parameters, as text: validated by [`FetchRequest::parse`].
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FetchParams {
    /// How far back a source without a watermark starts, in hours (1 to 720, default 168).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 720)]
    pub hours: Option<String>,
}

/// A validated fetch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchRequest {
    pub hours: u32,
    /// Only this source; None: every fetched source.
    pub only: Option<Source>,
}

impl Default for FetchRequest {
    fn default() -> Self {
        Self {
            hours: DEFAULT_FETCH_HOURS,
            only: None,
        }
    }
}

impl FetchRequest {
    /// Every source, `hours` clamped to 1..=720 (None -> 168).
    pub fn hours(hours: Option<i64>) -> Self {
        Self {
            hours: Ingest::clamp_hours(hours),
            only: None,
        }
    }

    pub fn parse(params: &FetchParams) -> AppResult<Self> {
        let hours = match params.hours.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(h) => Some(
                h.parse::<i64>()
                    .map_err(|_| AppError::BadRequest("hours must be a whole number".into()))?,
            ),
        };
        Ok(Self::hours(hours))
    }
}

impl From<FetchError> for AppError {
    fn from(e: FetchError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

pub struct Ingest {
    store: Arc<dyn EventStore>,
    normalizer: Arc<Normalizer>,
    activity: ActivityLog,
    /// Built once so its token cache and Graph pacing span runs; Err: the settings are unusable.
    client: Option<Result<M365Client, FetchError>>,
    m365: Option<M365Settings>,
    /// Held by the running fetch: a second request waits here and then joins its result.
    running: tokio::sync::Mutex<Option<FetchReport>>,
    runs_finished: AtomicU64,
}

impl Ingest {
    pub fn new(
        store: Arc<dyn EventStore>,
        normalizer: Arc<Normalizer>,
        activity: ActivityLog,
        m365: Option<M365Settings>,
    ) -> Self {
        let client = m365.as_ref().map(|s| {
            M365Client::new(client_config(s)).map_err(|e| FetchError::Unusable(e.to_string()))
        });
        Self {
            store,
            normalizer,
            activity,
            client,
            m365,
            running: tokio::sync::Mutex::new(None),
            runs_finished: AtomicU64::new(0),
        }
    }

    pub fn configured(&self) -> bool {
        self.m365.is_some()
    }

    /// Clamp a requested window to 1..=720 hours (None -> 168).
    pub fn clamp_hours(hours: Option<i64>) -> u32 {
        hours
            .map(|h| h.clamp(1, i64::from(MAX_FETCH_HOURS)) as u32)
            .unwrap_or(DEFAULT_FETCH_HOURS)
    }

    /// The last fetch of each source.
    pub async fn source_health(&self) -> AppResult<Vec<SourceHealth>> {
        Ok(self.store.source_health().await?)
    }

    /// Start an incremental fetch in the background unless one is already running (webhook
    /// notifications: poll sooner).
    pub fn trigger(self: &Arc<Self>, caller: Caller) {
        if !self.configured() || self.running.try_lock().is_err() {
            return;
        }
        let this = self.clone();
        let job = async move {
            match this.fetch(FetchRequest::default(), &caller).await {
                Ok(r) => tracing::info!(
                    stored = r.stored,
                    duplicates = r.duplicates,
                    "triggered fetch finished"
                ),
                Err(e) => tracing::warn!(error = %e, "triggered fetch failed"),
            }
        };
        // A task starts with no span: carry the caller's (the webhook request and its id).
        tokio::spawn(job.instrument(tracing::Span::current()));
    }

    /// One fetch of every source (or `request.only`). `request.hours` is how far back a
    /// source without a watermark starts. A fetch already running is joined: the caller gets
    /// its report. Every call leaves an activity entry with the caller, failed ones too.
    pub async fn fetch(
        self: &Arc<Self>,
        request: FetchRequest,
        caller: &Caller,
    ) -> AppResult<FetchReport> {
        self.fetch_with(request, caller, Arc::new(NoFetchProgress))
            .await
    }

    /// [`Ingest::fetch`] with progress. The run happens on its own task, so a caller that goes
    /// away (an HTTP client disconnecting) does not cut it short.
    pub async fn fetch_with(
        self: &Arc<Self>,
        request: FetchRequest,
        caller: &Caller,
        progress: Arc<dyn FetchProgress>,
    ) -> AppResult<FetchReport> {
        let result = self.fetch_unrecorded(request, progress).await;
        // Failed fetches are logged too: who pulled (or tried to pull) from Microsoft 365 matters.
        let detail = match &result {
            Ok(r) => json!({
                "hours": request.hours,
                "source": request.only.map(Source::as_str),
                "outcome": if r.all_failed() { "failed" } else { "ok" },
                "fetched": r.fetched,
                "stored": r.stored,
                "duplicates": r.duplicates,
                "warnings": r.warnings.len(),
            }),
            Err(e) => json!({
                "hours": request.hours,
                "source": request.only.map(Source::as_str),
                "outcome": "failed",
                "error": e.to_string().chars().take(200).collect::<String>(),
            }),
        };
        self.activity
            .record(caller, ACTION_FETCH, None, detail)
            .await;
        Ok(result?)
    }

    async fn fetch_unrecorded(
        self: &Arc<Self>,
        request: FetchRequest,
        progress: Arc<dyn FetchProgress>,
    ) -> Result<FetchReport, FetchError> {
        let FetchRequest { hours, only } = request;
        let client = match &self.client {
            None => return Err(FetchError::NotConfigured),
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(c)) => c.clone(),
        };
        let seen = self.runs_finished.load(Ordering::SeqCst);
        let mut slot = match self.running.try_lock() {
            Ok(slot) => slot,
            Err(_) => {
                tracing::info!("a fetch is already running: waiting for it");
                let slot = self.running.lock().await;
                if self.runs_finished.load(Ordering::SeqCst) > seen
                    && let Some(report) = slot.as_ref()
                {
                    return Ok(report.clone());
                }
                slot
            }
        };
        let this = self.clone();
        // Inside the caller's span (a request's id), as its own `fetch` span: fetches never
        // overlap, so the span alone picks one fetch's lines out of the log. Error level, so it
        // is there whatever level AOC_LOG lets through.
        let span = tracing::error_span!("fetch");
        let watched = progress.clone();
        let mut run = tokio::spawn(
            async move { this.run(&client, hours, only, &*progress).await }.instrument(span),
        );
        let cancelled = async {
            loop {
                tokio::time::sleep(CANCEL_CHECK).await;
                if watched.cancelled() {
                    return;
                }
            }
        };
        let report = tokio::select! {
            report = &mut run => report.map_err(|e| FetchError::Task(e.to_string()))?,
            () = cancelled => {
                // Stopping at any await is safe: batches are stored atomically and a
                // watermark moves only past stored records, so the next fetch resumes.
                run.abort();
                let _ = run.await;
                return Err(FetchError::Cancelled);
            }
        };
        *slot = Some(report.clone());
        self.runs_finished.fetch_add(1, Ordering::SeqCst);
        Ok(report)
    }

    async fn run(
        &self,
        client: &M365Client,
        hours: u32,
        only: Option<Source>,
        progress: &dyn FetchProgress,
    ) -> FetchReport {
        let started_at = Utc::now();
        let clock = Instant::now();
        let names = names::Names::new(self.store.clone(), client.clone());
        let wants = |s: Source| only.is_none() || only == Some(s);
        let window = TimeDelta::hours(i64::from(hours));

        let run_source = |source: Source| {
            let names = &names;
            async move {
                let ctx = sink::Sink::new(
                    source,
                    self.store.clone(),
                    self.normalizer.clone(),
                    names,
                    progress,
                );
                let result = match source {
                    Source::Unified => unified::run(&ctx, client, window).await,
                    _ => graph::run(&ctx, client, source, window).await,
                };
                let report = ctx.finish(result);
                self.record_health(source, started_at, &report).await;
                progress.finished(source, &report);
                (source, report, ctx.take_warnings())
            }
        };
        let maybe = |source: Source| {
            let run = run_source(source);
            async move { if wants(source) { Some(run.await) } else { None } }
        };
        // The three sources run side by side: Graph and the Management API are separate
        // services, and the store serializes the writes anyway.
        let (directory, intune, unified) = tokio::join!(
            maybe(Source::Directory),
            maybe(Source::Intune),
            maybe(Source::Unified),
        );

        let mut report = FetchReport {
            started_at: Some(started_at),
            ..FetchReport::default()
        };
        for (source, counts, warnings) in [directory, intune, unified].into_iter().flatten() {
            report.fetched += counts.fetched;
            report.stored += counts.stored;
            report.duplicates += counts.duplicates;
            report.warnings.extend(warnings);
            if let Some(error) = &counts.error {
                report.warnings.push(format!("{source}: {error}"));
            }
            report.sources.insert(source, counts);
        }
        report.warnings.extend(names.take_warning());
        report.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            fetched = report.fetched,
            stored = report.stored,
            duplicates = report.duplicates,
            warnings = report.warnings.len(),
            ms = report.duration_ms,
            "fetch finished"
        );
        report
    }

    async fn record_health(&self, source: Source, attempt: DateTime<Utc>, report: &SourceReport) {
        let name = source.as_str();
        let previous = match self.store.source_health().await {
            Ok(all) => all.into_iter().find(|h| h.source == name),
            Err(_) => None,
        };
        let ok = report.error.is_none();
        let health = SourceHealth {
            source: name.to_string(),
            last_attempt: Some(attempt),
            last_success: if ok {
                Some(Utc::now())
            } else {
                previous.and_then(|p| p.last_success)
            },
            last_error: report.error.clone(),
            last_count: report.fetched,
        };
        if let Err(e) = self.store.put_source_health(&health).await {
            tracing::warn!(source = name, error = %e, "could not record source health");
        }
        // The names are aoc-server's metric names (it describes and exports them).
        metrics::counter!("aoc_fetch_records_total", "source" => name.to_string())
            .increment(report.fetched);
        if !ok {
            metrics::counter!("aoc_fetch_errors_total", "source" => name.to_string()).increment(1);
        }
    }
}

fn client_config(s: &M365Settings) -> M365Config {
    let mut config = M365Config::new(
        s.tenant_id.clone(),
        s.client_id.clone(),
        secrecy::SecretString::from(s.client_secret.expose_secret().to_owned()),
    );
    config.login_base_url = s.login_base_url.clone();
    config.graph_base_url = s.graph_base_url.clone();
    config.manage_base_url = s.manage_base_url.clone();
    config.unified_content_types = s.unified_content_types.clone();
    config.graph_min_interval = s.graph_min_interval;
    config.max_attempts = s.max_attempts;
    config.retry_base_delay = s.retry_base_delay;
    config.blob_concurrency = s.blob_concurrency;
    config
}

/// Where a source's next listing starts: its watermark minus `overlap`, or `window` back from
/// `now` when it has none; never further back than [`MAX_FETCH_HOURS`].
fn start_of(
    watermark: Option<DateTime<Utc>>,
    overlap: TimeDelta,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let floor = now - TimeDelta::hours(i64::from(MAX_FETCH_HOURS));
    match watermark {
        Some(w) => (w.min(now) - overlap).max(floor),
        None => now - window,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn first_run_looks_back_the_window_and_later_runs_overlap_the_watermark() {
        let now = t("2026-12-02T12:00:00Z");
        let day = TimeDelta::hours(24);
        assert_eq!(
            start_of(None, GRAPH_OVERLAP, day, now),
            t("2026-12-01T12:00:00Z")
        );
        let wm = Some(t("2026-12-02T11:00:00Z"));
        assert_eq!(
            start_of(wm, GRAPH_OVERLAP, day, now),
            t("2026-12-02T10:00:00Z")
        );
        // a watermark from a clock that ran ahead is not trusted past now
        let ahead = Some(t("2026-12-03T00:00:00Z"));
        assert_eq!(
            start_of(ahead, GRAPH_OVERLAP, day, now),
            t("2026-12-02T11:00:00Z")
        );
        // a very old watermark is capped at the longest window
        let old = Some(t("2025-01-01T00:00:00Z"));
        assert_eq!(
            start_of(old, GRAPH_OVERLAP, day, now),
            now - TimeDelta::hours(720)
        );
    }

    #[test]
    fn hours_are_clamped() {
        assert_eq!(Ingest::clamp_hours(None), 168);
        assert_eq!(Ingest::clamp_hours(Some(0)), 1);
        assert_eq!(Ingest::clamp_hours(Some(-5)), 1);
        assert_eq!(Ingest::clamp_hours(Some(10_000)), 720);
        assert_eq!(Ingest::clamp_hours(Some(24)), 24);
    }

    #[test]
    fn all_failed_needs_every_source_failing() {
        let mut r = FetchReport::default();
        assert!(!r.all_failed());
        r.sources.insert(
            Source::Directory,
            SourceReport {
                error: Some("x".into()),
                ..Default::default()
            },
        );
        assert!(r.all_failed());
        r.sources.insert(Source::Intune, SourceReport::default());
        assert!(!r.all_failed());
    }
}
