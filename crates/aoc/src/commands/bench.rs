use std::process::ExitCode;

use crate::cli::BenchArgs;

pub async fn run(_args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("bench: not implemented yet")
}
