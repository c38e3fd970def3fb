//! The `aoc` binary's commands. Each reads configuration, builds components and runs them.

pub mod cli;
pub mod commands;
mod logging;
pub mod report;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Run a parsed command line; errors are printed as one clear message.
pub fn run(cli: Cli) -> ExitCode {
    // `.env` in the working directory, as the original service did; real env vars win.
    let _ = dotenvy::dotenv();
    if let Err(e) = logging::init(&cli) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    // Names only: the values may be secrets.
    let names = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok());
    for warning in aoc_app::config::unknown_variable_warnings(names) {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::run(args).await,
            Command::Import(args) => commands::import::run(args).await,
            Command::Maintenance(args) => commands::maintenance::run(args).await,
            Command::Fetch(args) => commands::fetch::run(args).await,
            Command::Simulate(args) => commands::simulate::run(args).await,
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Bench(args) => commands::bench::run(args).await,
            Command::Mcp => commands::mcp::run().await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", report::chain(&e));
            ExitCode::FAILURE
        }
    }
}
