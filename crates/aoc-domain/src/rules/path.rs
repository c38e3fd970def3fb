//! Paths into a raw source record: `a.b.c`, `x[]` (every element) and `x[Key=Value]` (the
//! elements whose `Key` equals `Value`, ignoring case). Parsed once per rule; walking one
//! borrows the record and allocates only where Microsoft hides JSON inside a string.
//!
//! Records are read leniently, as the normalizers read them: a key missing as written is
//! looked up ignoring case; a key applied to an array applies to each element; `[]` or a
//! filter applied to a single object treats it as a one-element array; and an array or object
//! written as a JSON text (exports do this to `Parameters`) is decoded first.

use serde_json::Value;

use super::text::eq_ci;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Each,
    /// The field name as written and the wanted value, lowercased.
    Filter {
        key: String,
        value: String,
    },
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    steps: Vec<Step>,
}

impl Path {
    /// Parses a path; the error says what is wrong (the caller adds the field).
    pub fn parse(text: &str) -> Result<Path, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        let mut steps = Vec::new();
        let mut rest = text;
        loop {
            let end = rest.find(['.', '[', ']']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() {
                return Err(format!(
                    "'{text}' has an empty key (write a.b, x[] or x[Key=Value])"
                ));
            }
            if key.trim() != key {
                return Err(format!("'{text}': key '{key}' has surrounding spaces"));
            }
            steps.push(Step::Key(key.to_owned()));
            rest = &rest[end..];
            while let Some(after) = rest.strip_prefix('[') {
                let close = after
                    .find(']')
                    .ok_or_else(|| format!("'{text}' has a '[' without its ']'"))?;
                let inner = &after[..close];
                if inner.contains('[') {
                    return Err(format!("'{text}' has a '[' inside a bracket"));
                }
                steps.push(filter_step(text, inner)?);
                rest = &after[close + 1..];
            }
            if rest.is_empty() {
                break;
            }
            match rest.strip_prefix('.') {
                Some(next) => rest = next,
                None => {
                    return Err(format!(
                        "'{text}' has an unexpected '{}'",
                        rest.chars().next().unwrap_or(']')
                    ));
                }
            }
        }
        Ok(Path { steps })
    }

    /// Calls `f` on every value the path leads to in `root` (arrays at the end are
    /// flattened), stopping at the first call that returns true. True when one did.
    pub fn any(&self, root: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
        walk(root, &self.steps, f)
    }
}

fn filter_step(text: &str, inner: &str) -> Result<Step, String> {
    if inner.is_empty() {
        return Ok(Step::Each);
    }
    let Some((key, value)) = inner.split_once('=') else {
        return Err(format!(
            "'{text}': '[{inner}]' is neither [] nor [Key=Value]"
        ));
    };
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() || value.is_empty() {
        return Err(format!(
            "'{text}': '[{inner}]' needs a key and a value ([Key=Value])"
        ));
    }
    Ok(Step::Filter {
        key: key.to_owned(),
        value: value.to_lowercase(),
    })
}

/// The value under `key`: as written, else ignoring case.
fn field<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// An array or object Microsoft (or an export) wrote as JSON text.
fn decoded(s: &str, open: char) -> Option<Value> {
    let t = s.trim();
    if !t.starts_with(open) {
        return None;
    }
    serde_json::from_str::<Value>(t)
        .ok()
        .filter(|v| v.is_array() || v.is_object())
}

fn walk(value: &Value, steps: &[Step], f: &mut dyn FnMut(&Value) -> bool) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return match value {
            Value::Array(items) => items.iter().any(&mut *f),
            other => f(other),
        };
    };
    match (step, value) {
        (_, Value::Null) => false,
        (Step::Key(key), Value::Object(map)) => {
            field(map, key).is_some_and(|next| walk(next, rest, f))
        }
        (Step::Key(_), Value::Array(items)) => items.iter().any(|item| walk(item, steps, f)),
        (Step::Key(_), Value::String(s)) => decoded(s, '{').is_some_and(|v| walk(&v, steps, f)),
        (Step::Key(_), _) => false,
        (Step::Each, Value::Array(items)) => items.iter().any(|item| walk(item, rest, f)),
        (Step::Filter { .. }, Value::Array(items)) => items
            .iter()
            .any(|item| selected(step, item) && walk(item, rest, f)),
        (Step::Each | Step::Filter { .. }, Value::String(s)) => {
            decoded(s, '[').is_some_and(|v| walk(&v, steps, f))
        }
        (Step::Each, other) => walk(other, rest, f),
        (Step::Filter { .. }, other) => selected(step, other) && walk(other, rest, f),
    }
}

fn selected(step: &Step, item: &Value) -> bool {
    let Step::Filter { key, value } = step else {
        return true;
    };
    let Value::Object(map) = item else {
        return false;
    };
    match field(map, key) {
        Some(Value::String(s)) => eq_ci(s.trim(), value),
        Some(Value::Number(n)) => eq_ci(&n.to_string(), value),
        Some(Value::Bool(b)) => eq_ci(if *b { "true" } else { "false" }, value),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn values(path: &str, root: &Value) -> Vec<Value> {
        let path = Path::parse(path).unwrap();
        let mut out = Vec::new();
        path.any(root, &mut |v| {
            out.push(v.clone());
            false
        });
        out
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "", "  ", ".a", "a.", "a..b", "a[", "a[b", "a]", "a[]b", "a[=x]", "a[k=]", "a[k]",
            "[]", "a[[k=v]]", "a. b",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in [
            "a",
            "a.b.c",
            "x[]",
            "x[].y",
            "x[Key=Value].y",
            "x[displayName=Role.DisplayName].newValue",
            "x[][]",
        ] {
            assert!(Path::parse(good).is_ok(), "{good:?} should parse");
        }
    }

    #[test]
    fn filters_pick_elements_ignoring_case_and_dots_in_values() {
        let root = json!({"targetResources": [
            {"modifiedProperties": [
                {"displayName": "Role.DisplayName", "newValue": "\"Global Administrator\""},
                {"displayName": "Role.TemplateId", "newValue": "\"62e90394\""}
            ]},
            {"modifiedProperties": [
                {"displayName": "role.displayname", "newValue": "\"Reports Reader\""}
            ]}
        ]});
        assert_eq!(
            values(
                "targetResources[].modifiedProperties[displayName=Role.DisplayName].newValue",
                &root
            ),
            vec![
                json!("\"Global Administrator\""),
                json!("\"Reports Reader\"")
            ]
        );
        assert!(
            values(
                "targetResources[].modifiedProperties[displayName=Nope].newValue",
                &root
            )
            .is_empty()
        );
    }

    #[test]
    fn lenient_reading() {
        let root = json!({
            "Parameters": "[{\"Name\":\"ForwardTo\",\"Value\":\"a@b.com\"}]",
            "Single": {"Name": "x", "Value": 5},
            "list": [{"k": 1}, {"k": 2}],
            "Upper": {"Inner": true}
        });
        assert_eq!(
            values("Parameters[Name=forwardto].Value", &root),
            vec![json!("a@b.com")]
        );
        assert_eq!(values("Single[Name=X].Value", &root), vec![json!(5)]);
        assert_eq!(values("list.k", &root), vec![json!(1), json!(2)]);
        assert_eq!(
            values("list", &root),
            vec![json!({"k": 1}), json!({"k": 2})]
        );
        assert_eq!(values("upper.inner", &root), vec![json!(true)]);
        assert!(values("missing.deeper", &root).is_empty());
    }
}
