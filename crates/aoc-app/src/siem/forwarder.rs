//! One target's forwarding: a consumer of the stored event sequence (cursor `siem:<target>`)
//! whose batches go to the receiver, retried with backoff until it takes them. The cursor only
//! moves after the receiver accepted a batch, so an outage, a restart or a kill delays events
//! but loses none; a batch may arrive twice (receivers dedupe on the event id).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use aoc_domain::Event;
use aoc_store::{EventStore, StoreError};

use super::metric_names;
use super::send::{DeliveryError, Sender};
use super::target::{Target, TargetError, TargetKind};
use crate::config::SiemSettings;
use crate::consumer::{self, ConsumeError, Consumer};
use crate::egress::EgressPolicy;
use crate::notify::retry::backoff;

/// How often the backlog is counted for the gauge and the warning.
const BACKLOG_EVERY: Duration = Duration::from_secs(10);
/// Status and the gauge count a backlog up to this many events.
pub const BACKLOG_CAP: u64 = 1_000_000;

/// How a forwarder paces itself (from [`SiemSettings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardOptions {
    pub batch: u32,
    pub idle: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub backlog_warn: u64,
}

impl ForwardOptions {
    pub fn from_settings(s: &SiemSettings) -> Self {
        Self {
            batch: s.batch_size.max(1),
            idle: s.idle,
            retry_base: s.retry_base,
            retry_max: s.retry_max,
            backlog_warn: s.backlog_warn,
        }
    }
}

/// A target's state for `GET /api/siem/status`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SiemTargetStatus {
    /// `webhook`, `splunk` or `syslog`.
    pub name: String,
    pub kind: TargetKind,
    /// Stored events not yet accepted by the receiver (counted up to 1,000,000).
    pub backlog: u64,
    /// True when `backlog` stopped at the cap: at least that many wait.
    pub backlog_capped: bool,
    /// When the receiver last accepted a batch (since this process started).
    pub last_success: Option<DateTime<Utc>>,
    /// The last failed delivery's reason, kept until a batch goes through.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Events the receiver accepted since this process started.
    pub delivered: u64,
    /// Failed delivery attempts (each retried) since this process started.
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Stats {
    delivered: u64,
    failed: u64,
    last_success: Option<DateTime<Utc>>,
    last_error: Option<(DateTime<Utc>, String)>,
}

pub struct Forwarder {
    target: Target,
    consumer_name: String,
    sender: Sender,
    store: Arc<dyn EventStore>,
    options: ForwardOptions,
    stats: Mutex<Stats>,
}

