//! Where fetched records go: names resolved, normalized, stored in batches, counted.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;

use aoc_domain::{Normalizer, RecordKind};
use aoc_store::{EventStore, StoreError};

use super::names::Names;
use super::{FetchProgress, SourceReport};

/// Events per `insert_batch` call (a blob can hold thousands of records).
const INSERT_BATCH: usize = 1000;
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

/// One source's view of a fetch: shared by reference with the page and blob handlers, so the
/// state lives behind short-held locks (never across an await).
pub(super) struct Sink<'a> {
    name: &'static str,
    store: Arc<dyn EventStore>,
    normalizer: Arc<Normalizer>,
    names: &'a Names,
    progress: &'a dyn FetchProgress,
    counts: Mutex<SourceCounts>,
    warnings: Mutex<Vec<String>>,
    watermark: Mutex<Option<DateTime<Utc>>>,
}

impl<'a> Sink<'a> {
    pub fn new(
        name: &'static str,
        store: Arc<dyn EventStore>,
        normalizer: Arc<Normalizer>,
        names: &'a Names,
        progress: &'a dyn FetchProgress,
    ) -> Self {
        Self {
            name,
            store,
            normalizer,
            names,
            progress,
            counts: Mutex::default(),
            warnings: Mutex::default(),
            watermark: Mutex::default(),
        }
    }

    pub fn store(&self) -> &dyn EventStore {
        &*self.store
    }

    /// Normalize and store one page or blob of raw records. Records that do not normalize
    /// are counted and described; a store error stops the source (nothing is half-stored:
    /// the watermark has not moved, so the next run reads these records again).
    pub async fn put(&self, kind: RecordKind, records: Vec<Value>) -> Result<(), StoreError> {
        let fetched = records.len() as u64;
        let resolver = self.names.resolver_for(kind, &records).await;
        let mut events = Vec::with_capacity(records.len());
        let mut rejected = Vec::new();
        for raw in records {
            match self
                .normalizer
                .normalize(kind, kind.fetched_source(), raw, &resolver)
            {
                Ok(event) => events.push(event),
                Err(e) => rejected.push(e.to_string()),
            }
        }
        let (mut stored, mut duplicates) = (0, 0);
        for batch in events.chunks(INSERT_BATCH) {
            let outcome = self.store.insert_batch(batch).await?;
            stored += outcome.new;
            duplicates += outcome.duplicates;
        }
        let counts = {
            let Ok(mut counts) = self.counts.lock() else {
                return Ok(());
            };
            for reason in &rejected {
                counts.rejected += 1;
                if counts.rejected <= REJECT_DETAILS {
                    self.warn(format!("a record could not be normalized: {reason}"));
                }
            }
            counts.fetched += fetched;
            counts.stored += stored;
            counts.duplicates += duplicates;
            *counts
        };
        self.progress.update(self.name, &counts);
        Ok(())
    }

    /// A warning for the fetch result, prefixed with the source.
    pub fn warn(&self, warning: String) {
        tracing::warn!(source = self.name, "{warning}");
        if let Ok(mut w) = self.warnings.lock() {
            w.push(format!("{}: {warning}", self.name));
        }
    }

    /// Note where this source's next run starts (the earliest of its watermarks).
    pub fn watermark_moved(&self, at: DateTime<Utc>) {
        if let Ok(mut w) = self.watermark.lock() {
            *w = Some(w.map_or(at, |old| old.min(at)));
        }
    }

    pub fn finish(&self, result: Result<(), String>) -> SourceReport {
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
            error: result.err(),
        }
    }

    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}
