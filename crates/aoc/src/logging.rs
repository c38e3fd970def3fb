use tracing_subscriber::EnvFilter;

use crate::cli::Cli;

/// Logs go to stderr so stdout stays for command output (and MCP stdio later).
pub fn init(cli: &Cli) {
    // A progress bar on a terminal says what the per-page log lines would; keep them out of it.
    let bars = matches!(cli.command, crate::cli::Command::Fetch(_))
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    // The demo fetches every few minutes; a line per page and blob would bury its URL.
    let demo = matches!(cli.command, crate::cli::Command::Demo(_));
    let default = match (cli.verbose, bars, demo) {
        (true, _, _) => "debug",
        (false, true, _) => "warn",
        (false, false, true) => "info,aoc_m365=warn",
        (false, false, false) => "info",
    };
    let filter = EnvFilter::try_from_env("AOC_LOG")
        .or_else(|_| EnvFilter::try_new(format!("{default},sqlx=warn,hyper=warn,reqwest=warn")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
