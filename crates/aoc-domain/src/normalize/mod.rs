//! Normalizers: pure functions from one raw Microsoft record to an [`Event`].
//!
//! Records come from Microsoft's APIs and from files people export, so every field is read
//! leniently (see `fields`): absent, null, empty and `<null>` all mean "not there", and only
//! the fields an event cannot exist without (time and operation) are errors.

mod actor;
mod dedupe;
mod directory;
mod exchange;
mod fields;
mod intune;
mod ip;
mod mappings;
mod modified;
mod outcome;
mod timestamp;
mod unified;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Event, Source};

pub use actor::UNKNOWN_ACTOR;
pub use ip::normalize_client_ip;
pub use mappings::{MappingsError, SummaryContext};
pub use modified::{PropertyChange, modified_properties};
pub use outcome::{Outcome, outcome_filter};
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
    /// The source's own result value, as text ("" when the record has none).
    result_detail: String,
    /// Set when the record says more than its result field (a failed STS logon).
    outcome: Option<Outcome>,
    /// "" when the record names no actor.
    actor_display: String,
    actor: Value,
    targets: Vec<Value>,
    target_displays: Vec<String>,
}

fn extract(
    kind: RecordKind,
    raw: &Value,
    resolver: &dyn NameResolver,
) -> Result<Extracted, NormalizeError> {
    match kind {
        RecordKind::Directory => directory::extract(raw, resolver),
        RecordKind::Unified => unified::extract(raw, resolver),
        RecordKind::Intune => intune::extract(raw, resolver),
    }
}

/// Wraps the id a [`Probe`] "resolves", so the slot it lands in can be found again. No
/// directory name contains it.
pub(crate) const PROBE_MARK: char = '\u{1}';

/// A resolver that names every id after itself, marked: normalizing with it shows where each
/// looked-up name would appear.
struct Probe;
impl NameResolver for Probe {
    fn resolve(&self, object_id: &str) -> Option<String> {
        Some(format!("{PROBE_MARK}{object_id}{PROBE_MARK}"))
    }
}

fn probed_id(display: &str) -> Option<&str> {
    display
        .strip_prefix(PROBE_MARK)
        .and_then(|rest| rest.strip_suffix(PROBE_MARK))
}

/// Every string in the part of a record that describes its actor.
fn actor_part_texts(kind: RecordKind, raw: &Value) -> Vec<&str> {
    fn collect<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::String(s) => out.push(s.trim()),
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            Value::Object(map) => map.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let keys: &[&str] = match kind {
        RecordKind::Directory => &["initiatedBy"],
        RecordKind::Intune => &["actor"],
        RecordKind::Unified => &["UserId", "Actor", "AppAccessContext"],
    };
    let mut out = Vec::new();
    for key in keys {
        if let Some(v) = raw.get(*key) {
            collect(v, &mut out);
        }
    }
    out
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
        let x = extract(kind, &raw, resolver)?;
        let outcome = x
            .outcome
            .unwrap_or_else(|| Outcome::from_source(Some(&x.result_detail)));
        let display_summary = self.mappings.summarize(&SummaryContext {
            actor: &x.actor_display,
            operation: &x.operation,
            service: &x.service,
            result: outcome.as_str(),
            targets: &x.target_displays,
        });
        let actor_display = if x.actor_display.is_empty() {
            UNKNOWN_ACTOR.to_owned()
        } else {
            x.actor_display
        };
        Ok(Event {
            id: x.own_id.unwrap_or_else(|| x.dedupe_key.clone()),
            source,
            timestamp: x.timestamp,
            service: x.service,
            operation: x.operation,
            result: outcome.as_str().to_owned(),
            result_detail: x.result_detail,
            actor_display,
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
    /// up in the directory: Graph directory audits' actor user id without displayName, app
    /// service principal id without any name, targets without displayName or
    /// userPrincipalName; Intune actor userId without userPrincipalName; Management Activity
    /// API `UserId` written as `ServicePrincipal_<id>` or a bare id, or the `Actor` array's
    /// ids when there is no `UserId`, unless the `Actor` array names the actor. Only GUIDs
    /// are returned (and ever resolved): directory object ids are GUIDs and Graph's getByIds
    /// rejects anything else. No duplicates, in order of appearance.
    pub fn ids_to_resolve(kind: RecordKind, raw: &Value) -> Vec<String> {
        let mut ids = Vec::new();
        match kind {
            RecordKind::Directory => directory::ids_to_resolve(raw, &mut ids),
            RecordKind::Intune => intune::ids_to_resolve(raw, &mut ids),
            RecordKind::Unified => unified::ids_to_resolve(raw, &mut ids),
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        ids.retain(|id| seen.insert(id.to_ascii_lowercase()));
        ids
    }

    /// The names an earlier normalization gave this record's ids, read back from the event
    /// it produced: for every place the actor or a target would show a looked-up name, the
    /// stored event's text there when it is a name (not the id, a prefixed id or the unknown
    /// label). `aoc maintenance renormalize` uses them so a name resolved once is kept after
    /// the cache forgot it or the object was deleted. A name the record itself carries in
    /// its actor (an Intune portal app, say) is never taken for the id's name.
    pub fn names_on(kind: RecordKind, stored: &Event) -> Vec<(String, String)> {
        if Self::ids_to_resolve(kind, &stored.raw).is_empty() {
            return Vec::new();
        }
        let Ok(probed) = extract(kind, &stored.raw, &Probe) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let actor_texts = actor_part_texts(kind, &stored.raw);
        if let Some(id) = probed_id(&probed.actor_display)
            && actor::is_name_for(&stored.actor_display, id)
            && !actor_texts.contains(&stored.actor_display.as_str())
        {
            out.push((id.to_owned(), stored.actor_display.clone()));
        }
        // Resolution only changes what a target shows, never how many there are, so the
        // stored displays line up with the probed ones.
        if probed.target_displays.len() == stored.target_displays.len() {
            for (probe, shown) in probed.target_displays.iter().zip(&stored.target_displays) {
                if let Some(id) = probed_id(probe)
                    && actor::is_name_for(shown, id)
                {
                    out.push((id.to_owned(), shown.clone()));
                }
            }
        }
        out
    }

    /// The label for a category or workload (the configured one, or the name itself).
    pub fn service_label<'a>(&'a self, service: &'a str) -> &'a str {
        self.mappings.category_label(service)
    }
}
