//! Events just stored, kept in memory for the consumers of the event sequence (alert rules,
//! SIEM forwarding) that run in the same process.
//!
//! A consumer that keeps up reads events a second or two after ingest stored them. Reading
//! them back from the database meant inflating every body and parsing its raw record again
//! (~40 us an event, as much CPU as a fifth of ingest), on the same two cores ingest needs.
//! With this cache the sequence read asks the database only for each event's position, id,
//! dedupe key, tags and comments, and takes the rest from the event ingest already held.
//!
//! The database stays the truth: an entry is used only when the stored row has the same id
//! and dedupe key (so a re-delivered duplicate that was not stored never stands in for the
//! stored one), tags and comments always come from the row, and `update_events` forgets the
//! ids it rewrote. A batch with any event missing from the cache (evicted: the consumer fell
//! behind; or stored by another process) is read in full from the database, as before.
//! Only what `insert_batch` was given is remembered: a caller hands the events over after
//! the insert succeeded, so nothing is cloned on the ingest path.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aoc_domain::{Comment, Event};

use crate::{StoreError, StoreResult};

/// Events kept when a consumer asks for the cache: eight insert batches' worth, enough for a
/// consumer reading catch-up batches of 4,000 while ingest stores the next ones. Measured in
/// `aoc bench`, an event with its parsed raw record takes ~13 KB in memory (16,384 of them
/// added ~220 MB to the peak RSS of ingest with the evaluator beside it), so this is about
/// 100 MB. A consumer further behind than this reads from the database as before.
pub const DEFAULT_CAPACITY: usize = 8192;

pub struct RecentEvents {
    inner: Mutex<Inner>,
    /// Counts hand-overs, so a consumer waiting for work wakes when events are stored instead
    /// of at its next poll: a poll interval of a second lets ingest run thousands of events
    /// ahead, past what is kept, and the consumer then decodes them from the database.
    stored: tokio::sync::watch::Sender<u64>,
    /// Sequence reads served from memory, and reads that went to the database in full.
    served: AtomicU64,
    missed: AtomicU64,
}

#[derive(Default)]
struct Inner {
    /// 0 until a consumer asks for the cache: a process that only ingests keeps nothing.
    capacity: usize,
    by_id: HashMap<String, Arc<Event>>,
    /// Ids in the order they were remembered, oldest first (may hold ids forgotten since).
    order: VecDeque<String>,
}

impl Default for RecentEvents {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            stored: tokio::sync::watch::Sender::new(0),
            served: AtomicU64::default(),
            missed: AtomicU64::default(),
        }
    }
}

impl std::fmt::Debug for RecentEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("RecentEvents")
            .field("capacity", &inner.capacity)
            .field("len", &inner.by_id.len())
            .finish()
    }
}

/// What the sequence read got from the database for one event: enough to check a cached
/// event against the row and to bring its mutable parts up to date.
#[derive(Debug)]
pub(crate) struct SequenceRow {
    pub id: String,
    pub dedupe_key: String,
    /// As stored: JSON text.
    pub tags: String,
    pub comments: String,
}

impl RecentEvents {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The maps stay consistent whatever panicked while holding the lock.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keep at least `capacity` events from now on.
    pub fn keep(&self, capacity: usize) {
        let mut inner = self.lock();
        inner.capacity = inner.capacity.max(capacity);
    }

    pub fn is_enabled(&self) -> bool {
        self.lock().capacity > 0
    }

    /// Hand over events `insert_batch` just stored (duplicates among them are harmless: they
    /// never match a stored row they do not stand for). The oldest beyond the capacity go.
    pub fn remember(&self, events: Vec<Event>) {
        let mut evicted = Vec::new();
        {
            let mut inner = self.lock();
            if inner.capacity == 0 {
                return;
            }
            for event in events {
                if inner.by_id.contains_key(&event.id) {
                    // The first of two copies is the stored one.
                    continue;
                }
                inner.order.push_back(event.id.clone());
                inner.by_id.insert(event.id.clone(), Arc::new(event));
            }
            while inner.by_id.len() > inner.capacity {
                let Some(id) = inner.order.pop_front() else {
                    break;
                };
                if let Some(gone) = inner.by_id.remove(&id) {
                    evicted.push(gone);
                }
            }
            if inner.order.len() > inner.capacity.saturating_mul(2) {
                let Inner { by_id, order, .. } = &mut *inner;
                order.retain(|id| by_id.contains_key(id));
            }
        }
        self.stored.send_modify(|n| *n = n.wrapping_add(1));
        // Freeing a few thousand parsed records takes a while: not under the lock.
        drop(evicted);
    }

    /// Changes each time events are handed over: `changed()` on it is how a consumer waits
    /// for new events (it resolves at once when some were stored since it last looked).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.stored.subscribe()
    }

    /// (Reads served from memory, reads that had to go to the database) since start.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.served.load(Ordering::Relaxed),
            self.missed.load(Ordering::Relaxed),
        )
    }

    /// Forget these ids (their stored events were rewritten).
    pub fn forget<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.lock();
        if inner.capacity == 0 {
            return;
        }
        for id in ids {
            inner.by_id.remove(id);
        }
    }

    /// The events the first rows stand for, in their order: as many as are cached under
    /// their id and dedupe key from the first row on. None when the first is not (the caller
    /// reads the batch in full). A batch is cut short rather than read in full when a later
    /// row is missing: that is usually a batch committed a moment ago whose events are being
    /// handed over right now, and the next read finds them.
    pub(crate) fn resolve(&self, rows: &[SequenceRow]) -> StoreResult<Option<Vec<Event>>> {
        if rows.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let cached: Vec<Arc<Event>> = {
            let inner = self.lock();
            let mut cached = Vec::with_capacity(rows.len());
            for row in rows {
                match inner.by_id.get(&row.id) {
                    Some(e) if e.dedupe_key == row.dedupe_key => cached.push(e.clone()),
                    _ => break,
                }
            }
            cached
        };
        if cached.is_empty() {
            self.missed.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        let mut events = Vec::with_capacity(rows.len());
        for (row, event) in rows.iter().zip(cached) {
            let mut event = Arc::unwrap_or_clone(event);
            event.tags = json(&row.id, "tags", &row.tags)?;
            event.comments = json::<Vec<Comment>>(&row.id, "comments", &row.comments)?;
            events.push(event);
        }
        self.served.fetch_add(1, Ordering::Relaxed);
        Ok(Some(events))
    }
}

