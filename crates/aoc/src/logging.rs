use tracing_subscriber::EnvFilter;

use crate::cli::Cli;

/// Logs go to stderr so stdout stays for command output (and MCP stdio later).
pub fn init(cli: &Cli) {
    // A progress bar on a terminal says what the per-page log lines would; keep them out of it.
    let bars = matches!(cli.command, crate::cli::Command::Fetch(_))
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let default = match (cli.verbose, bars) {
        (true, _) => "debug",
        (false, true) => "warn",
        (false, false) => "info",
    };
    let filter = EnvFilter::try_from_env("AOC_LOG")
        .or_else(|_| EnvFilter::try_new(format!("{default},sqlx=warn,hyper=warn,reqwest=warn")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
