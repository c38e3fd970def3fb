//! The text both backends index and search, computed in Rust so that SQLite and PostgreSQL
//! agree on what a query matches.
//!
//! Two kinds of free-text match exist:
//! - substring: the query, lowercased, is a substring of the lowercased "short text" (actor,
//!   target displays, operation, display summary);
//! - raw words: the query's words (runs of letters and digits) appear consecutively among the
//!   words of the raw record's string and number values, so a GUID, IP address or UPN buried
//!   in the raw record matches as a phrase.

use aoc_domain::Event;
use serde_json::Value;

/// Separates the fields of the short text, so a query without a newline cannot match across
/// two fields.
const FIELD_SEPARATOR: char = '\n';

/// The lowercased text substring search runs over. A field already contained in an earlier
/// one is skipped: a substring of it is a substring of the earlier field too, and the summary
/// usually repeats the actor and targets, so this keeps the trigram index small.
pub(crate) fn short_text(event: &Event) -> String {
    let summary = event.display_summary.to_lowercase();
    let mut out = summary.clone();
    let mut add = |field: &str| {
        if field.is_empty() {
            return;
        }
        let lowered = field.to_lowercase();
        if !out.contains(lowered.as_str()) {
            if !out.is_empty() {
                out.push(FIELD_SEPARATOR);
            }
            out.push_str(&lowered);
        }
    };
    add(&event.actor_display);
    add(&event.operation);
    for target in &event.target_displays {
        add(target);
    }
    out
}

/// The words of every string and number value in `raw`, lowercased, separated by spaces.
pub(crate) fn raw_words(raw: &Value) -> String {
    let mut out = String::new();
    collect_words(raw, &mut out);
    out
}

fn collect_words(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => push_words(s, out),
        Value::Number(n) => push_words(&n.to_string(), out),
        Value::Array(items) => items.iter().for_each(|v| collect_words(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_words(v, out)),
        Value::Null | Value::Bool(_) => {}
    }
}

fn push_words(text: &str, out: &mut String) {
    for word in words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
}

/// Runs of letters and digits: the same split SQLite's unicode61 tokenizer makes.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// How many characters a substring query needs before the trigram index can serve it.
pub(crate) const TRIGRAM_MIN_CHARS: usize = 3;

/// A free-text query prepared for both match kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreeText {
    /// The lowercased query, for an exact substring check.
    pub needle: String,
    /// The query's words, lowercased and space separated; None when it has no letters or
    /// digits (then only the substring match applies).
    pub words: Option<String>,
}

impl FreeText {
    /// None for an empty or all-whitespace query: no text filter at all.
    pub(crate) fn parse(query: &str) -> Option<Self> {
        let trimmed = query.trim();
        if trimmed.is_empty() {
            return None;
        }
        let needle = trimmed.to_lowercase();
        let mut joined = String::new();
        push_words(trimmed, &mut joined);
        Some(Self {
            needle,
            words: (!joined.is_empty()).then_some(joined),
        })
    }

    /// True when the needle is long enough for the trigram index.
    pub(crate) fn trigram_searchable(&self) -> bool {
        self.needle.chars().count() >= TRIGRAM_MIN_CHARS
    }

    /// An FTS5 query over a `detail=none` trigram index: every distinct trigram of the needle
    /// as its own quoted string (implicit AND). It finds candidates; the exact substring check
    /// (`instr`) confirms them.
    pub(crate) fn fts5_trigrams(&self) -> String {
        let chars: Vec<char> = self.needle.chars().collect();
        let mut seen: Vec<String> = Vec::new();
        for window in chars.windows(TRIGRAM_MIN_CHARS) {
            let gram: String = window.iter().collect();
            if !seen.contains(&gram) {
                seen.push(gram);
            }
        }
        let quoted: Vec<String> = seen.iter().map(|g| fts5_string(g)).collect();
        quoted.join(" ")
    }

    /// An FTS5 phrase query for the words (None when there are none).
    pub(crate) fn fts5_words_phrase(&self) -> Option<String> {
        self.words.as_deref().map(fts5_string)
    }

    /// A LIKE pattern (escape character `\`) matching the needle anywhere.
    pub(crate) fn like_pattern(&self) -> String {
        let mut out = String::with_capacity(self.needle.len() + 2);
        out.push('%');
        for c in self.needle.chars() {
            if matches!(c, '%' | '_' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('%');
        out
    }
}

/// An FTS5 string literal: inside double quotes every character is literal except `"`, which
/// is doubled. No operator, parenthesis or column filter in user text survives this.
fn fts5_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_words_takes_values_not_keys() {
        let raw = json!({"UserId": "Alice@Contoso.com", "n": 42, "ok": true, "list": ["10.0.0.1"]});
        assert_eq!(raw_words(&raw), "alice contoso com 42 10 0 0 1");
    }

    #[test]
    fn free_text_prepares_both_kinds() {
        let q = FreeText::parse("  Ünïcode \"AND\" NEAR( ").unwrap();
        assert_eq!(q.needle, "ünïcode \"and\" near(");
        assert_eq!(q.words.as_deref(), Some("ünïcode and near"));
        assert_eq!(q.fts5_words_phrase().unwrap(), "\"ünïcode and near\"");
        assert!(q.fts5_trigrams().contains("\"e \"\"\""));
        assert!(FreeText::parse("   ").is_none());
        assert_eq!(FreeText::parse("*\"-").unwrap().words, None);
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        let q = FreeText::parse("50%_a\\b").unwrap();
        assert_eq!(q.like_pattern(), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn trigrams_are_distinct() {
        let q = FreeText::parse("aaaa").unwrap();
        assert_eq!(q.fts5_trigrams(), "\"aaa\"");
        assert!(!FreeText::parse("ab").unwrap().trigram_searchable());
    }
}
