//! Positions in the stored event sequence, for consumers that act on every stored event
//! (alert rules, SIEM forwarding) and keep a durable cursor of their own.
//!
//! A position is opaque outside the backend that issued it: SQLite numbers events in commit
//! order (`seq`), PostgreSQL orders them by inserting transaction and sequence value (see
//! `postgres/sequence.rs`). Both promise the same thing: an event stored after a consumer
//! read up to a position always comes after that position, so reading on from the last
//! position handled never skips an event and never returns one twice.

use serde::{Deserialize, Serialize};

use aoc_domain::Event;

/// Where a consumer is in the event sequence: after the event this position names.
/// Serializes as a plain string; only the backend that issued it can interpret it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SequencePosition(String);

impl SequencePosition {
    /// A position as stored or sent elsewhere (validated when a store reads it).
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SequencePosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Events read in sequence order, and the position to read on from.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceBatch {
    pub events: Vec<Event>,
    /// The position of the last event in `events`; the position asked for when `events` is
    /// empty (None when that was the start).
    pub next: Option<SequencePosition>,
}
