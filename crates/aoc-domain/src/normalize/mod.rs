//! Normalizers: pure functions from one raw Microsoft record to an [`Event`].
//! CONTRACT (filled in by the normalizer work; signatures are what other crates call):

use std::collections::HashMap;

use serde_json::Value;

use crate::{Event, Source};

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
    pub fn detect(_raw: &Value) -> Option<RecordKind> {
        todo!()
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

/// Category labels and summary templates (built-in defaults, overridable by a YAML file).
#[derive(Debug, Clone, Default)]
pub struct Mappings {}

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
        _kind: RecordKind,
        _source: Source,
        _raw: Value,
        _resolver: &dyn NameResolver,
    ) -> Result<Event, NormalizeError> {
        todo!()
    }

    /// Object ids in the record whose names are not in the record itself and would be looked
    /// up in the directory (actor user id without displayName; targets without displayName
    /// or userPrincipalName).
    pub fn ids_to_resolve(_kind: RecordKind, _raw: &Value) -> Vec<String> {
        todo!()
    }
}
