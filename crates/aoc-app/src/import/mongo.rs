//! Documents of the original service's `events` collection, as `mongoexport` writes them (JSON
//! lines by default, a JSON array with `--jsonArray`), in canonical or relaxed Extended JSON.
//!
//! The original README documents the shape: `id`, `timestamp`, `service`, `operation`,
//! `result`, `actor_display`, `target_displays`, `display_summary`, `dedupe_key`, `actor`,
//! `targets`, `raw`, `raw_text`, plus the `tags` and `comments` people added. The untouched
//! Microsoft record in `raw` is normalized again like any other record, so the event's fields
//! are AOC's; the original's `id`, tags and comments are kept.
//!
//! The dedupe key is AOC's, not the original's. The original keyed on "source id or
//! timestamp/category/operation/target" in its own spelling; AOC keys a record on its kind and
//! id (`dir:<id>`, `int:<id>`, `uni:<OrganizationId>:<Id>`, or a hash for records without one,
//! see `aoc_domain::normalize`). A later fetch of the same record from Microsoft computes AOC's
//! key, so only AOC's key makes the store see the two as one event; a kept original key would
//! match nothing a fetch produces (and `aoc maintenance dedupe` would rewrite it to AOC's
//! anyway). Re-importing stays idempotent because AOC's key is a function of the raw record.
//! The original `id` is kept because links and scripts name events by it; for records with a
//! Microsoft id it is that id, the same one a fetch gives the event.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use aoc_domain::{Comment, Event, NoResolver, Normalizer, RecordKind, Source};

use crate::events::{MAX_COMMENT_LEN, validate_tags};

/// Author of an imported comment that does not say who wrote it.
pub const UNKNOWN_AUTHOR: &str = "unknown";

/// Whether a record read from a file is a document of the original service (or an event AOC
/// exported, which has the same fields) rather than a Microsoft record. A Microsoft record
/// never carries `dedupe_key`.
pub(crate) fn is_document(value: &Value) -> bool {
    value.get("dedupe_key").is_some()
        && (value.get("raw").is_some() || value.get("raw_text").is_some())
}

/// The event a document becomes, or why it cannot be imported.
pub(crate) fn to_event(normalizer: &Normalizer, document: Value) -> Result<Event, String> {
    let mut document = decode(document);
    let raw = raw_record(&mut document)?;
    let Some(kind) = RecordKind::detect(&raw) else {
        return Err(
            "document of the original service: its raw record is not an audit record AOC knows"
                .into(),
        );
    };
    let mut event = normalizer
        .normalize(kind, Source::Import, raw, &NoResolver)
        .map_err(|e| format!("document of the original service: its raw record: {e}"))?;
    if let Some(id) = original_id(&document) {
        event.id = id;
    }
    event.tags = tags(&document)?;
    event.comments = comments(&document, event.timestamp)?;
    Ok(event)
}

/// `raw`, or failing that `raw_text` (the same record as a string), as a JSON object.
fn raw_record(document: &mut Value) -> Result<Value, String> {
    let from_text = |text: &str| {
        serde_json::from_str::<Value>(text)
            .map_err(|e| format!("document of the original service: raw is not JSON: {e}"))
    };
    let raw = match document.get_mut("raw").map(Value::take) {
        Some(Value::String(text)) => from_text(&text)?,
        Some(Value::Null) | None => match document.get("raw_text").and_then(Value::as_str) {
            Some(text) => from_text(text)?,
            None => {
                return Err("document of the original service: it has no raw record".into());
            }
        },
        Some(raw) => raw,
    };
    if raw.is_object() {
        Ok(raw)
    } else {
        Err("document of the original service: its raw record is not a JSON object".into())
    }
}

