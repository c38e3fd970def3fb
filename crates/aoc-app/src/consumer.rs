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
use std::time::Duration;

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
    let name = consumer.name();
    let cursor = store.get_consumer_cursor(name).await?;
    let read = store.events_after(cursor.as_ref(), batch.max(1)).await?;
    if read.events.is_empty() {
        return Ok(0);
    }
    consumer
        .handle(&read.events)
        .await
        .map_err(ConsumeError::Consumer)?;
    if let Some(next) = read.next
        && !store.set_consumer_cursor(name, &next).await?
    {
        // Another replica running this consumer got there first; its position stands.
        tracing::debug!(consumer = name, "cursor already further on");
    }
    Ok(read.events.len())
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
/// look every `idle`; failures are logged and the batch retried after `retry`. A batch in
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
    let full = usize::try_from(options.batch.max(1)).unwrap_or(usize::MAX);
    loop {
        let (pause, wake_on_store) = match run_once(store, consumer, options.batch).await {
            // A full batch: more are likely waiting.
            Ok(n) if n >= full => (Duration::ZERO, false),
            Ok(_) => (options.idle, true),
            Err(e) => {
                tracing::warn!(consumer = consumer.name(), error = %e, "consumer batch failed; will retry");
                (options.retry, false)
            }
        };
        tokio::select! {
            biased;
            () = &mut shutdown => return,
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
