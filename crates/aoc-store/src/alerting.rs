//! What the store keeps for alerting: rules, the matches threshold rules count, alerts, saved
//! searches and the notification outbox. Rule and search definitions are opaque JSON here: their
//! meaning (and validation) belongs to `aoc-domain` and `aoc-app`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A stored rule: its id, and the definition as `aoc-domain` serialized it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRule {
    pub id: String,
    pub definition: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An alert to raise. `dedupe_key` makes raising idempotent: per (rule, event) for single
/// event rules, per (rule, group, window) for threshold rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    pub rule_id: String,
    pub rule_name: String,
    /// low, medium, high or critical.
    pub severity: String,
    pub dedupe_key: String,
    /// The actor or target the threshold grouped by; None for single event rules.
    pub group_key: Option<String>,
    /// When the first and last matched event happened.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The matched events (ids), oldest first.
    pub event_ids: Vec<String>,
    /// The services of those events: what privacy gating checks without loading them.
    pub services: Vec<String>,
    /// One line saying what happened.
    pub summary: String,
}

/// A raised alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: String,
    pub dedupe_key: String,
    pub group_key: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub event_ids: Vec<String>,
    pub services: Vec<String>,
    pub summary: String,
    /// open, acknowledged or resolved.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who last changed the status, and the note they left.
    pub updated_by: Option<String>,
    pub note: Option<String>,
}

/// Which alerts to list: newest first (by id), those with an id below `before_id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertQuery {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub rule_id: Option<String>,
    /// On `created_at`.
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// How many alerts there are per rule, severity and status (for metrics and the badge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCount {
    pub rule_id: String,
    pub severity: String,
    pub status: String,
    pub count: u64,
}

/// One event a threshold rule matched, counted per group within its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    pub rule_id: String,
    pub group_key: String,
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
}

/// A threshold group's window: how many matches of a rule lie in it is what
/// [`crate::EventStore::rule_match_counts`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpan {
    pub group_key: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// A saved search: a name and the `/api/events` filters, owned by a subject, optionally shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedSearch {
    pub id: String,
    pub owner: String,
    pub name: String,
    pub shared: bool,
    pub filters: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A message to deliver (an alert notification). `dedupe_key` makes enqueueing idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOutboxItem {
    /// The configured destination it goes to (a channel name).
    pub channel: String,
    pub dedupe_key: String,
    pub payload: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: i64,
    pub channel: String,
    pub dedupe_key: String,
    pub payload: Value,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Per channel: what waits, what was delivered, the last failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxStatus {
    pub channel: String,
    pub pending: u64,
    pub delivered: u64,
    pub last_delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}
