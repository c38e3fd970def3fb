//! Normalizers: pure functions from one raw Microsoft record to an [`Event`].
//!
//! Records come from Microsoft's APIs and from files people export, so every field is read
//! leniently (see `fields`): absent, null, empty and `<null>` all mean "not there", and only
//! the fields an event cannot exist without (time and operation) are errors.

mod dedupe;
mod directory;
mod exchange;
mod fields;
mod intune;
mod ip;
mod mappings;
mod modified;
mod timestamp;
mod unified;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Event, Source};

pub use ip::normalize_client_ip;
pub use mappings::{MappingsError, SummaryContext};
pub use modified::{PropertyChange, modified_properties};
pub use timestamp::parse_timestamp;

/// Which Microsoft schema a raw record follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// Graph directoryAudit (Entra ID audit log).
    Directory,
    /// Office 365 Management Activity API common schema.
    Unified,
    /// Graph Intune auditEvent.
    Intune,
}

impl RecordKind {
    /// Guess the schema from a record's shape (for `aoc import`). None when it fits none.
    pub fn detect(raw: &Value) -> Option<RecordKind> {
        use fields::has;
        if !raw.is_object() {
            return None;
        }
        if has(raw, "activityDateTime") {
            if has(raw, "activityDisplayName")
                && (raw.get("category").is_some() || raw.get("initiatedBy").is_some())
            {
                return Some(RecordKind::Directory);
            }
            if (has(raw, "activity") || has(raw, "activityType"))
                && raw.get("actor").is_some()
                && (raw.get("resources").is_some() || raw.get("componentName").is_some())
            {
                return Some(RecordKind::Intune);
            }
            return None;
        }
        if has(raw, "CreationTime")
            && has(raw, "Operation")
            && (has(raw, "Workload") || has(raw, "RecordType"))
        {
            return Some(RecordKind::Unified);
        }
        None
    }

    /// The source an event of this kind gets when it is fetched.
    pub fn fetched_source(self) -> Source {
        match self {
            RecordKind::Directory => Source::Directory,
            RecordKind::Unified => Source::Unified,
            RecordKind::Intune => Source::Intune,
        }
    }
}

/// Resolves directory object ids to display names (filled from a cache / Graph beforehand).
pub trait NameResolver {
    fn resolve(&self, object_id: &str) -> Option<String>;
}

pub struct NoResolver;
impl NameResolver for NoResolver {
    fn resolve(&self, _object_id: &str) -> Option<String> {
        None
    }
}

/// A resolver over names looked up in advance.
#[derive(Debug, Default, Clone)]
pub struct MapResolver(pub HashMap<String, String>);
impl NameResolver for MapResolver {
    fn resolve(&self, object_id: &str) -> Option<String> {
        self.0.get(object_id).cloned()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NormalizeError {
    #[error("record is not a JSON object")]
    NotAnObject,
    #[error("missing or invalid field '{0}'")]
    Field(&'static str),
    #[error("invalid timestamp '{0}'")]
    Timestamp(String),
}

pub use mappings::Mappings;

/// What a source module reads from a record, before the raw record moves into the event.
pub(crate) struct Extracted {
    own_id: Option<String>,
    dedupe_key: String,
    timestamp: DateTime<Utc>,
    service: String,
    operation: String,
    result: String,
    actor_display: String,
    actor: Value,
    targets: Vec<Value>,
    target_displays: Vec<String>,
}

fn required_timestamp(raw: &Value, key: &'static str) -> Result<DateTime<Utc>, NormalizeError> {
    let text = fields::text(raw, key).ok_or(NormalizeError::Field(key))?;
    parse_timestamp(text).ok_or_else(|| NormalizeError::Timestamp(text.to_owned()))
}

/// Normalizes raw records with a set of mappings.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    pub mappings: Mappings,
}

impl Normalizer {
    pub fn new(mappings: Mappings) -> Self {
        Self { mappings }
    }

    /// Normalize one raw record. `source` is the Event's source (the kind's fetched source,
    /// or `Source::Import`).
    pub fn normalize(
        &self,
        kind: RecordKind,
        source: Source,
        raw: Value,
        resolver: &dyn NameResolver,
    ) -> Result<Event, NormalizeError> {
        if !raw.is_object() {
            return Err(NormalizeError::NotAnObject);
        }
        let x = match kind {
            RecordKind::Directory => directory::extract(&raw, resolver)?,
            RecordKind::Unified => unified::extract(&raw)?,
            RecordKind::Intune => intune::extract(&raw, resolver)?,
        };
        let display_summary = self.mappings.summarize(&SummaryContext {
            actor: &x.actor_display,
            operation: &x.operation,
            service: &x.service,
            result: &x.result,
            targets: &x.target_displays,
        });
        Ok(Event {
            id: x.own_id.unwrap_or_else(|| x.dedupe_key.clone()),
            source,
            timestamp: x.timestamp,
            service: x.service,
            operation: x.operation,
            result: x.result,
            actor_display: x.actor_display,
            actor: x.actor,
            target_displays: x.target_displays,
            targets: x.targets,
            display_summary,
            dedupe_key: x.dedupe_key,
            raw,
            tags: Vec::new(),
            comments: Vec::new(),
        })
    }

    /// Object ids in the record whose names are not in the record itself and would be looked
    /// up in the directory (actor user id without displayName; targets without displayName
    /// or userPrincipalName; Intune actor userId without userPrincipalName or application
    /// name). Only GUIDs are returned (and ever resolved): directory object ids are GUIDs and
    /// Graph's getByIds rejects anything else. No duplicates, in order of appearance.
    pub fn ids_to_resolve(kind: RecordKind, raw: &Value) -> Vec<String> {
        let mut ids = Vec::new();
        match kind {
            RecordKind::Directory => directory::ids_to_resolve(raw, &mut ids),
            RecordKind::Intune => intune::ids_to_resolve(raw, &mut ids),
            // UserId is already a name (a UPN or a service account).
            RecordKind::Unified => {}
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        ids.retain(|id| seen.insert(id.to_ascii_lowercase()));
        ids
    }

    /// The label for a category or workload (the configured one, or the name itself).
    pub fn service_label<'a>(&'a self, service: &'a str) -> &'a str {
        self.mappings.category_label(service)
    }
}
