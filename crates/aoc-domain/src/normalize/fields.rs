//! Lenient field access over raw records. Microsoft's exports write absent values as JSON null,
//! as an empty string or as the literal text `<null>`; all three read as "absent" here, so the
//! normalizers never have to tell them apart.

use serde_json::Value;

/// A string value, trimmed, or None when it is not a string or reads as absent.
pub(crate) fn as_text(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => present(s),
        _ => None,
    }
}

/// `present` for a string already in hand.
pub(crate) fn present(s: &str) -> Option<&str> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("<null>") {
        None
    } else {
        Some(t)
    }
}

/// The text of `key` in `value` (None for non-objects, missing keys and absent-looking values).
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(as_text)
}

/// Scalars as text: some exports write booleans or numbers where the API writes strings
/// (e.g. `ResultStatus: true`).
pub(crate) fn scalar_text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) => present(s).map(str::to_owned),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The object under `key`, or None when it is missing, null, `<null>` or not an object.
pub(crate) fn object<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key).filter(|v| v.is_object())
}

/// The elements of the array under `key` (empty when it is missing or not an array).
pub(crate) fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    match value.get(key) {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// Whether `key` holds something other than an absent-looking value.
pub(crate) fn has(value: &Value, key: &str) -> bool {
    match value.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => present(s).is_some(),
        Some(_) => true,
    }
}

/// Directory object ids are GUIDs; Graph's `directoryObjects/getByIds` rejects anything else
/// with a 400, so only GUID-shaped ids are ever resolved.
pub(crate) fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_looking_values_read_as_none() {
        let v = json!({"a": null, "b": "", "c": "  ", "d": "<null>", "e": "<NULL>", "f": 3, "g": " x "});
        for key in ["a", "b", "c", "d", "e", "f", "missing"] {
            assert_eq!(text(&v, key), None, "{key}");
        }
        assert_eq!(text(&v, "g"), Some("x"));
        assert!(!has(&v, "d"));
        assert!(has(&v, "f"));
        assert_eq!(scalar_text(&v, "f").as_deref(), Some("3"));
        assert_eq!(text(&json!("not an object"), "a"), None);
    }

    #[test]
    fn guid_shape() {
        assert!(is_guid("4b7e3c2a-1f0d-4e5c-9a8b-7c6d5e4f3a2b"));
        assert!(is_guid("4B7E3C2A-1F0D-4E5C-9A8B-7C6D5E4F3A2B"));
        assert!(!is_guid("Directory_4b7e3c2a-1f0d-4e5c-9a8b-7c6d5e4f3a2b"));
        assert!(!is_guid("4b7e3c2a1f0d4e5c9a8b7c6d5e4f3a2b"));
        assert!(!is_guid("4b7e3c2a-1f0d-4e5c-9a8b-7c6d5e4f3a2é"));
    }
}
