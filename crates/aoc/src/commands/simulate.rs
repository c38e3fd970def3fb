//! `aoc simulate`: the simulated Microsoft 365 tenant on its own.

use std::process::ExitCode;

use anyhow::Context;
use aoc_sim::{EventRates, SimConfig};

use crate::cli::SimulateArgs;

pub async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut config = sim_config(args.seed, args.days, args.events_per_day)?;
    if let Some(n) = args.content_page_size {
        config.content_page_size = usize::from(n);
    }
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("cannot listen on {} (--bind)", args.bind))?;
    let addr = listener.local_addr()?;
    println!("simulated tenant listening on http://{addr}");
    println!("point AOC at it with:");
    println!("  TENANT_ID={}", config.tenant_id);
    println!("  CLIENT_ID={}", config.client_id);
    println!("  CLIENT_SECRET={}", config.client_secret);
    for var in ["LOGIN_BASE_URL", "GRAPH_BASE_URL", "MANAGE_BASE_URL"] {
        println!("  {var}=http://{addr}");
    }
    println!("and, to read secrets from its Key Vault with its VM managed identity:");
    println!("  AZURE_KEY_VAULT_URL=http://{addr}");
    println!("  AZURE_IMDS_ENDPOINT=http://{addr}");
    aoc_sim::serve(listener, config, super::serve::shutdown_signal())
        .await
        .context("the simulated tenant stopped")?;
    Ok(ExitCode::SUCCESS)
}

/// The simulator's settings; `events_per_day` is the total over all sources, split in the
/// default proportions (a real tenant's mix: mostly unified audit).
pub fn sim_config(seed: u64, days: u32, events_per_day: Option<u32>) -> anyhow::Result<SimConfig> {
    if !(1..=30).contains(&days) {
        anyhow::bail!("--days must be between 1 and 30, got {days}");
    }
    let mut config = SimConfig {
        seed,
        days,
        ..SimConfig::default()
    };
    if let Some(total) = events_per_day {
        if !(1..=5_000_000).contains(&total) {
            anyhow::bail!("--events-per-day must be between 1 and 5000000, got {total}");
        }
        let d = EventRates::default();
        let sum = u64::from(d.directory + d.intune + d.unified);
        let part = |n: u32| ((u64::from(n) * u64::from(total)) / sum).max(1) as u32;
        config.events_per_day = EventRates {
            directory: part(d.directory),
            intune: part(d.intune),
            unified: part(d.unified),
        };
    }
    Ok(config)
}
