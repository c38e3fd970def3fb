//! Citations in a model's answer, checked against the events it was given: an id it was not
//! given (invented, or steered there by hostile text) is replaced in the text and reported.

use std::collections::HashSet;

/// Shown in place of a cited id that was not among the events given.
pub const UNVERIFIED: &str = "unverified citation removed";

/// The answer with unknown citations replaced, the ids cited that were given, and those that
/// were not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub text: String,
    pub cited: Vec<String>,
    pub unknown: Vec<String>,
}

/// Check every `[id]` and `[id, id]` in `text` against `given`. A bracket holding words with
/// spaces is prose, not a citation, and is left alone.
pub fn check(text: &str, given: &HashSet<&str>) -> Checked {
    let mut out = String::with_capacity(text.len());
    let mut cited = Vec::new();
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after
            .find(['[', ']'])
            .filter(|&i| after.as_bytes()[i] == b']')
        else {
            out.push('[');
            rest = after;
            continue;
        };
        let inner = &after[..close];
        let tokens: Vec<&str> = inner.split(',').map(str::trim).collect();
        let is_citation = !inner.trim().is_empty()
            && tokens
                .iter()
                .all(|t| !t.is_empty() && !t.contains(char::is_whitespace));
        if is_citation {
            let kept: Vec<String> = tokens
                .iter()
                .map(|t| {
                    if given.contains(t) {
                        if !cited.iter().any(|c| c == t) {
                            cited.push(t.to_string());
                        }
                        t.to_string()
                    } else {
                        if !unknown.iter().any(|u| u == t) {
                            unknown.push(t.to_string());
                        }
                        UNVERIFIED.to_string()
                    }
                })
                .collect();
            out.push('[');
            out.push_str(&kept.join(", "));
            out.push(']');
        } else {
            out.push('[');
            out.push_str(inner);
            out.push(']');
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Checked {
        text: out,
        cited,
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_are_replaced_and_reported() {
        let given: HashSet<&str> = ["a1", "b2"].into_iter().collect();
        let c = check(
            "Alice reset it [a1]. Then [b2, zz9] and [see the note] and [ghost].",
            &given,
        );
        assert_eq!(c.cited, ["a1", "b2"]);
        assert_eq!(c.unknown, ["zz9", "ghost"]);
        assert_eq!(
            c.text,
            format!(
                "Alice reset it [a1]. Then [b2, {UNVERIFIED}] and [see the note] and [{UNVERIFIED}]."
            )
        );
        let plain = check("no citations [ here", &given);
        assert_eq!(plain.text, "no citations [ here");
    }
}
