use std::process::ExitCode;

use crate::cli::DemoArgs;

pub async fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("demo: not implemented yet")
}
