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

/// Characters kept inside a word, so a GUID, IP address, UPN or host name is one word.
const JOINERS: [char; 4] = ['-', '.', '@', '_'];
/// Longer words (encoded blobs) are not indexed.
pub(crate) const MAX_WORD_CHARS: usize = 200;
/// Words indexed per raw record: PostgreSQL positions stop at 16383, and both backends must
/// index the same words.
pub(crate) const MAX_RAW_WORDS: usize = 16_383;
/// And at most this many bytes of them (a PostgreSQL tsvector must stay under 1 MB).
const MAX_RAW_WORDS_BYTES: usize = 256 * 1024;

/// The words of the raw record's string and number values in document order, lowercased,
/// space separated, at most [`MAX_RAW_WORDS`] (and 256 KiB).
pub(crate) fn raw_words(raw: &Value) -> String {
    let mut out = RawWords {
        text: String::with_capacity(1024),
        count: 0,
    };
    out.collect(raw);
    out.text
}

struct RawWords {
    text: String,
    count: usize,
}

impl RawWords {
    fn collect(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.push_words(s),
            Value::Number(n) => self.push_words(&n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| self.collect(v)),
            Value::Object(map) => map.values().for_each(|v| self.collect(v)),
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn push_words(&mut self, text: &str) {
        for word in words(text) {
            if self.count == MAX_RAW_WORDS || self.text.len() + word.len() >= MAX_RAW_WORDS_BYTES {
                return;
            }
            if !self.text.is_empty() {
                self.text.push(' ');
            }
            push_lowercase(&mut self.text, word);
            self.count += 1;
        }
    }
}

/// The words of `text`, lowercased and space separated.
fn normalized_words(text: &str) -> String {
    let mut out = String::new();
    for word in words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        push_lowercase(&mut out, word);
    }
    out
}

fn push_lowercase(out: &mut String, word: &str) {
    if word.is_ascii() {
        let start = out.len();
        out.push_str(word);
        if let Some(tail) = out.get_mut(start..) {
            tail.make_ascii_lowercase();
        }
    } else {
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
}

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || JOINERS.contains(&c)
    } else {
        c.is_alphanumeric()
    }
}

/// Runs of letters, digits and joiners, trimmed of joiners at either end.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word_char(c))
        .map(|w| w.trim_matches(&JOINERS[..]))
        .filter(|w| {
            !w.is_empty() && (w.len() <= MAX_WORD_CHARS || w.chars().count() <= MAX_WORD_CHARS)
        })
}

/// How many characters a substring query needs before the trigram index can serve it.
pub(crate) const TRIGRAM_MIN_CHARS: usize = 3;

/// A free-text query prepared for both match kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FreeText {
    /// The lowercased query, for an exact substring check.
    pub needle: String,
    /// The query's words (see [`raw_words`]), space separated; None when it has no letters
    /// or digits (then only the substring match applies).
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
        let joined = normalized_words(trimmed);
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

    /// A PostgreSQL `tsquery` literal: the words as a phrase.
    pub(crate) fn tsquery_phrase(&self) -> Option<String> {
        self.words.as_deref().map(|w| {
            w.split(' ')
                .map(ts_lexeme)
                .collect::<Vec<_>>()
                .join(" <-> ")
        })
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

/// A PostgreSQL `tsvector` literal of space-separated words, positions 1, 2, ... Built here
/// rather than by `to_tsvector` so PostgreSQL indexes exactly the words SQLite does. The store
/// sends the binary form (`postgres::encode::TsVector`); a test checks the two are equal.
#[cfg(test)]
pub(crate) fn tsvector_literal(words: &str) -> String {
    let mut out = String::with_capacity(words.len() * 2);
    for (i, w) in words.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&ts_lexeme(w));
        out.push(':');
        out.push_str(&(i + 1).min(MAX_RAW_WORDS).to_string());
    }
    out
}

/// A quoted lexeme for tsvector/tsquery input. Words never hold quotes or backslashes, but
/// escape them anyway.
fn ts_lexeme(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if matches!(c, '\'' | '\\') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
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
        assert_eq!(raw_words(&raw), "alice@contoso.com 42 10.0.0.1");
    }

    #[test]
    fn identifiers_stay_whole_and_edges_are_trimmed() {
        let raw = json!([
            "GUID 7F3C2A1E-9B4D-4C8E-A1F2-3D4E5F607182.",
            "(x_y) --- -a-",
            "Ünï Straße"
        ]);
        assert_eq!(
            raw_words(&raw),
            "guid 7f3c2a1e-9b4d-4c8e-a1f2-3d4e5f607182 x_y a ünï straße"
        );
    }

    #[test]
    fn raw_words_are_capped() {
        let raw = json!(vec!["w"; MAX_RAW_WORDS + 10]);
        assert_eq!(raw_words(&raw).split(' ').count(), MAX_RAW_WORDS);
        let long = "x".repeat(MAX_WORD_CHARS + 1);
        assert_eq!(raw_words(&json!([long, "kept"])), "kept");
    }

    #[test]
    fn ts_literals() {
        assert_eq!(tsvector_literal("a b.c a"), "'a':1 'b.c':2 'a':3");
        let q = FreeText::parse("Carol.Danvers@fabrikam.example said").unwrap();
        assert_eq!(
            q.tsquery_phrase().unwrap(),
            "'carol.danvers@fabrikam.example' <-> 'said'"
        );
        assert_eq!(ts_lexeme("it's\\"), "'it''s\\\\'");
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
