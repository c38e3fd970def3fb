//! Consumers of the stored event sequence: what acts on every stored event after it is stored
//! (alert rules, SIEM forwarding). Each consumer has a durable cursor of its own in the store,
//! so a crash or an outage of the consumer delays its work but loses no event, and one
//! consumer falling behind holds back no other.
//!
//! Delivery is at least once: the cursor moves only after [`Consumer::handle`] succeeded, so a
//! batch whose handling failed, or was cut short by a crash after its effects and before the
//! cursor was saved, is handed over again. Consumers make their effects idempotent per event
//! id. Several replicas may run the same consumer: the store only moves a cursor forward, so
//! they can hand a batch over twice (again: idempotent) but never make a consumer go back.

use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;

use aoc_domain::Event;
use aoc_store::{EventStore, SequencePosition, StoreError};

/// Something that acts on stored events, in the order they were stored.
#[async_trait]
pub trait Consumer: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stable and unique among consumers: the cursor is stored under it, and renaming a
    /// consumer starts it again from the first stored event.
    fn name(&self) -> &str;

    /// Act on a batch, in order. An error leaves the cursor where it was: the same batch
    /// comes again. Events handled before a crash may come again too.
    async fn handle(&self, events: &[Event]) -> Result<(), Self::Error>;
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError<E: std::error::Error + 'static> {
    #[error("event sequence or cursor: {0}")]
    Store(StoreError),
    #[error("consumer failed: {0}")]
    Consumer(E),
}

// By hand rather than `#[from]`: the message already holds the cause, and a `source` too would
// print it twice in a chain.
impl<E: std::error::Error + 'static> From<StoreError> for ConsumeError<E> {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Hand the consumer the next batch after its cursor (at most `batch` events) and move the
/// cursor past it once `handle` succeeded. Returns how many events were handled; 0 when the
/// consumer is up to date.
pub async fn run_once<C: Consumer + ?Sized>(
    store: &dyn EventStore,
    consumer: &C,
    batch: u32,
) -> Result<usize, ConsumeError<C::Error>> {
    // A position that lives for one batch: read from the store, saved right after.
    let mut position = Position::new(consumer.name());
    let handled = position.step(store, consumer, batch).await?;
    position.save(store).await?;
    Ok(handled)
}

/// How long a consumer working through a backlog may go without saving its position. Saving
/// is a write, and beside a bulk load every write waits for the writer behind the load's
/// batches (~0.1-0.2 s each on SQLite): a save per batch held consumers to a few thousand
/// events a second, below ingest's rate, so they fell behind for good. A crash re-delivers
/// at most this much work, which at-least-once delivery allows.
pub const SAVE_EVERY: Duration = Duration::from_secs(1);

/// How many times its configured batch a consumer in [`run_until`] reads at once while it
/// works through a backlog.
pub const CATCH_UP_FACTOR: u32 = 4;

/// A running consumer's position: read from the store once, then kept in memory; saved when
/// the consumer catches up, at most [`SAVE_EVERY`] apart while a backlog lasts, and when it
/// stops. [`run_until`] (the rule evaluator) uses it: re-handling a second of events after a
/// crash finds every alert raised already. SIEM forwarders save after every batch instead
/// ([`run_once`]): a re-sent batch is a duplicate in someone's SIEM.
pub struct Position {
    name: String,
    at: Option<SequencePosition>,
    loaded: bool,
    unsaved: bool,
    saved_at: Instant,
}

impl Position {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            at: None,
            loaded: false,
            unsaved: false,
            saved_at: Instant::now(),
        }
    }

    /// Hand the consumer the next batch (at most `batch` events) and move past it once
    /// `handle` succeeded. Returns how many events were handled; 0 when up to date (the
    /// position is then saved).
    pub async fn step<C: Consumer + ?Sized>(
        &mut self,
        store: &dyn EventStore,
        consumer: &C,
        batch: u32,
    ) -> Result<usize, ConsumeError<C::Error>> {
        if !self.loaded {
            self.at = store.get_consumer_cursor(&self.name).await?;
            self.loaded = true;
        }
        let read = store.events_after(self.at.as_ref(), batch.max(1)).await?;
        if read.events.is_empty() {
            self.save(store).await?;
            return Ok(0);
        }
        consumer
            .handle(&read.events)
            .await
            .map_err(ConsumeError::Consumer)?;
        if let Some(next) = read.next {
            self.at = Some(next);
            self.unsaved = true;
        }
        if self.saved_at.elapsed() >= SAVE_EVERY {
            self.save(store).await?;
        }
        Ok(read.events.len())
    }

    /// Save the position if it moved since the last save.
    pub async fn save(&mut self, store: &dyn EventStore) -> Result<(), StoreError> {
        if !self.unsaved {
            return Ok(());
        }
        if let Some(at) = &self.at
            && !store.set_consumer_cursor(&self.name, at).await?
        {
            // Another replica running this consumer got further: continue from there.
            tracing::debug!(consumer = %self.name, "cursor already further on");
            self.loaded = false;
        }
        self.unsaved = false;
        self.saved_at = Instant::now();
        Ok(())
    }
}

