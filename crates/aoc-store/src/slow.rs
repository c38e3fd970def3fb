//! Slow insert batches, summarized. sqlx's own slow-statement log prints whole SQL texts, so it
//! is kept at debug; bulk loads count their slow batches here instead and say so once, with
//! sizes and times, when they end.

use std::sync::Mutex;
use std::time::Duration;

/// A batch slower than this is worth a line (a healthy one of 1,000 events takes well under a
/// second on either backend).
pub const SLOW_BATCH: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct SlowBatches {
    inner: Mutex<Counts>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    batches: u64,
    slow: u64,
    slow_events: u64,
    slowest: Duration,
    slowest_events: usize,
}

impl SlowBatches {
    /// Count a stored batch of `events` that took `elapsed`.
    pub fn record(&self, events: usize, elapsed: Duration) {
        let Ok(mut c) = self.inner.lock() else { return };
        c.batches += 1;
        if elapsed < SLOW_BATCH {
            return;
        }
        c.slow += 1;
        c.slow_events += events as u64;
        if elapsed > c.slowest {
            c.slowest = elapsed;
            c.slowest_events = events;
        }
        tracing::debug!(events, seconds = elapsed.as_secs_f64(), "slow insert batch");
    }

    /// One line about the slow batches so far; None when there were none.
    pub fn summary(&self) -> Option<String> {
        let c = *self.inner.lock().ok()?;
        (c.slow > 0).then(|| {
            format!(
                "{} of {} insert batches took over {} s ({} events; the slowest {:.1} s for {} events)",
                c.slow,
                c.batches,
                SLOW_BATCH.as_secs(),
                c.slow_events,
                c.slowest.as_secs_f64(),
                c.slowest_events
            )
        })
    }

    /// Log the summary once at warn level (nothing when no batch was slow).
    pub fn log_summary(&self, what: &str) {
        if let Some(line) = self.summary() {
            tracing::warn!(what, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slow_batches_are_summarized() {
        let slow = SlowBatches::default();
        slow.record(1000, Duration::from_millis(300));
        assert_eq!(slow.summary(), None);
        slow.record(1000, Duration::from_millis(2500));
        slow.record(400, Duration::from_secs(4));
        assert_eq!(
            slow.summary().as_deref(),
            Some(
                "2 of 3 insert batches took over 2 s (1400 events; the slowest 4.0 s for 400 events)"
            )
        );
    }
}