fn original_id(document: &Value) -> Option<String> {
    match document.get("id")? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Tags under AOC's rules (the ones `PATCH /api/events/{id}/tags` applies); a document whose
/// tags break them is refused, naming the rule, rather than imported with tags missing.
fn tags(document: &Value) -> Result<Vec<String>, String> {
    let listed: Vec<String> = match document.get("tags") {
        Some(Value::Array(items)) => items.iter().filter_map(tag_text).collect(),
        Some(single) => tag_text(single).into_iter().collect(),
        None => Vec::new(),
    };
    validate_tags(&listed).map_err(|e| format!("document of the original service: {e}"))
}

fn tag_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    // An empty tag says nothing, and AOC's rules would refuse the whole document for it.
    Some(text).filter(|t| !t.is_empty())
}

/// Comments in document order. `author` may be missing (then [`UNKNOWN_AUTHOR`]); the time is
/// `created_at`, else `timestamp`, else the event's own time, the only instant the comment is
/// sure not to predate.
fn comments(document: &Value, event_time: DateTime<Utc>) -> Result<Vec<Comment>, String> {
    let items = match document.get("comments") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => return Ok(Vec::new()),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let (text, author, created_at) = match item {
            Value::String(text) => (text.as_str(), None, None),
            Value::Object(fields) => {
                let Some(text) = fields.get("text").and_then(Value::as_str) else {
                    continue;
                };
                (text, author_of(fields), time_of(fields))
            }
            _ => continue,
        };
        if text.trim().is_empty() {
            continue;
        }
        if text.chars().count() > MAX_COMMENT_LEN {
            return Err(format!(
                "document of the original service: a comment is longer than {MAX_COMMENT_LEN} characters"
            ));
        }
        out.push(Comment {
            author: author.unwrap_or_else(|| UNKNOWN_AUTHOR.to_owned()),
            text: text.to_owned(),
            created_at: created_at.unwrap_or(event_time),
        });
    }
    Ok(out)
}

fn author_of(fields: &Map<String, Value>) -> Option<String> {
    fields
        .get("author")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

fn time_of(fields: &Map<String, Value>) -> Option<DateTime<Utc>> {
    ["created_at", "timestamp"]
        .iter()
        .filter_map(|key| fields.get(*key))
        .find_map(|v| match v {
            Value::String(s) => aoc_domain::normalize::parse_timestamp(s),
            Value::Number(n) => n.as_i64().and_then(DateTime::from_timestamp_millis),
            _ => None,
        })
}

/// MongoDB Extended JSON (canonical and relaxed) to plain JSON: `{"$oid": h}` becomes `h`,
/// `{"$date": ...}` an RFC 3339 string, `{"$numberLong"|"$numberInt": "n"}` and
/// `{"$numberDouble": "x"}` numbers. `$numberDecimal` stays a string (a JSON number could
/// round it); anything else, and wrappers whose content does not parse, are left as they are.
pub(crate) fn decode(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(decode).collect()),
        Value::Object(map) => {
            if map.len() == 1
                && let Some(plain) = map.iter().next().and_then(|(k, v)| wrapped(k, v))
            {
                return plain;
            }
            Value::Object(map.into_iter().map(|(k, v)| (k, decode(v))).collect())
        }
        other => other,
    }
}

fn wrapped(key: &str, inner: &Value) -> Option<Value> {
    match key {
        "$oid" | "$symbol" | "$numberDecimal" => inner.as_str().map(|s| Value::String(s.into())),
        "$date" => date(inner).map(Value::String),
        "$numberLong" | "$numberInt" => inner.as_str()?.trim().parse::<i64>().ok().map(Value::from),
        "$numberDouble" => {
            let x: f64 = inner.as_str()?.trim().parse().ok()?;
            // NaN and the infinities have no JSON number: they keep their wrapper.
            serde_json::Number::from_f64(x).map(Value::Number)
        }
        _ => None,
    }
}