/// A consumer runs in this process from now on: have the store keep the events it stores
/// in memory a while, so the consumer reads them without decoding them back (see
/// `aoc_store::recent`).
/// Returns a receiver that changes when events are stored (see [`stored_since`]).
pub fn keep_recent(store: &dyn EventStore) -> Option<tokio::sync::watch::Receiver<u64>> {
    let recent = store.recent_events()?;
    recent.keep(aoc_store::recent::DEFAULT_CAPACITY);
    Some(recent.subscribe())
}

/// How far behind the stored events a consumer is, for a status route or a metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerLag {
    pub consumer: String,
    /// The consumer's saved position; None before it handled anything.
    pub position: Option<SequencePosition>,
    /// Stored events after its position, counted up to the cap asked for.
    pub events_behind: u64,
    /// True when `events_behind` stopped at the cap: the consumer is at least that far behind.
    pub capped: bool,
}

/// The lag of the consumer named `consumer`, counting at most `cap` events (counting a long
/// backlog in full would cost a scan of it on every status call).
pub async fn lag(
    store: &dyn EventStore,
    consumer: &str,
    cap: u64,
) -> Result<ConsumerLag, StoreError> {
    let position = store.get_consumer_cursor(consumer).await?;
    let events_behind = store.events_behind(position.as_ref(), cap).await?;
    Ok(ConsumerLag {
        consumer: consumer.to_string(),
        position,
        events_behind,
        capped: events_behind >= cap,
    })
}

/// How [`run_until`] paces a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Events per `handle` call.
    pub batch: u32,
    /// Pause when the consumer has caught up, before looking for new events.
    pub idle: Duration,
    /// Pause after a failed batch (store or consumer), before trying it again.
    pub retry: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            batch: 500,
            idle: Duration::from_secs(2),
            retry: Duration::from_secs(30),
        }
    }
}

/// Run a consumer until `shutdown` completes: batch after batch while events wait, then a
/// look every `idle` (or as soon as this process stores events); failures are logged and the
/// batch retried after `retry`. The position is saved as [`Position`] says. A batch in
/// progress runs to its end (stopping then does not make the consumer see it twice); to stop
/// a consumer stuck in `handle`, abort the task: at-least-once delivery covers that too.
pub async fn run_until<C: Consumer + ?Sized>(
    store: &dyn EventStore,
    consumer: &C,
    options: RunOptions,
    shutdown: impl Future<Output = ()>,
) {
    let mut stored = keep_recent(store);
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    let mut position = Position::new(consumer.name());
    let mut batch = options.batch.max(1);
    loop {
        let (pause, wake_on_store) = match position.step(store, consumer, batch).await {
            // A full batch means a backlog: look again at once, with a larger batch that
            // spreads the consumer's own writes (each waits behind a bulk load's batches for
            // the writer) over more events, up to CATCH_UP_FACTOR times the configured size.
            Ok(n) if n >= usize::try_from(batch).unwrap_or(usize::MAX) => {
                batch = batch
                    .saturating_mul(2)
                    .min(options.batch.max(1).saturating_mul(CATCH_UP_FACTOR));
                (Duration::ZERO, false)
            }
            // Up to date, or cut short where memory ends (the rest is being handed over and
            // wakes the consumer): wait for the next stored events.
            Ok(_) => {
                batch = options.batch.max(1);
                (options.idle, true)
            }
            Err(e) => {
                tracing::warn!(consumer = consumer.name(), error = %e, "consumer batch failed; will retry");
                (options.retry, false)
            }
        };
        tokio::select! {
            biased;
            () = &mut shutdown => {
                if let Err(e) = position.save(store).await {
                    tracing::warn!(consumer = consumer.name(), error = %e, "saving the consumer position failed; its last batches will come again");
                }
                return;
            }
            () = tokio::time::sleep(pause) => {}
            () = stored_since(stored.as_mut()), if wake_on_store => {}
        }
    }
}

