//! Where fetched records go: names resolved, normalized, stored in batches, counted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use aoc_domain::{Event, Normalizer, RecordKind, Source};
use aoc_store::{EventStore, StoreError};

use super::error::SourceError;
use super::names::Names;
use super::{FetchProgress, SourceReport};

/// Events per `insert_batch` call.
const INSERT_BATCH: usize = 1000;
/// Queued events are stored at least this often, so a slow source still shows progress (and
/// a run cut short has stored most of what it read).
const FLUSH_AFTER: Duration = Duration::from_secs(1);
/// Normalization failures described one by one in the warnings; the rest are counted.
const REJECT_DETAILS: u64 = 5;

/// Running totals of one source in one fetch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounts {
    pub fetched: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// Normalized events not yet stored.
struct Pending {
    events: Vec<Event>,
    /// When the queue was last emptied.
    since: Instant,
}

/// One source's view of a fetch: shared by reference with the page and blob handlers, so the
/// state lives behind short-held locks (never across an await).
pub(super) struct Sink<'a> {
    source: Source,
    store: Arc<dyn EventStore>,
    normalizer: Arc<Normalizer>,
    names: &'a Names,
    progress: &'a dyn FetchProgress,
    counts: Mutex<SourceCounts>,
    pending: Mutex<Pending>,
    warnings: Mutex<Vec<String>>,
    watermark: Mutex<Option<DateTime<Utc>>>,
    slow: aoc_store::slow::SlowBatches,
}

impl<'a> Sink<'a> {
    pub fn new(
        source: Source,
        store: Arc<dyn EventStore>,
        normalizer: Arc<Normalizer>,
        names: &'a Names,
        progress: &'a dyn FetchProgress,
    ) -> Self {
        Self {
            source,
            store,
            normalizer,
            names,
            progress,
            counts: Mutex::default(),
            pending: Mutex::new(Pending {
                events: Vec::new(),
                since: Instant::now(),
            }),
            warnings: Mutex::default(),
            watermark: Mutex::default(),
            slow: aoc_store::slow::SlowBatches::default(),
        }
    }

    pub fn store(&self) -> &dyn EventStore {
        &*self.store
    }

    /// Normalize one page or blob of raw records and queue the events; they are stored in
    /// batches of [`INSERT_BATCH`] (or after [`FLUSH_AFTER`]), because a transaction per
    /// small blob costs more than the records in it. Records that do not normalize are
    /// counted and described. Callers [`Sink::flush`] before moving a watermark, so nothing
    /// behind a watermark is ever only queued.
    pub async fn put(&self, kind: RecordKind, records: Vec<Value>) -> Result<(), StoreError> {
        let fetched = records.len() as u64;
        let resolver = self.names.resolver_for(kind, &records).await;
        let mut rejected = Vec::new();
        let batch = {
            // A poisoned lock only means a panic elsewhere; the queue itself is intact.
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for raw in records {
                match self
                    .normalizer
                    .normalize(kind, kind.fetched_source(), raw, &resolver)
                {
                    Ok(event) => pending.events.push(event),
                    Err(e) => rejected.push(e.to_string()),
                }
            }
            if pending.events.len() >= INSERT_BATCH || pending.since.elapsed() >= FLUSH_AFTER {
                pending.since = Instant::now();
                std::mem::take(&mut pending.events)
            } else {
                Vec::new()
            }
        };
        self.count(|counts| {
            counts.fetched += fetched;
            for reason in &rejected {
                counts.rejected += 1;
                if counts.rejected <= REJECT_DETAILS {
                    self.warn(format!("a record could not be normalized: {reason}"));
                }
            }
        });
        self.insert(batch).await
    }

    /// Store every queued event.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.since = Instant::now();
            std::mem::take(&mut pending.events)
        };
        self.insert(batch).await
    }

    async fn insert(&self, events: Vec<Event>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let (mut stored, mut duplicates) = (0, 0);
        for batch in events.chunks(INSERT_BATCH) {
            let started = Instant::now();
            let outcome = self.store.insert_batch(batch).await?;
            self.slow.record(batch.len(), started.elapsed());
            stored += outcome.new;
            duplicates += outcome.duplicates;
        }
        // Stored: consumers in this process may take them from memory.
        if let Some(recent) = self.store.recent_events() {
            recent.remember(events);
        }
        self.count(|counts| {
            counts.stored += stored;
            counts.duplicates += duplicates;
        });
        Ok(())
    }

    fn count(&self, change: impl FnOnce(&mut SourceCounts)) {
        let counts = {
            let Ok(mut counts) = self.counts.lock() else {
                return;
            };
            change(&mut counts);
            *counts
        };
        self.progress.update(self.source, &counts);
    }

    /// A warning for the fetch result, prefixed with the source.
    pub fn warn(&self, warning: String) {
        tracing::warn!(source = %self.source, "{warning}");
        if let Ok(mut w) = self.warnings.lock() {
            w.push(format!("{}: {warning}", self.source));
        }
    }

    /// Note where this source's next run starts (the earliest of its watermarks).
    pub fn watermark_moved(&self, at: DateTime<Utc>) {
        if let Ok(mut w) = self.watermark.lock() {
            *w = Some(w.map_or(at, |old| old.min(at)));
        }
    }

    pub fn finish(&self, result: Result<(), SourceError>) -> SourceReport {
        if let Some(line) = self.slow.summary() {
            tracing::warn!(source = %self.source, "{line}");
        }
        let counts = self.counts.lock().map(|c| *c).unwrap_or_default();
        if counts.rejected > REJECT_DETAILS {
            self.warn(format!(
                "{} records in all could not be normalized",
                counts.rejected
            ));
        }
        SourceReport {
            fetched: counts.fetched,
            stored: counts.stored,
            duplicates: counts.duplicates,
            rejected: counts.rejected,
            watermark: self.watermark.lock().ok().and_then(|w| *w),
            error: result.err().map(|e| e.to_string()),
        }
    }

    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}
