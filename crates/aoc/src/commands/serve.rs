use std::process::ExitCode;

use anyhow::Context;

use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut settings = super::settings().await?;
    if let Some(bind) = args.bind {
        settings.bind_addr = bind
            .parse()
            .with_context(|| format!("--bind: expected HOST:PORT, got '{bind}'"))?;
    }
    let ctx = super::open_context(settings).await?;
    let addr = ctx.settings.bind_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(backend = ctx.backend(), "AOC listening on http://{local}");
    let background = aoc_app::scheduler::start(ctx.clone());
    aoc_server::launch(listener, ctx, shutdown_signal()).await?;
    background.abort();
    Ok(ExitCode::SUCCESS)
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
