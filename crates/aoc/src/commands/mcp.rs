//! `aoc mcp`: the MCP server over stdin/stdout, for an AI assistant that starts AOC itself
//! (Claude Desktop, an IDE). It reads the configured database through the same services as the
//! API, as the system caller `mcp`, which has no privacy role: events PRIVACY_SERVICES hides
//! stay hidden. Logs go to stderr; stdout carries only the protocol.

use std::process::ExitCode;

use aoc_app::Caller;

pub async fn run() -> anyhow::Result<ExitCode> {
    let ctx = super::open_context(super::settings().await?).await?;
    if !ctx.settings.ai_features_enabled {
        anyhow::bail!("the MCP server is off: set AI_FEATURES_ENABLED=true to serve it");
    }
    tracing::info!("serving MCP on stdin/stdout");
    aoc_mcp::serve_stdio(ctx, Caller::system("mcp")).await?;
    Ok(ExitCode::SUCCESS)
}