/// Resolves when this process stored events since the receiver last looked; never without a
/// receiver (the caller's pause then runs its course).
pub async fn stored_since(stored: Option<&mut tokio::sync::watch::Receiver<u64>>) {
    if let Some(rx) = stored
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use std::sync::{Arc, Mutex};

    use aoc_domain::Source;
    use chrono::{DateTime, Utc};
    use serde_json::json;

    fn event(id: &str) -> Event {
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
            dedupe_key: format!("key-{id}"),
            raw: json!({ "Id": id }),
            tags: Vec::new(),
            comments: Vec::new(),
        }
    }

    fn events(prefix: &str, n: usize) -> Vec<Event> {
        (0..n).map(|i| event(&format!("{prefix}{i}"))).collect()
    }

    fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("{prefix}{i}")).collect()
    }

    async fn open(dir: &tempfile::TempDir) -> Arc<dyn EventStore> {
        let url = format!("sqlite://{}", dir.path().join("aoc.db").display());
        aoc_store::open(&url).await.unwrap()
    }

    /// Records what it was handed; fails the calls listed in `fail_calls` (counted from 1).
    struct Recorder {
        name: &'static str,
        handled: Mutex<Vec<String>>,
        calls: Mutex<usize>,
        fail_calls: Vec<usize>,
    }

    impl Recorder {
        fn new(name: &'static str) -> Self {
            Self {
                name,
                handled: Mutex::default(),
                calls: Mutex::default(),
                fail_calls: Vec::new(),
            }
        }

        fn handled(&self) -> Vec<String> {
            self.handled.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl Consumer for Recorder {
        type Error = std::io::Error;

        fn name(&self) -> &str {
            self.name
        }

        async fn handle(&self, events: &[Event]) -> Result<(), Self::Error> {
            let call = {
                let mut calls = self.calls.lock().unwrap();
                *calls += 1;
                *calls
            };
            if self.fail_calls.contains(&call) {
                return Err(std::io::Error::other("SIEM unreachable"));
            }
            let mut handled = self.handled.lock().unwrap();
            handled.extend(events.iter().map(|e| e.id.clone()));
            Ok(())
        }
    }

    #[tokio::test]
    async fn batches_deliver_each_new_event_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let consumer = Recorder::new("alerts");
        assert_eq!(run_once(&*store, &consumer, 4).await.unwrap(), 0);

        store.insert_batch(&events("a", 10)).await.unwrap();
        let mut sizes = Vec::new();
        loop {
            let n = run_once(&*store, &consumer, 4).await.unwrap();
            sizes.push(n);
            if n == 0 {
                break;
            }
        }
        assert_eq!(sizes, [4, 4, 2, 0]);
        assert_eq!(consumer.handled(), ids("a", 0..10));

        // Re-delivered records beside new ones: only the new ones reach the consumer.
        let mut again = events("a", 3);
        again.extend(events("b", 2));
        store.insert_batch(&again).await.unwrap();
        assert_eq!(run_once(&*store, &consumer, 100).await.unwrap(), 2);
        let mut want = ids("a", 0..10);
        want.extend(ids("b", 0..2));
        assert_eq!(consumer.handled(), want);

        // Another consumer starts from the first event, on its own cursor.
        let other = Recorder::new("siem");
        assert_eq!(run_once(&*store, &other, 100).await.unwrap(), 12);
        assert_eq!(other.handled(), want);
    }

    #[tokio::test]
    async fn a_position_is_saved_on_catching_up_not_per_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        store.insert_batch(&events("p", 10)).await.unwrap();
        let consumer = Recorder::new("lazy");
        let mut position = Position::new("lazy");
        assert_eq!(position.step(&*store, &consumer, 4).await.unwrap(), 4);
        assert_eq!(position.step(&*store, &consumer, 4).await.unwrap(), 4);
        // Within a second of starting: handled, but not saved yet (a crash now would hand
        // these 8 over again, which at-least-once delivery allows).
        assert_eq!(store.get_consumer_cursor("lazy").await.unwrap(), None);
        assert_eq!(consumer.handled(), ids("p", 0..8));
        assert_eq!(position.step(&*store, &consumer, 4).await.unwrap(), 2);
        assert_eq!(position.step(&*store, &consumer, 4).await.unwrap(), 0);
        // Caught up: saved, and a fresh position (a restart) starts after the last event.
        assert!(store.get_consumer_cursor("lazy").await.unwrap().is_some());
        assert_eq!(lag(&*store, "lazy", 100).await.unwrap().events_behind, 0);
        let mut restarted = Position::new("lazy");
        assert_eq!(restarted.step(&*store, &consumer, 4).await.unwrap(), 0);
        assert_eq!(consumer.handled(), ids("p", 0..10));

        // A failed batch leaves the position where it was: the same events come again.
        store.insert_batch(&events("q", 3)).await.unwrap();
        let failing = Recorder {
            fail_calls: vec![1],
            ..Recorder::new("lazy")
        };
        assert!(restarted.step(&*store, &failing, 4).await.is_err());
        assert_eq!(restarted.step(&*store, &failing, 4).await.unwrap(), 3);
        assert_eq!(failing.handled(), ids("q", 0..3));
        // Saving on stop writes what moved since the last save.
        restarted.save(&*store).await.unwrap();
        assert_eq!(lag(&*store, "lazy", 100).await.unwrap().events_behind, 0);
    }

    #[tokio::test]
    async fn a_failed_batch_is_retried_and_nothing_is_lost_or_doubled() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        store.insert_batch(&events("f", 5)).await.unwrap();
        let consumer = Recorder {
            fail_calls: vec![2],
            ..Recorder::new("forward")
        };
        assert_eq!(run_once(&*store, &consumer, 3).await.unwrap(), 3);
        let saved = store.get_consumer_cursor("forward").await.unwrap();
        let err = run_once(&*store, &consumer, 3).await.unwrap_err();
        assert!(matches!(err, ConsumeError::Consumer(_)), "{err}");
        // The failure left the cursor where it was.
        assert_eq!(store.get_consumer_cursor("forward").await.unwrap(), saved);
        assert_eq!(run_once(&*store, &consumer, 3).await.unwrap(), 2);
        assert_eq!(run_once(&*store, &consumer, 3).await.unwrap(), 0);
        assert_eq!(consumer.handled(), ids("f", 0..5));
        assert_eq!(*consumer.calls.lock().unwrap(), 3);
    }

    /// Its effects done, then stuck, as if the process died before the cursor was saved.
    struct DiesAfterEffects {
        handled: Mutex<Vec<String>>,
        effects_done: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    }

    #[async_trait]
    impl Consumer for DiesAfterEffects {
        type Error = std::io::Error;

        fn name(&self) -> &str {
            "forward"
        }

        async fn handle(&self, events: &[Event]) -> Result<(), Self::Error> {
            self.handled
                .lock()
                .unwrap()
                .extend(events.iter().map(|e| e.id.clone()));
            if let Some(done) = self.effects_done.lock().unwrap().take() {
                let _ = done.send(());
            }
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_consumer_killed_before_its_cursor_was_saved_gets_the_batch_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        store.insert_batch(&events("k", 5)).await.unwrap();
        let first = Recorder::new("forward");
        assert_eq!(run_once(&*store, &first, 2).await.unwrap(), 2);

        let (done, effects_done) = tokio::sync::oneshot::channel();
        let dying = DiesAfterEffects {
            handled: Mutex::default(),
            effects_done: Mutex::new(Some(done)),
        };
        tokio::select! {
            r = run_once(&*store, &dying, 2) => panic!("the run ended: {r:?}"),
            r = effects_done => r.unwrap(),
        }
        // The run was dropped mid-batch; then the process "restarts".
        assert_eq!(dying.handled.lock().unwrap().clone(), ids("k", 2..4));
        drop(store);
        let store = open(&dir).await;

        let restarted = Recorder::new("forward");
        while run_once(&*store, &restarted, 2).await.unwrap() > 0 {}
        // At least once: the batch the dead run handled comes again, then the rest.
        assert_eq!(restarted.handled(), ids("k", 2..5));
    }

    #[tokio::test]
    async fn lag_counts_what_the_consumer_has_yet_to_handle() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        store.insert_batch(&events("l", 7)).await.unwrap();
        let before = lag(&*store, "alerts", 100).await.unwrap();
        assert_eq!(
            before,
            ConsumerLag {
                consumer: "alerts".into(),
                position: None,
                events_behind: 7,
                capped: false,
            }
        );
        let consumer = Recorder::new("alerts");
        run_once(&*store, &consumer, 5).await.unwrap();
        let after = lag(&*store, "alerts", 100).await.unwrap();
        assert_eq!(after.events_behind, 2);
        assert!(after.position.is_some());
        let capped = lag(&*store, "new", 3).await.unwrap();
        assert_eq!((capped.events_behind, capped.capped), (3, true));
    }

    #[tokio::test]
    async fn run_until_handles_everything_then_stops_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        store.insert_batch(&events("r", 25)).await.unwrap();
        let consumer = Arc::new(Recorder {
            // One failure on the way: retried after the pause.
            fail_calls: vec![2],
            ..Recorder::new("loop")
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = {
            let (store, consumer) = (store.clone(), consumer.clone());
            tokio::spawn(async move {
                let options = RunOptions {
                    batch: 10,
                    idle: Duration::from_millis(5),
                    retry: Duration::from_millis(5),
                };
                run_until(&*store, &*consumer, options, async {
                    let _ = stopped.await;
                })
                .await;
            })
        };
        store.insert_batch(&events("s", 3)).await.unwrap();
        while consumer.handled().len() < 28 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.send(()).unwrap();
        task.await.unwrap();
        let mut want = ids("r", 0..25);
        want.extend(ids("s", 0..3));
        assert_eq!(consumer.handled(), want);
    }
}
