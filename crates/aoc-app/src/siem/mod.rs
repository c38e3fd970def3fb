//! SIEM forwarding: every stored event reaches every configured target (a generic webhook,
//! Splunk's HTTP Event Collector, syslog RFC 5424 over TCP or TLS), at least once.
//!
//! - [`target`]: the targets the settings name, each checked by the egress guard.
//! - [`format`]: the body or frame each kind of receiver is sent.
//! - [`send`]: HTTP and syslog transports.
//! - [`forwarder`]: one consumer of the stored events per target, retrying with backoff.
//! - [`retention`]: keeps the retention purge off events a target has not received.

pub mod format;
pub mod forwarder;
pub mod retention;
pub mod send;
pub mod target;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use aoc_store::EventStore;

pub use forwarder::{ForwardOptions, Forwarder, SiemTargetStatus};
pub use retention::{PurgeDecision, purge_cutoff};
pub use send::DeliveryError;
pub use target::{Target, TargetError, TargetKind, targets_from_settings};

use crate::config::SiemSettings;
use crate::egress::EgressPolicy;

/// Metric names the forwarders record through the `metrics` facade.
pub mod metric_names {
    /// Counter {target}: events a SIEM receiver accepted.
    pub const DELIVERED: &str = "aoc_siem_delivered_total";
    /// Counter {target}: delivery attempts that failed (each is retried).
    pub const FAILED: &str = "aoc_siem_failed_total";
    /// Gauge {target}: stored events the target has not received yet.
    pub const BACKLOG: &str = "aoc_siem_backlog_events";
}

/// One forwarder per configured target (none while SIEM_ENABLED is off).
pub fn forwarders(
    settings: &SiemSettings,
    egress: &EgressPolicy,
    store: Arc<dyn EventStore>,
) -> Result<Vec<Arc<Forwarder>>, TargetError> {
    let options = ForwardOptions::from_settings(settings);
    targets_from_settings(settings, egress)?
        .into_iter()
        .map(|t| Forwarder::new(t, egress, store.clone(), options).map(Arc::new))
        .collect()
}
