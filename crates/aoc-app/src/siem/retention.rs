//! The retention purge must not delete what a SIEM target has not received yet: the purge is
//! held back to the oldest undelivered event of every target.

use chrono::{DateTime, Utc};

use aoc_store::{EventStore, StoreError};

use super::Forwarder;

/// Undelivered events looked at per target to find the oldest; past it the purge waits.
const SCAN_LIMIT: usize = 200_000;
const PAGE: u32 = 5_000;

/// What the purge may delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeDecision {
    /// Delete events older than this (the retention cutoff, or earlier to keep undelivered
    /// events).
    Before(DateTime<Utc>),
    /// A target's backlog is too long to look through: purge nothing this time.
    Skip,
}

/// The cutoff that keeps every event some target has yet to receive, warning with the count
/// of such events the retention cutoff would have deleted.
pub async fn purge_cutoff(
    store: &dyn EventStore,
    forwarders: &[std::sync::Arc<Forwarder>],
    cutoff: DateTime<Utc>,
) -> Result<PurgeDecision, StoreError> {
    let mut keep_from = cutoff;
    for f in forwarders {
        let mut position = store.get_consumer_cursor(f.consumer_name()).await?;
        let (mut seen, mut held) = (0usize, 0u64);
        loop {
            let read = store.events_after(position.as_ref(), PAGE).await?;
            if read.events.is_empty() {
                break;
            }
            seen += read.events.len();
            for e in &read.events {
                if e.timestamp < cutoff {
                    held += 1;
                }
                keep_from = keep_from.min(e.timestamp);
            }
            if seen >= SCAN_LIMIT {
                tracing::warn!(
                    target = %f.target().name,
                    undelivered_at_least = seen,
                    "retention purge skipped: a SIEM target has more undelivered events than the purge looks through"
                );
                return Ok(PurgeDecision::Skip);
            }
            match read.next {
                Some(next) => position = Some(next),
                None => break,
            }
        }
        if held > 0 {
            tracing::warn!(
                target = %f.target().name,
                held,
                "retention purge held back: events past RETENTION_DAYS are kept until this SIEM target has received them"
            );
        }
    }
    Ok(PurgeDecision::Before(keep_from))
}
