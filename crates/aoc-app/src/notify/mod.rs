//! Alert notifications: each alert becomes one outbox item per configured channel (a generic
//! JSON webhook, Microsoft Teams, Slack) and a delivery loop POSTs due items through the egress
//! guard, retrying with backoff until the receiver takes them. The outbox is durable, so
//! nothing is lost to a restart or a receiver that is down for a day.
//!
//! - [`channel`]: what a channel is and how settings become channels.
//! - [`payload`]: the message each kind of receiver expects.
//! - [`outbox`]: queueing an alert (the rendered message is stored, so delivery never
//!   re-renders) and the slice of the store delivery needs.
//! - [`deliver`]: the [`Notifier`] loop and its retry schedule.

pub mod channel;
pub mod deliver;
#[cfg(test)]
mod delivery_tests;
pub mod outbox;
pub mod payload;
pub(crate) mod retry;

pub use channel::{Channel, ChannelKind, Severity, channels_from_settings, parse_severity};
pub use deliver::{DeliveryReport, Notifier, NotifierOptions};
pub use outbox::{OutboxQueue, enqueue_for};
pub use payload::payload_for;

/// Metric names the notifier records through the `metrics` facade.
pub mod metric_names {
    /// Counter {channel}: notifications a receiver accepted.
    pub const DELIVERED: &str = "aoc_notify_delivered_total";
    /// Counter {channel}: delivery attempts that failed (each is retried).
    pub const FAILED: &str = "aoc_notify_failed_total";
}
