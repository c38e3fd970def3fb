//! The `Parameters` of Exchange admin records (the cmdlet's arguments). The Management Activity
//! API sends an array of `{Name, Value}`; exports and older tools hand over the same array as a
//! JSON string, an object, or the cmdlet line itself (`-Identity "Room 1" -Type Shared`).

use serde_json::Value;

use super::fields::{as_text, present, text};

/// The value of the named parameter (case-insensitive), if the record has it.
pub(crate) fn parameter(parameters: &Value, name: &str) -> Option<String> {
    match parameters {
        Value::Array(items) => from_pairs(items, name),
        Value::Object(map) => map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| as_text(v))
            .map(str::to_owned),
        Value::String(s) => {
            let s = s.trim();
            if s.starts_with('[') || s.starts_with('{') {
                // serde_json keeps the last of repeated keys, so duplicated properties in
                // hand-edited exports do not fail the record.
                match serde_json::from_str::<Value>(s) {
                    Ok(decoded @ (Value::Array(_) | Value::Object(_))) => parameter(&decoded, name),
                    _ => None,
                }
            } else {
                from_command_line(s, name)
            }
        }
        _ => None,
    }
}

fn from_pairs(items: &[Value], name: &str) -> Option<String> {
    items
        .iter()
        .find(|p| text(p, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|p| text(p, "Value"))
        .map(str::to_owned)
}

/// `-Name value`, `-Name "quoted value"`, `-Name 'quoted'` or `-Name:value`.
fn from_command_line(line: &str, name: &str) -> Option<String> {
    let mut rest = line;
    while let Some(dash) = rest.find('-') {
        let after = rest.get(dash + 1..)?;
        let word_end = after
            .find(|c: char| c.is_whitespace() || c == ':')
            .unwrap_or(after.len());
        let word = after.get(..word_end)?;
        let preceded_by_space = dash == 0
            || rest
                .get(..dash)
                .is_some_and(|b| b.ends_with(char::is_whitespace));
        if preceded_by_space && word.eq_ignore_ascii_case(name) {
            let value_part = after.get(word_end..)?;
            let value_part = value_part
                .strip_prefix(':')
                .unwrap_or(value_part)
                .trim_start();
            return read_value(value_part).and_then(|v| present(v).map(str::to_owned));
        }
        rest = after;
    }
    None
}

fn read_value(s: &str) -> Option<&str> {
    let quote = s.chars().next().filter(|c| *c == '"' || *c == '\'');
    match quote {
        Some(q) => {
            let inner = s.get(1..)?;
            Some(
                inner
                    .find(q)
                    .map_or(inner, |end| inner.get(..end).unwrap_or(inner)),
            )
        }
        None => {
            let end = s.find(char::is_whitespace).unwrap_or(s.len());
            s.get(..end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_identity_in_every_shape() {
        let cases = [
            json!([{"Name": "Identity", "Value": "bob@contoso.com"}, {"Name": "Type", "Value": "Shared"}]),
            json!([{"Name": "identity", "Value": "bob@contoso.com"}]),
            json!({"Identity": "bob@contoso.com"}),
            json!(r#"[{"Name":"Identity","Value":"bob@contoso.com"}]"#),
            json!(r#"{"Identity":"first","Identity":"bob@contoso.com"}"#),
            json!(r#"-Identity "bob@contoso.com" -Type Shared"#),
            json!("Set-Mailbox -Identity 'bob@contoso.com' -Type Shared"),
            json!("-Type Shared -Identity bob@contoso.com"),
            json!("-Identity:bob@contoso.com -Type:Shared"),
            json!("-Name x-Identity-like -Identity bob@contoso.com"),
        ];
        for c in cases {
            assert_eq!(
                parameter(&c, "Identity").as_deref(),
                Some("bob@contoso.com"),
                "{c}"
            );
        }
    }

    #[test]
    fn unicode_and_spaces_survive() {
        let p = json!(r#"-Identity "Salle de réunion Å 1" -AutomateProcessing AutoAccept"#);
        assert_eq!(
            parameter(&p, "Identity").as_deref(),
            Some("Salle de réunion Å 1")
        );
    }

    #[test]
    fn absent_or_broken_is_none() {
        let cases = [
            json!([]),
            json!([{"Name": "Identity", "Value": "<null>"}]),
            json!([{"Name": "Identity"}]),
            json!("[{\"Name\": \"Identity\", "),
            json!("-Type Shared"),
            json!("-Identity"),
            json!("-Identity \""),
            json!(null),
            json!(42),
        ];
        for c in cases {
            assert_eq!(parameter(&c, "Identity"), None, "{c}");
        }
    }
}
