use std::process::ExitCode;

use crate::cli::FetchArgs;

pub async fn run(_args: FetchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("fetch: not implemented yet")
}
