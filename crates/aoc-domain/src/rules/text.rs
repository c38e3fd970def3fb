//! Case-insensitive text comparison without allocating for the ASCII texts audit records
//! are mostly made of. Needles are lowercased once, when a rule is compiled.

use serde_json::Value;

/// `hay` equals `needle` (already lowercase), ignoring case.
pub(crate) fn eq_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        hay.len() == needle.len() && hay.eq_ignore_ascii_case(needle)
    } else {
        hay.chars().flat_map(char::to_lowercase).eq(needle.chars())
    }
}

/// `hay` contains `needle` (already lowercase), ignoring case.
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        let (first, rest) = (n[0], &n[1..]);
        // Only positions whose first byte fits are compared in full.
        (0..=h.len() - n.len()).any(|i| {
            h[i].to_ascii_lowercase() == first && h[i + 1..i + n.len()].eq_ignore_ascii_case(rest)
        })
    } else {
        hay.to_lowercase().contains(needle)
    }
}

/// The text inside a JSON string literal when it has no escapes (most of Microsoft's encoded
/// values), so it needs no decoding.
fn plain_literal(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['\\', '"'])).then_some(inner)
}

/// Calls `f` on each text a leaf value stands for, stopping at the first true: a string
/// itself (trimmed) and, when it is JSON text, what it decodes to (Microsoft writes
/// `modifiedProperties` values as `"\"Global Administrator\""` or `"[\"Mail.Read\"]"`);
/// numbers and booleans as written. Null, objects and arrays of objects give nothing.
pub(crate) fn texts(value: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match value {
        Value::String(s) => {
            let s = s.trim();
            if f(s) {
                return true;
            }
            if let Some(inner) = plain_literal(s) {
                return f(inner.trim());
            }
            if s.starts_with('"') || s.starts_with('[') {
                match serde_json::from_str::<Value>(s) {
                    Ok(Value::String(inner)) => f(inner.trim()),
                    Ok(Value::Array(items)) => items.iter().any(|item| match item {
                        Value::String(inner) => f(inner.trim()),
                        Value::Number(_) | Value::Bool(_) => scalar(item, f),
                        _ => false,
                    }),
                    _ => false,
                }
            } else {
                false
            }
        }
        Value::Number(_) | Value::Bool(_) => scalar(value, f),
        _ => false,
    }
}

fn scalar(value: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match value {
        Value::Number(n) => f(&n.to_string()),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        _ => false,
    }
}

/// A value that is there: not null, not an empty or `<null>` text (plain or JSON-encoded),
/// not an empty array or object.
pub(crate) fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => {
            let t = s.trim();
            !(t.is_empty()
                || t.eq_ignore_ascii_case("<null>")
                || t.eq_ignore_ascii_case("null")
                || t == "\"\""
                || t == "[]"
                || t == "{}")
        }
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::Number(_) | Value::Bool(_) => true,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn comparisons_ignore_case_in_and_out_of_ascii() {
        assert!(eq_ci("Global Administrator", "global administrator"));
        assert!(!eq_ci("Global Administrator", "global admin"));
        assert!(eq_ci("VERTRIEB – SÜD", "vertrieb – süd"));
        assert!(contains_ci("Set-Mailbox -FullAccess", "fullaccess"));
        assert!(!contains_ci("Full", "fullaccess"));
        assert!(contains_ci("ÄBC FullAccess", "fullaccess"));
    }

    #[test]
    fn json_texts_are_read_decoded_too() {
        let mut seen = Vec::new();
        texts(&json!("\"Global Administrator\""), &mut |t| {
            seen.push(t.to_owned());
            false
        });
        assert_eq!(seen, ["\"Global Administrator\"", "Global Administrator"]);
        seen.clear();
        texts(&json!("[\"Mail.Read\", 3]"), &mut |t| {
            seen.push(t.to_owned());
            false
        });
        assert_eq!(seen, ["[\"Mail.Read\", 3]", "Mail.Read", "3"]);
        assert!(texts(&json!(r#""say \"hi\"""#), &mut |t| t == "say \"hi\""));
        assert!(texts(&json!(false), &mut |t| t == "false"));
        assert!(!texts(&json!({"a": "b"}), &mut |_| true));
    }

    #[test]
    fn presence() {
        for absent in [
            json!(null),
            json!(""),
            json!(" <null> "),
            json!("\"\""),
            json!([]),
        ] {
            assert!(!is_present(&absent), "{absent}");
        }
        for present in [json!("x"), json!(0), json!(false), json!(["a"])] {
            assert!(is_present(&present), "{present}");
        }
    }
}
