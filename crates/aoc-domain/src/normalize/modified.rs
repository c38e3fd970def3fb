//! What changed, decoded for display. Entra ID writes each old/new value as a JSON-encoded
//! string (`"[\"alice@contoso.com\"]"`); decoding them here gives the UI real lists and
//! objects. Values that are not JSON stay the text they were.

use serde::Serialize;
use serde_json::Value;

use super::fields::{array, present};

/// One modified property of a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyChange {
    pub name: String,
    pub old: Value,
    pub new: Value,
}

/// The modified properties of a record of any kind: Graph directoryAudit
/// `targetResources[].modifiedProperties`, Intune `resources[].modifiedProperties`, and the
/// Management Activity API's `ModifiedProperties`.
pub fn modified_properties(raw: &Value) -> Vec<PropertyChange> {
    let mut out = Vec::new();
    for target in array(raw, "targetResources") {
        collect(
            &mut out,
            array(target, "modifiedProperties"),
            ["displayName", "oldValue", "newValue"],
            true,
        );
    }
    for resource in array(raw, "resources") {
        // Intune writes plain text values; "True" or "5" there are not JSON documents.
        collect(
            &mut out,
            array(resource, "modifiedProperties"),
            ["displayName", "oldValue", "newValue"],
            false,
        );
    }
    collect(
        &mut out,
        array(raw, "ModifiedProperties"),
        ["Name", "OldValue", "NewValue"],
        true,
    );
    out
}

fn collect(
    out: &mut Vec<PropertyChange>,
    items: &[Value],
    [name, old, new]: [&str; 3],
    decode: bool,
) {
    for item in items {
        if !item.is_object() {
            continue;
        }
        let name = item
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        let old = value_of(item.get(old), decode);
        let new = value_of(item.get(new), decode);
        if name.is_empty() && old.is_null() && new.is_null() {
            continue;
        }
        out.push(PropertyChange {
            name: name.to_owned(),
            old,
            new,
        });
    }
}

fn value_of(value: Option<&Value>, decode: bool) -> Value {
    match value {
        None => Value::Null,
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("<null>") => Value::Null,
        Some(Value::String(s)) if decode => decode_json_text(s),
        Some(other) => other.clone(),
    }
}

/// A JSON-encoded string decoded, or the string itself when it is not JSON.
pub(crate) fn decode_json_text(s: &str) -> Value {
    if present(s).is_none() {
        return Value::String(s.to_owned());
    }
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned()))
}
