use aoc_domain::{NoResolver, NormalizeError, Normalizer, RecordKind, Source};
use serde_json::{Value, json};

use crate::support::{all_fixtures, fixture};

fn normalize(kind: RecordKind, raw: Value) -> Result<aoc_domain::Event, NormalizeError> {
    Normalizer::default().normalize(kind, Source::Import, raw, &NoResolver)
}

fn without(file: &str, key: &str) -> Value {
    let mut raw = fixture(file);
    raw.as_object_mut().unwrap().remove(key);
    raw
}

fn with(file: &str, key: &str, value: Value) -> Value {
    let mut raw = fixture(file);
    raw[key] = value;
    raw
}

#[test]
fn missing_required_fields_are_named() {
    let d = "directory/add_member_to_group.json";
    let u = "unified/exchange_set_mailbox.json";
    let i = "intune/wipe_device.json";
    let mut intune_nameless = fixture(i);
    intune_nameless.as_object_mut().unwrap().remove("activity");
    intune_nameless["displayName"] = json!("<null>");
    let cases = [
        (
            RecordKind::Directory,
            without(d, "activityDateTime"),
            NormalizeError::Field("activityDateTime"),
        ),
        (
            RecordKind::Directory,
            without(d, "activityDisplayName"),
            NormalizeError::Field("activityDisplayName"),
        ),
        (
            RecordKind::Directory,
            with(d, "activityDisplayName", json!("<null>")),
            NormalizeError::Field("activityDisplayName"),
        ),
        (
            RecordKind::Directory,
            with(d, "activityDateTime", json!(1709647653)),
            NormalizeError::Field("activityDateTime"),
        ),
        (
            RecordKind::Unified,
            without(u, "CreationTime"),
            NormalizeError::Field("CreationTime"),
        ),
        (
            RecordKind::Unified,
            with(u, "Operation", json!("")),
            NormalizeError::Field("Operation"),
        ),
        (
            RecordKind::Intune,
            without(i, "activityDateTime"),
            NormalizeError::Field("activityDateTime"),
        ),
        (
            RecordKind::Intune,
            intune_nameless,
            NormalizeError::Field("activity"),
        ),
        // A record normalized as the wrong kind lacks that kind's fields.
        (
            RecordKind::Unified,
            fixture(d),
            NormalizeError::Field("CreationTime"),
        ),
    ];
    for (kind, raw, want) in cases {
        assert_eq!(normalize(kind, raw), Err(want));
    }
    let message = normalize(RecordKind::Directory, without(d, "activityDisplayName"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("activityDisplayName"), "{message}");
}

#[test]
fn bad_timestamps_quote_the_value() {
    let raw = with(
        "unified/exchange_set_mailbox.json",
        "CreationTime",
        json!("05/03/2024 14:07"),
    );
    let err = normalize(RecordKind::Unified, raw).unwrap_err();
    assert_eq!(err, NormalizeError::Timestamp("05/03/2024 14:07".into()));
    assert!(err.to_string().contains("05/03/2024 14:07"));
}

#[test]
fn non_objects_are_rejected() {
    for raw in [json!([]), json!("text"), Value::Null, json!(42)] {
        for kind in [
            RecordKind::Directory,
            RecordKind::Unified,
            RecordKind::Intune,
        ] {
            assert_eq!(
                normalize(kind, raw.clone()),
                Err(NormalizeError::NotAnObject),
                "{raw}"
            );
        }
    }
}

/// Every field of every fixture, at every depth, swapped for each odd value a file can hold:
/// the normalizers may refuse the record but must never panic.
#[test]
fn no_field_of_any_shape_makes_a_normalizer_panic() {
    let odd_values = [
        Value::Null,
        json!("<null>"),
        json!(""),
        json!(7),
        json!(-1.5),
        json!(true),
        json!([]),
        json!({}),
        json!(["x"]),
        json!([null, 3, "<null>"]),
    ];
    for (file, kind) in all_fixtures() {
        if file.contains("large") {
            continue;
        }
        let raw = fixture(&file);
        let mut paths = Vec::new();
        collect_paths(&raw, &mut Vec::new(), &mut paths);
        for path in &paths {
            for odd in &odd_values {
                let mut mutated = raw.clone();
                if let Some(slot) = pointer_mut(&mut mutated, path) {
                    *slot = odd.clone();
                }
                let _ = Normalizer::ids_to_resolve(kind, &mutated);
                let _ = RecordKind::detect(&mutated);
                let _ = aoc_domain::normalize::modified_properties(&mutated);
                let _ = normalize(kind, mutated);
            }
        }
    }
}

fn collect_paths(value: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                here.push(k.clone());
                out.push(here.clone());
                collect_paths(v, here, out);
                here.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                here.push(i.to_string());
                out.push(here.clone());
                collect_paths(v, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn pointer_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let pointer: String = path
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect();
    value.pointer_mut(&pointer)
}