fn json<T: serde::de::DeserializeOwned>(id: &str, what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("event {id:?}: {what}: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    use aoc_domain::Source;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn event(id: &str, key: &str) -> Event {
        Event {
            id: id.to_string(),
            source: Source::Unified,
            timestamp: DateTime::<Utc>::UNIX_EPOCH,
            service: "Exchange".into(),
            operation: "Set-Mailbox".into(),
            result: "success".into(),
            result_detail: "Succeeded".into(),
            actor_display: "admin@contoso.com".into(),
            actor: json!({}),
            target_displays: Vec::new(),
            targets: Vec::new(),
            display_summary: format!("changed {id}"),
            dedupe_key: key.to_string(),
            raw: json!({ "Id": id }),
            tags: Vec::new(),
            comments: Vec::new(),
        }
    }

    fn row(id: &str, key: &str, tags: &str) -> SequenceRow {
        SequenceRow {
            id: id.into(),
            dedupe_key: key.into(),
            tags: tags.into(),
            comments: "[]".into(),
        }
    }

    #[test]
    fn keeps_nothing_until_a_consumer_asks() {
        let recent = RecentEvents::default();
        recent.remember(vec![event("a", "ka")]);
        assert!(!recent.is_enabled());
        assert!(recent.resolve(&[row("a", "ka", "[]")]).unwrap().is_none());
    }

    #[test]
    fn serves_rows_it_holds_with_the_rows_tags() {
        let recent = RecentEvents::default();
        recent.keep(10);
        recent.remember(vec![event("a", "ka"), event("b", "kb")]);
        let got = recent
            .resolve(&[row("b", "kb", r#"["vip"]"#), row("a", "ka", "[]")])
            .unwrap()
            .unwrap();
        assert_eq!(
            got.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert_eq!(got[0].tags, ["vip"]);
        assert_eq!(got[0].raw, json!({ "Id": "b" }));
    }

    #[test]
    fn a_first_row_it_does_not_hold_or_hold_differently_means_a_full_read() {
        let recent = RecentEvents::default();
        recent.keep(10);
        recent.remember(vec![event("a", "ka"), event("b", "kb")]);
        // Same id, another record (the stored one came from elsewhere).
        assert!(
            recent
                .resolve(&[row("a", "other", "[]")])
                .unwrap()
                .is_none()
        );
        assert!(
            recent
                .resolve(&[row("z", "kz", "[]"), row("a", "ka", "[]")])
                .unwrap()
                .is_none()
        );
        assert_eq!(recent.hits_and_misses(), (0, 2));
        // A later row it lacks cuts the batch short before that row.
        let prefix = |rows: &[SequenceRow]| {
            recent
                .resolve(rows)
                .unwrap()
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            prefix(&[
                row("a", "ka", "[]"),
                row("z", "kz", "[]"),
                row("b", "kb", "[]")
            ]),
            ["a"]
        );
        assert_eq!(
            prefix(&[
                row("b", "kb", "[]"),
                row("a", "ka", "[]"),
                row("a", "other", "[]")
            ]),
            ["b", "a"]
        );
        assert_eq!(recent.hits_and_misses(), (2, 2));
        recent.forget(["a"]);
        assert!(recent.resolve(&[row("a", "ka", "[]")]).unwrap().is_none());
    }

    #[test]
    fn the_first_copy_wins_and_the_oldest_go_beyond_capacity() {
        let recent = RecentEvents::default();
        recent.keep(3);
        recent.remember(vec![event("a", "first"), event("a", "second")]);
        assert!(
            recent
                .resolve(&[row("a", "first", "[]")])
                .unwrap()
                .is_some()
        );
        recent.remember(vec![event("b", "kb"), event("c", "kc"), event("d", "kd")]);
        assert!(
            recent
                .resolve(&[row("a", "first", "[]")])
                .unwrap()
                .is_none()
        );
        assert!(
            recent
                .resolve(&[row("b", "kb", "[]"), row("d", "kd", "[]")])
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_hand_over_wakes_a_waiting_consumer() {
        let recent = RecentEvents::default();
        recent.keep(10);
        let mut stored = recent.subscribe();
        let waiting = tokio::spawn(async move { stored.changed().await.is_ok() });
        tokio::task::yield_now().await;
        recent.remember(vec![event("a", "ka")]);
        assert!(waiting.await.unwrap());
        // Stored while nobody was waiting: the next wait returns at once.
        let mut late = recent.subscribe();
        recent.remember(vec![event("b", "kb")]);
        tokio::time::timeout(std::time::Duration::from_secs(5), late.changed())
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn corrupt_tags_are_an_error_not_a_panic() {
        let recent = RecentEvents::default();
        recent.keep(3);
        recent.remember(vec![event("a", "ka")]);
        assert!(matches!(
            recent.resolve(&[row("a", "ka", "not json")]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
