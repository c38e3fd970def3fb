use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = aoc::cli::Cli::parse();
    aoc::run(cli)
}
