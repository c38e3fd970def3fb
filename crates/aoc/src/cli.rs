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
