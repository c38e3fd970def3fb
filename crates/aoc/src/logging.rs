use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::Cli;

/// The variable that picks the log line format.
const FORMAT_VARIABLE: &str = "AOC_LOG_FORMAT";

/// How each log line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// For people: one readable line, coloured only on a terminal.
    Text,
    /// For log shippers: one JSON object a line.
    Json,
}

impl Format {
    /// AOC_LOG_FORMAT's value; unset or empty is text. The settings table cannot check it: the
    /// log has to start before the settings are read, so that their warnings have somewhere to go.
    fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim).unwrap_or_default() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "{FORMAT_VARIABLE}: expected text or json, got '{}'",
                other.escape_debug()
            )),
        }
    }
}

/// Escape codes only where something will render them: a file or a log collector would keep
/// them as noise. NO_COLOR (https://no-color.org) turns them off on a terminal too.
fn colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Logs go to stderr so stdout stays for command output (and MCP stdio later). An unusable
/// AOC_LOG_FORMAT is the one error: the caller reports it and stops.
pub fn init(cli: &Cli) -> Result<(), String> {
    let format = Format::parse(std::env::var(FORMAT_VARIABLE).ok().as_deref())?;
    let terminal = std::io::stderr().is_terminal();
    // A progress bar on a terminal says what the per-page log lines would; keep them out of it.
    let bars = matches!(cli.command, crate::cli::Command::Fetch(_)) && terminal;
    // The demo fetches every few minutes; a line per page and blob would bury its URL.
    let demo = matches!(cli.command, crate::cli::Command::Demo(_));
    // The bench raises thousands of alerts on purpose; a line each would bury its progress.
    let bench = matches!(cli.command, crate::cli::Command::Bench(_));
    let default = match (cli.verbose, bars, demo, bench) {
        (true, _, _, _) => "debug",
        (false, true, _, _) => "warn",
        (false, false, true, _) => "info,aoc_m365=warn",
        (false, false, false, true) => "info,aoc_app::alerting=warn",
        (false, false, false, false) => "info",
    };
    // sqlx's pool warns on every connection a database restart breaks ("error occurred while
    // testing the connection on-release"); AOC's store logs the outage once itself, so the
    // pool's own lines are kept to errors.
    let filter = EnvFilter::try_from_env("AOC_LOG")
        .or_else(|_| {
            EnvFilter::try_new(format!(
                "{default},sqlx=warn,sqlx::pool=error,hyper=warn,reqwest=warn"
            ))
        })
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        Format::Text => builder
            .with_ansi(colour(terminal, std::env::var_os("NO_COLOR").as_deref()))
            .try_init(),
        // The span list carries the request id (and any enclosing span) on every line.
        Format::Json => builder
            .with_ansi(false)
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn formats() {
        assert_eq!(Format::parse(None), Ok(Format::Text));
        assert_eq!(Format::parse(Some("")), Ok(Format::Text));
        assert_eq!(Format::parse(Some("text")), Ok(Format::Text));
        assert_eq!(Format::parse(Some(" json ")), Ok(Format::Json));
        for bad in ["JSON", "xml", "pretty", "json,text"] {
            let err = Format::parse(Some(bad)).unwrap_err();
            assert!(
                err.starts_with("AOC_LOG_FORMAT:") && err.contains(bad),
                "{err}"
            );
        }
        let err = Format::parse(Some("a\u{1b}[31m")).unwrap_err();
        assert!(!err.contains('\u{1b}'), "{err}");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
    }
}
