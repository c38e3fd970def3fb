use std::process::ExitCode;

use crate::cli::{MaintenanceAction, MaintenanceArgs};

pub async fn run(args: MaintenanceArgs) -> anyhow::Result<ExitCode> {
    let ctx = super::open_context(super::settings().await?).await?;
    let store = ctx.store();
    let progress = |n: u64| {
        if n.is_multiple_of(10_000) {
            eprintln!("  ... {n} events scanned");
        }
    };
    match args.action {
        MaintenanceAction::Renormalize { limit } => {
            let r =
                aoc_app::maintenance::renormalize(store, &ctx.normalizer, limit, &progress).await?;
            println!(
                "renormalize: scanned {}, updated {}, failed {}",
                r.scanned, r.updated, r.failed
            );
        }
        MaintenanceAction::Dedupe => {
            let r = aoc_app::maintenance::dedupe(store, &ctx.normalizer, &progress).await?;
            println!(
                "dedupe: scanned {}, removed {}, rekeyed {}",
                r.scanned, r.removed, r.rekeyed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
