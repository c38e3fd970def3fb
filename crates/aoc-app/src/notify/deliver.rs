//! The delivery loop: POST due outbox items to their channels, mark what was taken, and
//! schedule the rest again. Nothing is ever dropped: an item waits until its receiver accepts
//! it (or an operator removes it from the store).
//!
//! Delivery is at least once: a receiver that took a message whose acknowledgement was then
//! lost (or the store failing to record it) sees it again.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use aoc_store::{EventStore, OutboxItem, StoreResult};

use super::channel::Channel;
use super::metric_names;
use super::outbox::{Envelope, OutboxQueue};
use super::retry::{backoff, retry_after};
use crate::egress::{EgressError, EgressPolicy, redacted};

/// How the loop paces itself.
#[derive(Debug, Clone, Copy)]
pub struct NotifierOptions {
    /// Items taken per pass.
    pub batch: u32,
    /// The pause between passes when nothing more is due.
    pub idle: Duration,
    /// The first retry delay, doubled per failure up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        Self {
            batch: 100,
            idle: Duration::from_secs(2),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(600),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Items the store said were due.
    pub due: u64,
    pub delivered: u64,
    /// Attempts that failed (each rescheduled), items for unknown channels included.
    pub failed: u64,
    /// Items not tried because their channel is backing off (rate limited or unreachable).
    pub deferred: u64,
}

enum Outcome {
    Delivered,
    Failed {
        error: String,
        retry_in: Duration,
        /// The receiver as a whole is unavailable, not just this message: hold its other items.
        pause_channel: bool,
    },
}

/// Delivers queued notifications to the configured channels.
pub struct Notifier<S: OutboxQueue + ?Sized = dyn EventStore> {
    store: Arc<S>,
    channels: HashMap<String, Channel>,
    policy: EgressPolicy,
    client: reqwest::Client,
    options: NotifierOptions,
    /// Channels backing off, until when (in the clock `deliver_due` is given).
    paused: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl<S: OutboxQueue + ?Sized> Notifier<S> {
    /// Every channel URL is checked again by `policy` (its domain allowlist was applied when
    /// the channel was built), and requests go through `policy`'s guarded client.
    pub fn new(
        store: Arc<S>,
        channels: Vec<Channel>,
        policy: &EgressPolicy,
        options: NotifierOptions,
    ) -> Result<Self, EgressError> {
        for channel in &channels {
            policy.check_url(channel.url.as_str(), &[])?;
        }
        let client = policy
            .client_builder()
            .build()
            .map_err(|e| EgressError::Client(e.to_string()))?;
        Ok(Self {
            store,
            channels: channels.into_iter().map(|c| (c.name.clone(), c)).collect(),
            policy: policy.clone(),
            client,
            options,
            paused: Mutex::new(HashMap::new()),
        })
    }

    pub fn channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.values()
    }

    /// One pass: try every item due at `now`, oldest first.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> StoreResult<DeliveryReport> {
        let items = self.store.due(now, self.options.batch).await?;
        let mut report = DeliveryReport {
            due: items.len() as u64,
            ..DeliveryReport::default()
        };
        for item in items {
            if self.paused_until(&item.channel, now).is_some() {
                report.deferred += 1;
                continue;
            }
            let outcome = match self.channels.get(&item.channel) {
                Some(channel) => self.attempt(channel, &item, now).await,
                None => Outcome::Failed {
                    error: format!(
                        "channel {:?} is not configured (removed from the settings?); the item waits until it is",
                        item.channel
                    ),
                    retry_in: self.options.backoff_max,
                    pause_channel: false,
                },
            };
            match outcome {
                Outcome::Delivered => {
                    self.store.mark_delivered(item.id, Utc::now()).await?;
                    metrics::counter!(metric_names::DELIVERED, "channel" => item.channel.clone())
                        .increment(1);
                    report.delivered += 1;
                }
                Outcome::Failed {
                    error,
                    retry_in,
                    pause_channel,
                } => {
                    let retry_at = chrono::Duration::from_std(retry_in)
                        .ok()
                        .and_then(|d| now.checked_add_signed(d))
                        .unwrap_or(DateTime::<Utc>::MAX_UTC);
                    tracing::warn!(
                        channel = %item.channel,
                        item = item.id,
                        attempts = item.attempts + 1,
                        retry_at = %retry_at,
                        error = %error,
                        "notification not delivered; will retry"
                    );
                    self.store.mark_failed(item.id, &error, retry_at).await?;
                    if pause_channel && let Ok(mut paused) = self.paused.lock() {
                        paused.insert(item.channel.clone(), retry_at);
                    }
                    metrics::counter!(metric_names::FAILED, "channel" => item.channel.clone())
                        .increment(1);
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Deliver until `shutdown` completes: pass after pass while full batches come back, then
    /// a look every `idle`. A store failure is logged and retried after `idle`.
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let pause = match self.deliver_due(Utc::now()).await {
                Ok(report)
                    if report.due >= u64::from(self.options.batch)
                        && report.deferred < report.due =>
                {
                    Duration::ZERO
                }
                Ok(_) => self.options.idle,
                Err(e) => {
                    tracing::warn!(error = %e, "notification outbox unavailable; will retry");
                    self.options.idle
                }
            };
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    fn paused_until(&self, channel: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut paused = self.paused.lock().ok()?;
        match paused.get(channel) {
            Some(until) if *until > now => Some(*until),
            Some(_) => {
                paused.remove(channel);
                None
            }
            None => None,
        }
    }

    async fn attempt(&self, channel: &Channel, item: &OutboxItem, now: DateTime<Utc>) -> Outcome {
        let backoff = backoff(
            self.options.backoff_base,
            self.options.backoff_max,
            item.attempts,
            item.id,
        );
        let envelope: Envelope = match serde_json::from_value(item.payload.clone()) {
            Ok(envelope) => envelope,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("the queued payload is not a notification: {e}"),
                    retry_in: self.options.backoff_max,
                    pause_channel: false,
                };
            }
        };
        // The guard once more at send time: cheap, and it covers literal addresses, which
        // never reach the resolver.
        if let Err(e) = self.policy.check_url(channel.url.as_str(), &[]) {
            return Outcome::Failed {
                error: e.to_string(),
                retry_in: self.options.backoff_max,
                pause_channel: true,
            };
        }
        let dest = redacted(&channel.url);
        let sent = self
            .client
            .post(channel.url.clone())
            .header(USER_AGENT, concat!("aoc/", env!("CARGO_PKG_VERSION")))
            .header(CONTENT_TYPE, "application/json")
            .body(envelope.body.to_string())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("{dest}: {}", error_chain(&e.without_url())),
                    retry_in: backoff,
                    pause_channel: true,
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Delivered;
        }
        let throttled = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        );
        let asked = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now));
        let retry_in = match asked {
            // At least a second, so a "0" cannot make the loop spin.
            Some(delay) if throttled => delay.max(Duration::from_secs(1)),
            _ => backoff,
        };
        let body = response.text().await.unwrap_or_default();
        let excerpt: String = body
            .chars()
            .take(200)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        Outcome::Failed {
            error: format!("{dest} answered {status}: {}", excerpt.trim()),
            retry_in,
            pause_channel: throttled,
        }
    }
}

