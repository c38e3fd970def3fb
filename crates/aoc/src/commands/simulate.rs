use std::process::ExitCode;

use crate::cli::SimulateArgs;

pub async fn run(_args: SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("simulate: not implemented yet")
}
