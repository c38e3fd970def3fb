//! One outcome vocabulary for every source. Each source words the result of an action its own
//! way (Graph `success`/`failure`/`timeout`, Intune `Success`/`Failure`, the Management
//! Activity API `Succeeded`/`PartiallySucceeded`/`Failed`, Exchange admin `True`/`False`, some
//! exports booleans); filters, alert rules and summaries need one word per meaning. The
//! source's own word stays on the event as `result_detail`.

use std::fmt;

/// What became of the action an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Success,
    Failure,
    /// Part of the action succeeded (`PartiallySucceeded`).
    Partial,
    /// The record does not say, or says something this vocabulary does not know.
    Unknown,
}

impl Outcome {
    /// The vocabulary, in the order a person reads it.
    pub const ALL: [Outcome; 4] = [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Partial,
        Outcome::Unknown,
    ];

    /// The stored and filtered word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Partial => "partial",
            Outcome::Unknown => "unknown",
        }
    }

    /// What a source's own result value means. Absent, empty and unrecognised values are
    /// `Unknown`: a record that does not say must not read as a success.
    pub fn from_source(value: Option<&str>) -> Outcome {
        value.and_then(Outcome::parse).unwrap_or(Outcome::Unknown)
    }

    /// An outcome as a person or a source writes it: the vocabulary or any source spelling,
    /// ignoring case, spaces, `-` and `_`. None when the text names no outcome.
    pub fn parse(text: &str) -> Option<Outcome> {
        let key: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        Some(match key.as_str() {
            "success" | "succeeded" | "successful" | "true" => Outcome::Success,
            // Graph's `timeout`: the directory did not complete the action in time, which is
            // not a success; the detail keeps the word.
            "failure" | "failed" | "fail" | "false" | "timeout" => Outcome::Failure,
            "partial" | "partiallysucceeded" | "partialsuccess" => Outcome::Partial,
            "unknown" | "unknownfuturevalue" => Outcome::Unknown,
            _ => return None,
        })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value a `result` filter compares with the stored outcome: the vocabulary word for
/// anything [`Outcome::parse`] knows (`FAILURE`, `False`, `Failed` all filter on `failure`),
/// otherwise the text trimmed and lowercased, which matches no event.
pub fn outcome_filter(value: &str) -> String {
    match Outcome::parse(value) {
        Some(outcome) => outcome.as_str().to_owned(),
        None => value.trim().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_round_trips() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            assert_eq!(Outcome::parse(&o.as_str().to_uppercase()), Some(o));
            assert_eq!(outcome_filter(o.as_str()), o.as_str());
        }
    }

    #[test]
    fn unknown_words_filter_on_nothing() {
        assert_eq!(Outcome::parse("maybe"), None);
        assert_eq!(outcome_filter("  Maybe "), "maybe");
        assert_eq!(Outcome::from_source(None), Outcome::Unknown);
        assert_eq!(Outcome::from_source(Some("")), Outcome::Unknown);
        assert_eq!(Outcome::from_source(Some("maybe")), Outcome::Unknown);
    }
}
