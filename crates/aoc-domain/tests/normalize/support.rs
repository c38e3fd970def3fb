use std::collections::HashMap;
use std::path::PathBuf;

use aoc_domain::normalize::parse_timestamp;
use aoc_domain::{Event, MapResolver, NameResolver, Normalizer, RecordKind};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub const ADELE_ID: &str = "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716";
pub const LEE_ID: &str = "91a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8";

/// A fixture by path under `fixtures/`.
pub fn fixture(path: &str) -> Value {
    let full: PathBuf = [env!("CARGO_MANIFEST_DIR"), "fixtures", path]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Every fixture with the kind it follows.
pub fn all_fixtures() -> Vec<(String, RecordKind)> {
    let mut out = Vec::new();
    for (dir, kind) in [
        ("directory", RecordKind::Directory),
        ("unified", RecordKind::Unified),
        ("intune", RecordKind::Intune),
    ] {
        let full: PathBuf = [env!("CARGO_MANIFEST_DIR"), "fixtures", dir]
            .iter()
            .collect();
        let mut names: Vec<String> = std::fs::read_dir(full)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| (format!("{dir}/{n}"), kind)));
    }
    out
}

pub fn ts(s: &str) -> DateTime<Utc> {
    parse_timestamp(s).unwrap()
}

pub fn resolver() -> MapResolver {
    MapResolver(HashMap::from([
        (ADELE_ID.to_owned(), "Adele Vance".to_owned()),
        (LEE_ID.to_owned(), "Lee Gu".to_owned()),
    ]))
}

pub fn normalize_with(kind: RecordKind, raw: Value, resolver: &dyn NameResolver) -> Event {
    Normalizer::default()
        .normalize(kind, kind.fetched_source(), raw, resolver)
        .unwrap()
}

/// The same JSON with every object's keys in reverse order.
pub fn reversed_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter().rev() {
                out.insert(k.clone(), reversed_keys(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(reversed_keys).collect()),
        other => other.clone(),
    }
}

/// What a fixture must normalize to.
pub struct Expected {
    pub file: &'static str,
    pub id: &'static str,
    pub timestamp: &'static str,
    pub service: &'static str,
    pub operation: &'static str,
    pub result: &'static str,
    pub result_detail: &'static str,
    pub actor_display: &'static str,
    pub target_displays: &'static [&'static str],
    pub summary: &'static str,
}

impl Expected {
    pub fn check(&self, kind: RecordKind, resolver: &dyn NameResolver) -> Event {
        let raw = fixture(self.file);
        let event = normalize_with(kind, raw.clone(), resolver);
        let f = self.file;
        if self.id.is_empty() {
            assert_eq!(
                event.id, event.dedupe_key,
                "{f}: id falls back to the dedupe key"
            );
        } else {
            assert_eq!(event.id, self.id, "{f}: id");
        }
        assert_eq!(event.source, kind.fetched_source(), "{f}: source");
        assert_eq!(event.timestamp, ts(self.timestamp), "{f}: timestamp");
        assert_eq!(event.service, self.service, "{f}: service");
        assert_eq!(event.operation, self.operation, "{f}: operation");
        assert_eq!(event.result, self.result, "{f}: result");
        assert_eq!(
            event.result_detail, self.result_detail,
            "{f}: result_detail"
        );
        assert_eq!(
            event.actor_display, self.actor_display,
            "{f}: actor_display"
        );
        assert_eq!(
            event.target_displays, self.target_displays,
            "{f}: target_displays"
        );
        assert_eq!(event.display_summary, self.summary, "{f}: display_summary");
        assert!(
            event.tags.is_empty() && event.comments.is_empty(),
            "{f}: no tags/comments"
        );
        assert_eq!(event.raw, raw, "{f}: raw kept untouched");
        event
    }
}
