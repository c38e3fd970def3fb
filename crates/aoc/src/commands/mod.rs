pub mod bench;
pub mod demo;
pub mod demo_auth;
pub mod fetch;
pub mod import;
pub mod maintenance;
pub mod serve;
pub mod simulate;

use anyhow::Context;
use std::sync::Arc;

use aoc_app::{AppContext, Settings};

/// Settings from the environment, with errors that name the variable.
pub fn settings() -> anyhow::Result<Settings> {
    Settings::from_env().context("invalid configuration")
}

pub async fn open_context(settings: Settings) -> anyhow::Result<Arc<AppContext>> {
    Ok(AppContext::open(settings).await?)
}
