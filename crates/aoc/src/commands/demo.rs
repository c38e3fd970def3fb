//! `aoc demo`: the simulated tenant and the server wired together on an embedded database in
//! a demo folder, with periodic fetch on. The README's first command.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use aoc_app::AppContext;

use crate::cli::DemoArgs;

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create the demo folder {}", args.dir.display()))?;
    let db = args.dir.join("aoc.db");
    let sim_config = super::simulate::sim_config(args.seed, args.days, None)?;
    let (tenant, client, secret, vault) = (
        sim_config.tenant_id.clone(),
        sim_config.client_id.clone(),
        sim_config.client_secret.clone(),
        sim_config.key_vault.name.clone(),
    );
    let sim = aoc_sim::start(sim_config)
        .await
        .context("cannot start the simulated tenant")?;

    // The demo's own wiring wins over the environment; everything else (rate limits, privacy,
    // CORS, ...) can still be set as usual.
    let mut overrides: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), format!("sqlite://{}", db.display())),
        ("BIND_ADDR".into(), args.bind.clone()),
        ("TENANT_ID".into(), tenant.clone()),
        ("CLIENT_ID".into(), client.clone()),
        ("CLIENT_SECRET".into(), secret.clone()),
        ("LOGIN_BASE_URL".into(), sim.base_url.clone()),
        ("GRAPH_BASE_URL".into(), sim.base_url.clone()),
        ("MANAGE_BASE_URL".into(), sim.base_url.clone()),
        ("ENABLE_PERIODIC_FETCH".into(), "true".into()),
        // The simulator does not throttle by rate, so the demo need not pace like Graph.
        ("GRAPH_MIN_INTERVAL_MS".into(), "20".into()),
        // The secrets the demo does not set itself (the webhook's clientState) come from the
        // simulated tenant's Key Vault, read as a deployment reads Azure's; never from a real
        // vault named in the environment or a .env.
        ("AZURE_KEY_VAULT_NAME".into(), vault),
        ("AZURE_KEY_VAULT_URL".into(), sim.base_url.clone()),
        ("AZURE_TENANT_ID".into(), tenant.clone()),
        ("AZURE_CLIENT_ID".into(), client),
        ("AZURE_CLIENT_SECRET".into(), secret),
        ("AZURE_AUTHORITY_HOST".into(), sim.base_url.clone()),
    ]);
    if std::env::var("UNIFIED_CONTENT_TYPES").is_err() {
        overrides.insert(
            "UNIFIED_CONTENT_TYPES".into(),
            "Audit.AzureActiveDirectory,Audit.Exchange,Audit.SharePoint,Audit.General".into(),
        );
    }
    // The demo shows alerts: the simulated tenant plants the built-in detections' positives.
    if std::env::var("ALERTS_ENABLED").is_err() {
        overrides.insert("ALERTS_ENABLED".into(), "true".into());
    }
    if std::env::var("FETCH_INTERVAL_MINUTES").is_err() {
        overrides.insert("FETCH_INTERVAL_MINUTES".into(), "5".into());
    }
    let mut users = None;
    if args.auth {
        for (k, v) in super::demo_auth::auth_env(&sim.base_url, &tenant) {
            overrides.insert(k, v);
        }
        users = Some(super::demo_auth::describe_users());
    }
    let lookup = |k: &str| overrides.get(k).cloned().or_else(|| std::env::var(k).ok());
    let (settings, secrets) = super::settings_from(&lookup).await?;
    let ctx = AppContext::open(settings).await?;
    let addr = ctx.settings.bind_addr;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr}: is another AOC running? Try --bind 127.0.0.1:8001")
    })?;
    let local = listener.local_addr()?;

    println!("AOC demo");
    println!(
        "  simulated tenant: {} (seed {}, {} days of history)",
        sim.base_url, args.seed, args.days
    );
    println!("  database:         {}", db.display());
    if let Some(vault) = secrets.vault() {
        let loaded = secrets.loaded();
        let loaded = if loaded.is_empty() {
            "nothing".to_string()
        } else {
            loaded.join(", ")
        };
        println!("  key vault:        {vault} (simulated): {loaded}");
    }
    if let Some(users) = users {
        println!("  sign-in:          on; demo users:\n{users}");
    }
    println!("  open http://{local}/ in a browser (Ctrl-C stops)");

    first_fetch(ctx.clone());
    let background = aoc_app::scheduler::start(ctx.clone());
    let options = aoc_server::ServerOptions::from_env()?;
    aoc_server::launch_with(listener, ctx, options, super::serve::shutdown_signal()).await?;
    background.abort();
    drop(sim);
    Ok(ExitCode::SUCCESS)
}

/// The first fetch, timed and summarised on stdout (the periodic fetch joins it).
fn first_fetch(ctx: std::sync::Arc<AppContext>) {
    tokio::spawn(async move {
        let clock = Instant::now();
        match ctx
            .ingest
            .fetch(
                aoc_app::ingest::FetchRequest::default(),
                &aoc_app::Caller::system("cli"),
            )
            .await
        {
            Ok(report) => {
                let seconds = clock.elapsed().as_secs_f64();
                println!(
                    "  first fetch: {} records, {} new events in {seconds:.1} s ({:.0} records/s){}",
                    report.fetched,
                    report.stored,
                    report.fetched as f64 / seconds.max(0.001),
                    if report.warnings.is_empty() {
                        String::new()
                    } else {
                        format!("; warnings: {}", report.warnings.join("; "))
                    }
                );
            }
            Err(e) => println!("  first fetch failed: {e}"),
        }
    });
}