/// An error and its causes on one line: reqwest's own message alone says nothing useful.
fn error_chain(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use crate::egress::parse_allow_private;
    use crate::notify::channel::{ChannelKind, Severity};
    use crate::notify::outbox::enqueue_for;
    use crate::notify::outbox::tests::FakeOutbox;
    use crate::notify::payload::tests::alert;

    fn channel(name: &str, url: &str) -> Channel {
        Channel {
            name: name.into(),
            kind: ChannelKind::Generic,
            url: url.parse().unwrap(),
            min_severity: Severity::Low,
        }
    }

    fn local_policy() -> EgressPolicy {
        EgressPolicy::new(parse_allow_private("127.0.0.1").unwrap())
    }

    #[tokio::test]
    async fn an_unknown_channel_leaves_the_item_waiting_with_a_reason() {
        let store = Arc::new(FakeOutbox::default());
        let gone = channel("old", "http://127.0.0.1:9/");
        enqueue_for(&*store, &[gone], &alert(1, "high"), None)
            .await
            .unwrap();
        let notifier = Notifier::new(
            store.clone(),
            vec![],
            &local_policy(),
            NotifierOptions::default(),
        )
        .unwrap();
        let now = Utc::now();
        let report = notifier.deliver_due(now).await.unwrap();
        assert_eq!(
            report,
            DeliveryReport {
                due: 1,
                failed: 1,
                ..Default::default()
            }
        );
        let item = store.items.lock().unwrap()[0].clone();
        assert!(item.delivered_at.is_none());
        assert_eq!(item.attempts, 1);
        assert!(
            item.last_error
                .unwrap()
                .contains("\"old\" is not configured")
        );
        assert!(item.next_attempt_at > now);
    }

    #[tokio::test]
    async fn a_channel_outside_the_policy_is_refused_up_front() {
        let store = Arc::new(FakeOutbox::default());
        let err = Notifier::new(
            store,
            vec![channel("webhook", "http://127.0.0.1:9/")],
            &EgressPolicy::default(),
            NotifierOptions::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(err, EgressError::Scheme { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_refused_connection_backs_off_and_holds_the_channel() {
        // A port nothing listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = Arc::new(FakeOutbox::default());
        let ch = channel(
            "webhook",
            &format!("http://127.0.0.1:{port}/hook?token=s3cret"),
        );
        for id in 1..=3 {
            enqueue_for(&*store, std::slice::from_ref(&ch), &alert(id, "high"), None)
                .await
                .unwrap();
        }
        let notifier = Notifier::new(
            store.clone(),
            vec![ch],
            &local_policy(),
            NotifierOptions::default(),
        )
        .unwrap();
        let now = Utc::now();
        let report = notifier.deliver_due(now).await.unwrap();
        assert_eq!(
            report,
            DeliveryReport {
                due: 3,
                delivered: 0,
                failed: 1,
                deferred: 2
            }
        );
        let first = store.items.lock().unwrap()[0].clone();
        let error = first.last_error.unwrap();
        assert!(
            error.contains(&format!("127.0.0.1:{port}")) && !error.contains("s3cret"),
            "{error}"
        );
        let wait = first.next_attempt_at - now;
        assert!(
            wait >= chrono::Duration::milliseconds(2500) && wait <= chrono::Duration::seconds(5),
            "{wait}"
        );
    }
}
