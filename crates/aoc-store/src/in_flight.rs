//! Bulk loads with more than one `insert_batch` running. A batch spends part of its time in
//! our code (JSON encoding, compression, word extraction) and part in the database; with one
//! call at a time the two halves take turns on a 2-core machine. Two in flight overlap them:
//! on SQLite the next batch is encoded while the writer stores this one, on PostgreSQL two
//! backends work at once.
//!
//! Each batch stays atomic on its own. Batches may commit in any order, which is harmless for
//! a bulk load: duplicates are skipped whichever batch commits first, and a caller that needs
//! an order (a watermark that moves after its events) awaits [`InFlight::finish`] first.

use std::collections::VecDeque;
use std::sync::Arc;

use aoc_domain::Event;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::slow::SlowBatches;
use crate::{EventStore, InsertOutcome, StoreError, StoreResult};

/// Batches in flight by default: one being stored, one being prepared.
pub const DEFAULT_DEPTH: usize = 2;

/// Dropped early (the caller gave up after an error), the running batches still finish on
/// their own tasks, each atomically: nothing is cut off half-way.
pub struct InFlight {
    store: Arc<dyn EventStore>,
    depth: usize,
    running: VecDeque<JoinHandle<StoreResult<InsertOutcome>>>,
    slow: Arc<SlowBatches>,
}

impl InFlight {
    pub fn new(store: Arc<dyn EventStore>, depth: usize) -> Self {
        Self {
            store,
            depth: depth.max(1),
            running: VecDeque::new(),
            slow: Arc::new(SlowBatches::default()),
        }
    }

    /// Start storing `batch`. When `depth` batches are already running, first waits for the
    /// oldest and returns its outcome.
    pub async fn submit(&mut self, batch: Vec<Event>) -> StoreResult<Option<InsertOutcome>> {
        let done = if self.running.len() >= self.depth {
            self.wait_oldest().await?
        } else {
            None
        };
        let store = self.store.clone();
        // The batch's task keeps the caller's span, so what it logs names the request or fetch.
        self.running.push_back(tokio::spawn(
            async move {
                let outcome = store.insert_batch(&batch).await?;
                // Stored: consumers in this process may take them from memory.
                if let Some(recent) = store.recent_events() {
                    recent.remember(batch);
                }
                Ok(outcome)
            }
            .instrument(tracing::Span::current()),
        ));
        Ok(done)
    }

    /// Wait for every running batch; the sum of their outcomes. The first error is returned
    /// after all have ended, so nothing is left running behind the caller's back.
    pub async fn finish(mut self) -> StoreResult<InsertOutcome> {
        let mut total = InsertOutcome::default();
        let mut first_error = None;
        while !self.running.is_empty() {
            match self.wait_oldest().await {
                Ok(Some(o)) => {
                    total.new += o.new;
                    total.duplicates += o.duplicates;
                }
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.slow.log_summary("bulk load");
        first_error.map_or(Ok(total), Err)
    }

    async fn wait_oldest(&mut self) -> StoreResult<Option<InsertOutcome>> {
        let Some(handle) = self.running.pop_front() else {
            return Ok(None);
        };
        match handle.await {
            Ok(outcome) => outcome.map(Some),
            Err(e) => Err(StoreError::Task(e.to_string())),
        }
    }
}