/// Relaxed mode writes dates from 1970 to 9999 as ISO-8601 strings, kept as they are;
/// canonical mode (and relaxed, outside that range) writes milliseconds since the epoch.
fn date(inner: &Value) -> Option<String> {
    let millis = match inner {
        Value::String(iso) => return Some(iso.clone()),
        Value::Object(m) if m.len() == 1 => m.get("$numberLong")?.as_str()?.trim().parse().ok()?,
        // The legacy shell format: a bare number of milliseconds.
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    DateTime::<Utc>::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn extended_json_becomes_plain_json() {
        let decoded = decode(json!({
            "_id": {"$oid": "65a1f0c2e4b0a1b2c3d4e5f6"},
            "relaxed": {"$date": "2026-01-02T03:04:05Z"},
            "canonical": {"$date": {"$numberLong": "1767323045000"}},
            "before_1970": {"$date": {"$numberLong": "-1000"}},
            "long": {"$numberLong": "12"},
            "int": {"$numberInt": "-7"},
            "double": {"$numberDouble": "1.5"},
            "nan": {"$numberDouble": "NaN"},
            "decimal": {"$numberDecimal": "0.10"},
            "nested": [{"n": {"$numberInt": "1"}}, {"$oid": "abc"}],
            "not_a_wrapper": {"$date": "x", "other": 1},
            "bad_long": {"$numberLong": "twelve"},
            "plain": "text",
        }));
        assert_eq!(
            decoded,
            json!({
                "_id": "65a1f0c2e4b0a1b2c3d4e5f6",
                "relaxed": "2026-01-02T03:04:05Z",
                "canonical": "2026-01-02T03:04:05.000Z",
                "before_1970": "1969-12-31T23:59:59.000Z",
                "long": 12,
                "int": -7,
                "double": 1.5,
                "nan": {"$numberDouble": "NaN"},
                "decimal": "0.10",
                "nested": [{"n": 1}, "abc"],
                "not_a_wrapper": {"$date": "x", "other": 1},
                "bad_long": {"$numberLong": "twelve"},
                "plain": "text",
            })
        );
    }

    fn directory_raw(id: &str) -> Value {
        json!({
            "id": id,
            "category": "UserManagement",
            "activityDisplayName": "Add user",
            "activityDateTime": "2026-01-02T03:04:05.1234567Z",
            "result": "success",
            "loggedByService": "Core Directory",
            "initiatedBy": {"user": {"id": "u1", "displayName": "Adele Vance", "userPrincipalName": "adele@contoso.com"}, "app": null},
            "targetResources": [{"id": "t1", "displayName": "New Hire", "type": "User"}]
        })
    }

    #[test]
    fn documents_are_told_from_microsoft_records() {
        assert!(is_document(
            &json!({"id": "x", "dedupe_key": "x", "raw": {}})
        ));
        assert!(is_document(&json!({"dedupe_key": "x", "raw_text": "{}"})));
        assert!(!is_document(&directory_raw("a")));
        assert!(!is_document(&json!({"dedupe_key": "x"})));
        assert!(!is_document(&json!([1])));
    }

    #[test]
    fn a_document_keeps_its_id_tags_and_comments_and_takes_aocs_key() {
        let normalizer = Normalizer::default();
        let fresh = normalizer
            .normalize(
                RecordKind::Directory,
                Source::Directory,
                directory_raw("Directory_1"),
                &NoResolver,
            )
            .unwrap();
        let event = to_event(
            &normalizer,
            json!({
                "_id": {"$oid": "65a1f0c2e4b0a1b2c3d4e5f6"},
                "id": "Directory_1",
                "timestamp": {"$date": "2026-01-02T03:04:05.123Z"},
                "service": "UserManagement",
                "operation": "Add user",
                "dedupe_key": "Directory_1",
                "raw": directory_raw("Directory_1"),
                "tags": ["investigating", " investigating ", "", "false_positive"],
                "comments": [
                    {"text": "Looks odd", "author": "Megan Bowen", "created_at": {"$date": {"$numberLong": "1767330245000"}}},
                    {"text": "Checked with HR", "timestamp": "2026-01-02T06:00:00"},
                    {"text": "  "},
                    "a bare string comment",
                ],
            }),
        )
        .unwrap();
        assert_eq!(event.id, "Directory_1");
        assert_eq!(event.source, Source::Import);
        assert_eq!(
            event.dedupe_key, fresh.dedupe_key,
            "a later fetch of the record must meet this event"
        );
        assert_eq!(event.operation, fresh.operation);
        assert_eq!(event.raw, fresh.raw);
        assert_eq!(event.tags, ["investigating", "false_positive"]);
        let comments: Vec<(&str, &str, String)> = event
            .comments
            .iter()
            .map(|c| {
                (
                    c.author.as_str(),
                    c.text.as_str(),
                    c.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                )
            })
            .collect();
        assert_eq!(
            comments,
            [
                (
                    "Megan Bowen",
                    "Looks odd",
                    "2026-01-02T05:04:05Z".to_string()
                ),
                (
                    UNKNOWN_AUTHOR,
                    "Checked with HR",
                    "2026-01-02T06:00:00Z".to_string()
                ),
                (
                    UNKNOWN_AUTHOR,
                    "a bare string comment",
                    "2026-01-02T03:04:05Z".to_string()
                ),
            ]
        );
    }

    #[test]
    fn an_event_aoc_exported_comes_back_with_its_notes() {
        let normalizer = Normalizer::default();
        let mut exported = normalizer
            .normalize(
                RecordKind::Directory,
                Source::Directory,
                directory_raw("Directory_4"),
                &NoResolver,
            )
            .unwrap();
        exported.tags = vec!["escalated".into()];
        exported.comments = vec![Comment {
            author: "Lee Gu".into(),
            text: "Called the user".into(),
            created_at: "2026-01-03T08:00:00Z".parse().unwrap(),
        }];
        let line = serde_json::to_value(&exported).unwrap();
        assert!(is_document(&line));
        let event = to_event(&normalizer, line).unwrap();
        assert_eq!(
            (&event.id, &event.dedupe_key, &event.tags, &event.comments),
            (
                &exported.id,
                &exported.dedupe_key,
                &exported.tags,
                &exported.comments
            )
        );
    }

    #[test]
    fn raw_text_stands_in_for_a_missing_raw_and_bad_documents_say_why() {
        let normalizer = Normalizer::default();
        let raw_text = directory_raw("Directory_2").to_string();
        let event = to_event(
            &normalizer,
            json!({"id": "Directory_2", "dedupe_key": "k", "raw": null, "raw_text": raw_text}),
        )
        .unwrap();
        assert_eq!(event.id, "Directory_2");
        assert!(event.tags.is_empty() && event.comments.is_empty());

        // No id in the document: the event keeps AOC's.
        let event = to_event(
            &normalizer,
            json!({"dedupe_key": "k", "raw": directory_raw("Directory_3")}),
        )
        .unwrap();
        assert_eq!(event.id, "Directory_3");

        for (document, reason) in [
            (
                json!({"dedupe_key": "k", "raw_text": "not json"}),
                "raw is not JSON",
            ),
            (
                json!({"dedupe_key": "k", "raw": {"hello": 1}}),
                "not an audit record",
            ),
            (json!({"dedupe_key": "k", "raw": [1]}), "not a JSON object"),
            (
                json!({"dedupe_key": "k", "raw": directory_raw("d"), "tags": ["x".repeat(65)]}),
                "each tag must be",
            ),
            (
                json!({"dedupe_key": "k", "raw": directory_raw("d"), "comments": [{"text": "x".repeat(MAX_COMMENT_LEN + 1)}]}),
                "longer than",
            ),
        ] {
            let err = to_event(&normalizer, document).unwrap_err();
            assert!(
                err.starts_with("document of the original service") && err.contains(reason),
                "{err}"
            );
        }
    }
}