impl Forwarder {
    pub fn new(
        target: Target,
        egress: &EgressPolicy,
        store: Arc<dyn EventStore>,
        options: ForwardOptions,
    ) -> Result<Self, TargetError> {
        Ok(Self {
            consumer_name: format!("siem:{}", target.name),
            sender: Sender::new(&target, egress)?,
            target,
            store,
            options,
            stats: Mutex::default(),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The consumer cursor's name, `siem:<target>`.
    pub fn consumer_name(&self) -> &str {
        &self.consumer_name
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        // A panic while holding the lock leaves plain counters: still fine to read.
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Deliver one batch (at most `batch` events) and move the cursor past it; how many
    /// events went, 0 when up to date.
    pub async fn forward_once(&self) -> Result<usize, ConsumeError<DeliveryError>> {
        consumer::run_once(self.store.as_ref(), self, self.options.batch).await
    }

    /// Forward until `shutdown` completes: batch after batch while events wait, a look every
    /// `idle` when up to date, and after a failure a pause that doubles per failure (jittered,
    /// capped) or what the receiver's Retry-After asked for.
    pub async fn run_until(&self, shutdown: impl std::future::Future<Output = ()>) {
        let mut stored = consumer::keep_recent(self.store.as_ref());
        let mut shutdown = std::pin::pin!(shutdown);
        let full = usize::try_from(self.options.batch).unwrap_or(usize::MAX);
        let mut failures: u32 = 0;
        let mut above_warn = false;
        let mut next_count = Instant::now();
        loop {
            let mut wake_on_store = false;
            let pause = match self.forward_once().await {
                Ok(n) => {
                    failures = 0;
                    if n >= full {
                        Duration::ZERO
                    } else {
                        wake_on_store = true;
                        self.options.idle
                    }
                }
                Err(e) => {
                    let wait = match &e {
                        ConsumeError::Consumer(d) => d.retry_after,
                        ConsumeError::Store(_) => None,
                    }
                    .unwrap_or_else(|| {
                        backoff(
                            self.options.retry_base,
                            self.options.retry_max,
                            failures,
                            Utc::now().timestamp_nanos_opt().unwrap_or_default(),
                        )
                    });
                    failures = failures.saturating_add(1);
                    tracing::warn!(target = %self.target.name, error = %e, retry_in_ms = wait.as_millis() as u64, failures, "SIEM delivery failed; will retry");
                    wait
                }
            };
            if Instant::now() >= next_count {
                next_count = Instant::now() + BACKLOG_EVERY;
                above_warn = self.watch_backlog(above_warn).await;
            }
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
                () = consumer::stored_since(stored.as_mut()), if wake_on_store => {}
            }
        }
    }

    /// Count the backlog for the gauge; warn once when it crosses SIEM_BACKLOG_WARN and say so
    /// when it is back under. Returns whether it is above.
    async fn watch_backlog(&self, was_above: bool) -> bool {
        let cap = BACKLOG_CAP.max(self.options.backlog_warn.saturating_add(1));
        match consumer::lag(self.store.as_ref(), &self.consumer_name, cap).await {
            Ok(lag) => {
                metrics::gauge!(metric_names::BACKLOG, "target" => self.target.name.clone())
                    .set(lag.events_behind as f64);
                let above = lag.events_behind >= self.options.backlog_warn;
                if above && !was_above {
                    tracing::warn!(
                        target = %self.target.name,
                        backlog = lag.events_behind,
                        limit = self.options.backlog_warn,
                        last_error = ?self.stats().last_error.as_ref().map(|e| e.1.clone()),
                        "SIEM target is behind by more than SIEM_BACKLOG_WARN events; nothing is dropped, the backlog is delivered when the receiver takes it"
                    );
                } else if !above && was_above {
                    tracing::info!(target = %self.target.name, backlog = lag.events_behind, "SIEM backlog is back under SIEM_BACKLOG_WARN");
                }
                above
            }
            Err(e) => {
                tracing::warn!(target = %self.target.name, error = %e, "counting the SIEM backlog failed");
                was_above
            }
        }
    }

    pub async fn status(&self) -> Result<SiemTargetStatus, StoreError> {
        let lag = consumer::lag(self.store.as_ref(), &self.consumer_name, BACKLOG_CAP).await?;
        let stats = self.stats();
        Ok(SiemTargetStatus {
            name: self.target.name.clone(),
            kind: self.target.kind,
            backlog: lag.events_behind,
            backlog_capped: lag.capped,
            last_success: stats.last_success,
            last_error: stats.last_error.as_ref().map(|e| e.1.clone()),
            last_error_at: stats.last_error.as_ref().map(|e| e.0),
            delivered: stats.delivered,
            failed: stats.failed,
        })
    }
}

#[async_trait]
impl Consumer for Forwarder {
    type Error = DeliveryError;

    fn name(&self) -> &str {
        &self.consumer_name
    }

    async fn handle(&self, events: &[Event]) -> Result<(), DeliveryError> {
        let label = self.target.name.clone();
        match self.sender.send(events).await {
            Ok(()) => {
                metrics::counter!(metric_names::DELIVERED, "target" => label)
                    .increment(events.len() as u64);
                let mut stats = self.stats();
                stats.delivered += events.len() as u64;
                stats.last_success = Some(Utc::now());
                stats.last_error = None;
                Ok(())
            }
            Err(e) => {
                metrics::counter!(metric_names::FAILED, "target" => label).increment(1);
                let mut stats = self.stats();
                stats.failed += 1;
                stats.last_error = Some((Utc::now(), e.message.clone()));
                Err(e)
            }
        }
    }
}
