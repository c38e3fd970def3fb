use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// AOC, the Admin Operations Center: who changed what, when, across a Microsoft 365 tenant.
///
/// Settings come from the environment and an optional .env file in the working directory
/// (TENANT_ID, CLIENT_ID, CLIENT_SECRET, DATABASE_URL, BIND_ADDR, ...; see the README).
#[derive(Debug, Parser)]
#[command(name = "aoc", version, propagate_version = true)]
pub struct Cli {
    /// Log more (debug level). AOC_LOG overrides, e.g. AOC_LOG=aoc_app=trace.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server: REST API and web UI (and periodic fetch when enabled).
    Serve(ServeArgs),
    /// Import exported audit records from files: JSON, JSON lines, Graph list responses or
    /// Purview audit-search CSV exports. Importing a file twice stores each event once.
    Import(ImportArgs),
    /// Maintenance on stored events.
    Maintenance(MaintenanceArgs),
    /// Fetch audit logs from Microsoft 365 once (incremental from each source's watermark) and
    /// print what was stored. Needs TENANT_ID, CLIENT_ID and CLIENT_SECRET.
    Fetch(FetchArgs),
    /// Run the simulated Microsoft 365 tenant (login, Graph and Management Activity APIs) for
    /// tests and demos; point LOGIN_BASE_URL, GRAPH_BASE_URL and MANAGE_BASE_URL at it.
    Simulate(SimulateArgs),
    /// Run the simulated tenant and the server wired together on an embedded database in a demo
    /// folder, with periodic fetch on; prints the URL to open.
    Demo(DemoArgs),
    /// Measure ingest, query latency, memory, start-up and disk use on generated events.
    Bench(BenchArgs),
    /// Serve MCP (Model Context Protocol) on stdin/stdout for an AI assistant, over the
    /// configured database; privacy rules apply (needs AI_FEATURES_ENABLED=true).
    Mcp,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// How far back to look when a source has no watermark yet, in hours (1..720).
    #[arg(long, default_value_t = 168)]
    pub hours: i64,
    /// Fetch only this source.
    #[arg(long, value_parser = fetched_source)]
    pub source: Option<aoc_domain::Source>,
    /// Print the result as JSON (the shape of GET /api/fetch-audit-logs).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8010")]
    pub bind: String,
    /// Seed of the generated tenant: the same seed gives the same records.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days of history before now.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Events per day over all sources (split as a real tenant's: mostly unified audit).
    #[arg(long)]
    pub events_per_day: Option<u32>,
    /// Entries per page of the Management API content listing before a NextPageUri is sent.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub content_page_size: Option<u16>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address for the web UI and API.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: String,
    /// Folder for the demo database (created when missing; reused on the next run).
    #[arg(long, default_value = "aoc-demo")]
    pub dir: PathBuf,
    /// Seed of the simulated tenant.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days of history in the simulated tenant.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Turn on sign-in (OIDC against the simulated tenant, with demo users of different roles).
    #[arg(long)]
    pub auth: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Events to generate for the first ingest (and again for the second, on top).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Also measure PostgreSQL at this URL (a fresh database is created and dropped).
    #[arg(long)]
    pub postgres: Option<String>,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "target/bench/results.json")]
    pub json: PathBuf,
    /// Keep the benchmark databases (in target/bench) instead of deleting them.
    #[arg(long)]
    pub keep: bool,
    /// Skip the embedded SQLite store (measure PostgreSQL only).
    #[arg(long, requires = "postgres")]
    pub no_sqlite: bool,
    /// Measure ingest, memory during ingest and disk use only (no server, no queries): the
    /// quick loop when working on the write path.
    #[arg(long)]
    pub ingest_only: bool,
    /// Skip the alert-rule and SIEM phases (each ingests the first round again): the quick
    /// loop when only the write path or the queries changed.
    #[arg(long)]
    pub no_consumers: bool,
    /// `insert_batch` calls kept running at once during ingest (the importer uses 2; 1 gives
    /// the one-at-a-time figures to compare with).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub in_flight: u16,
    /// Rounds of the consumer phases (plain ingest, ingest with the alert rules beside it,
    /// ingest with SIEM forwarding beside it, each into an empty store); the table gives
    /// medians, since one ingest varies by more than the 10% a consumer may cost.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
    pub consumer_rounds: u16,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: BIND_ADDR, default 127.0.0.1:8000].
    #[arg(long)]
    pub bind: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import (format detected from content).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print every rejected record, not just the first 20.
    #[arg(long)]
    pub all_rejects: bool,
}

#[derive(Debug, Args)]
pub struct MaintenanceArgs {
    #[command(subcommand)]
    pub action: MaintenanceAction,
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceAction {
    /// Re-run normalization (and name resolution from the cache) over stored raw records,
    /// e.g. after changing MAPPINGS_FILE or upgrading AOC. Tags and comments are kept.
    Renormalize {
        /// Stop after this many events.
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Remove events that share a dedupe key with an older stored event (keeps the first).
    Dedupe,
}

/// `--source`: one of the sources a fetch reads (directory, unified, intune).
fn fetched_source(value: &str) -> Result<aoc_domain::Source, String> {
    let source: aoc_domain::Source = value.parse()?;
    if aoc_domain::Source::FETCHED.contains(&source) {
        Ok(source)
    } else {
        Err(format!(
            "'{value}' is not fetched (expected directory, unified or intune)"
        ))
    }
}
