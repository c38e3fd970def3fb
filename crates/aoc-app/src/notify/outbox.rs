//! Queueing alerts for delivery, and the part of the store the notifier uses.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use aoc_store::{Alert, EventStore, NewOutboxItem, OutboxItem, StoreResult};

use super::channel::{Channel, ChannelKind};
use super::payload::payload_for;

/// The outbox operations notifications need: every [`EventStore`] has them; tests can use a
/// small fake instead of a whole store.
#[async_trait]
pub trait OutboxQueue: Send + Sync {
    async fn enqueue(&self, items: &[NewOutboxItem]) -> StoreResult<u64>;
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxItem>>;
    async fn mark_delivered(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    async fn mark_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> StoreResult<()>;
}

#[async_trait]
impl<S: EventStore + ?Sized> OutboxQueue for S {
    async fn enqueue(&self, items: &[NewOutboxItem]) -> StoreResult<u64> {
        self.enqueue_outbox(items).await
    }
    async fn due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxItem>> {
        self.due_outbox(now, limit).await
    }
    async fn mark_delivered(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        self.outbox_delivered(id, at).await
    }
    async fn mark_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> StoreResult<()> {
        self.outbox_failed(id, error, retry_at).await
    }
}

/// What an outbox item's payload holds: the rendered body and the format it was rendered for,
/// so delivery sends exactly what was queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub kind: ChannelKind,
    pub body: Value,
}

/// The outbox dedupe key of `alert` for `channel`: queueing the same alert twice is a no-op.
pub fn dedupe_key(alert_id: i64, channel: &str) -> String {
    format!("alert:{alert_id}:{channel}")
}

/// Queue `alert` for every channel whose minimum severity it meets; returns how many items
/// were new. `ui_base_url` (the service's public address) adds a link to the alert.
pub async fn enqueue_for<S: OutboxQueue + ?Sized>(
    store: &S,
    channels: &[Channel],
    alert: &Alert,
    ui_base_url: Option<&str>,
) -> StoreResult<u64> {
    let items: Vec<NewOutboxItem> = channels
        .iter()
        .filter(|ch| ch.wants(&alert.severity))
        .map(|ch| NewOutboxItem {
            channel: ch.name.clone(),
            dedupe_key: dedupe_key(alert.id, &ch.name),
            payload: serde_json::json!(Envelope {
                kind: ch.kind,
                body: payload_for(alert, ch.kind, ui_base_url),
            }),
        })
        .collect();
    if items.is_empty() {
        return Ok(0);
    }
    store.enqueue(&items).await
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use std::sync::Mutex;

    use crate::notify::channel::Severity;
    use crate::notify::payload::tests::alert;

    /// The outbox contract in memory: dedupe on key, due = undelivered and next_attempt_at <= now.
    #[derive(Default)]
    pub(crate) struct FakeOutbox {
        pub(crate) items: Mutex<Vec<OutboxItem>>,
    }

    #[async_trait]
    impl OutboxQueue for FakeOutbox {
        async fn enqueue(&self, items: &[NewOutboxItem]) -> StoreResult<u64> {
            let mut stored = self.items.lock().unwrap();
            let mut new = 0;
            for item in items {
                if stored.iter().any(|s| s.dedupe_key == item.dedupe_key) {
                    continue;
                }
                let id = i64::try_from(stored.len()).unwrap() + 1;
                stored.push(OutboxItem {
                    id,
                    channel: item.channel.clone(),
                    dedupe_key: item.dedupe_key.clone(),
                    payload: item.payload.clone(),
                    attempts: 0,
                    next_attempt_at: DateTime::<Utc>::UNIX_EPOCH,
                    last_error: None,
                    delivered_at: None,
                    created_at: Utc::now(),
                });
                new += 1;
            }
            Ok(new)
        }
        async fn due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxItem>> {
            let stored = self.items.lock().unwrap();
            Ok(stored
                .iter()
                .filter(|i| i.delivered_at.is_none() && i.next_attempt_at <= now)
                .take(limit as usize)
                .cloned()
                .collect())
        }
        async fn mark_delivered(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
            let mut stored = self.items.lock().unwrap();
            if let Some(i) = stored.iter_mut().find(|i| i.id == id) {
                i.delivered_at = Some(at);
            }
            Ok(())
        }
        async fn mark_failed(
            &self,
            id: i64,
            error: &str,
            retry_at: DateTime<Utc>,
        ) -> StoreResult<()> {
            let mut stored = self.items.lock().unwrap();
            if let Some(i) = stored.iter_mut().find(|i| i.id == id) {
                i.attempts += 1;
                i.last_error = Some(error.to_string());
                i.next_attempt_at = retry_at;
            }
            Ok(())
        }
    }

    fn channel(name: &str, kind: ChannelKind, min: Severity) -> Channel {
        Channel {
            name: name.into(),
            kind,
            url: "https://hooks.example.com/x".parse().unwrap(),
            min_severity: min,
        }
    }

    #[tokio::test]
    async fn one_item_per_channel_that_wants_the_alert_once() {
        let store = FakeOutbox::default();
        let channels = [
            channel("webhook", ChannelKind::Generic, Severity::Low),
            channel("teams", ChannelKind::Teams, Severity::High),
            channel("slack", ChannelKind::Slack, Severity::Critical),
        ];
        let a = alert(9, "high");
        assert_eq!(enqueue_for(&store, &channels, &a, None).await.unwrap(), 2);
        assert_eq!(
            enqueue_for(&store, &channels, &a, None).await.unwrap(),
            0,
            "deduped"
        );

        let items = store.items.lock().unwrap().clone();
        let keys: Vec<_> = items.iter().map(|i| i.dedupe_key.as_str()).collect();
        assert_eq!(keys, ["alert:9:webhook", "alert:9:teams"]);
        let teams: Envelope = serde_json::from_value(items[1].payload.clone()).unwrap();
        assert_eq!(teams.kind, ChannelKind::Teams);
        assert_eq!(teams.body, payload_for(&a, ChannelKind::Teams, None));
        assert_eq!(items[1].payload["kind"], "teams");

        assert_eq!(
            enqueue_for(&store, &channels, &alert(10, "low"), None)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            enqueue_for(&store, &[], &alert(11, "critical"), None)
                .await
                .unwrap(),
            0
        );
    }
}
