//! Errors as a person reads them: one line, the outermost first, each cause once. Error types
//! often repeat their cause in their own message (sqlx says "error returned from database: X"
//! and then has X as its source), so a plain walk down the chain prints the same words again
//! and again.

/// `anyhow`'s chain in one line; see [`one_line`].
pub fn chain(error: &anyhow::Error) -> String {
    one_line(error.chain().map(ToString::to_string))
}

/// Messages joined with ": ", leaving out empty ones and those that say nothing new: a message
/// the line already holds, or one that only wraps a cause the line holds ("error returned from
/// database: X" once X is there).
pub fn one_line(messages: impl IntoIterator<Item = String>) -> String {
    let mut line = String::new();
    for message in messages {
        let message = message.trim();
        if message.is_empty() || said(&line, message) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(message);
    }
    line
}

fn said(line: &str, message: &str) -> bool {
    line.contains(message)
        || message
            .match_indices(": ")
            .any(|(at, sep)| line.contains(&message[at + sep.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Nested {
        message: String,
        source: Option<Box<Nested>>,
    }

    impl std::fmt::Display for Nested {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.message)
        }
    }

    impl std::error::Error for Nested {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static))
        }
    }

    fn nested(messages: &[&str]) -> Nested {
        let mut error: Option<Box<Nested>> = None;
        for m in messages.iter().rev() {
            error = Some(Box::new(Nested {
                message: (*m).to_string(),
                source: error,
            }));
        }
        *error.unwrap_or_else(|| unreachable!("at least one message"))
    }

    #[test]
    fn a_cause_repeated_in_each_message_is_printed_once() {
        const KILLED: &str = "terminating connection due to administrator command";
        // As the issue saw it: each layer put its source in its own message.
        let error = anyhow::Error::new(nested(&[
            &format!("storing imported events failed: database error: {KILLED}"),
            &format!("database error: {KILLED}"),
            &format!("error returned from database: {KILLED}"),
            KILLED,
        ]));
        let line = chain(&error);
        assert_eq!(
            line,
            format!("storing imported events failed: database error: {KILLED}")
        );
        assert_eq!(line.matches(KILLED).count(), 1);
    }

    #[test]
    fn distinct_causes_are_all_kept_in_order() {
        let error = anyhow::Error::new(nested(&["permission denied (os error 13)"]))
            .context("cannot read export.jsonl")
            .context("import failed");
        assert_eq!(
            chain(&error),
            "import failed: cannot read export.jsonl: permission denied (os error 13)"
        );
        assert_eq!(
            one_line(["a".to_string(), String::new(), "b".to_string()]),
            "a: b"
        );
    }
}
