//! Background work: periodic fetch (ENABLE_PERIODIC_FETCH / FETCH_INTERVAL_MINUTES), the
//! retention purge (RETENTION_DAYS), alert rule evaluation (ALERTS_ENABLED) and SIEM
//! forwarding (SIEM_ENABLED).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::caller::Caller;
use crate::consumer::{self, RunOptions};
use crate::context::AppContext;
use crate::ingest::FetchRequest;
use crate::siem;

const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Threshold rules count matches over at most a week (the longest window a rule may have), so
/// older matches are dropped.
const RULE_MATCHES_KEPT: chrono::Duration = chrono::Duration::days(8);

/// The evaluator looks for new events this often when idle: an alert is raised within seconds
/// of the fetch that stored its event.
const EVALUATE_IDLE: Duration = Duration::from_secs(2);

/// Handles of the background tasks; abort them on shutdown.
pub struct Background(Vec<JoinHandle<()>>);

impl Background {
    pub fn abort(&self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

pub fn start(ctx: Arc<AppContext>) -> Background {
    let mut tasks = Vec::new();
    if ctx.settings.enable_periodic_fetch {
        if ctx.ingest.configured() {
            let ctx = ctx.clone();
            let every = ctx.settings.fetch_interval;
            tracing::info!(minutes = every.as_secs() / 60, "periodic fetch enabled");
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let scheduler = Caller::system("scheduler");
                loop {
                    tick.tick().await;
                    match ctx.ingest.fetch(FetchRequest::default(), &scheduler).await {
                        Ok(r) => tracing::info!(
                            fetched = r.fetched,
                            stored = r.stored,
                            duplicates = r.duplicates,
                            warnings = r.warnings.len(),
                            "periodic fetch done"
                        ),
                        Err(e) => tracing::warn!(error = %e, "periodic fetch failed"),
                    }
                }
            }));
        } else {
            tracing::warn!(
                "ENABLE_PERIODIC_FETCH is on but TENANT_ID/CLIENT_ID/CLIENT_SECRET are not set: not fetching"
            );
        }
    }
    if let Some(days) = ctx.settings.retention_days {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(RETENTION_EVERY);
            loop {
                tick.tick().await;
                let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
                // Never delete what a SIEM target has yet to receive.
                let cutoff = match siem::purge_cutoff(ctx.store().as_ref(), &ctx.siem, cutoff).await {
                    Ok(siem::PurgeDecision::Before(at)) => at,
                    Ok(siem::PurgeDecision::Skip) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "retention purge skipped: SIEM backlogs could not be read");
                        continue;
                    }
                };
                match ctx.events.delete_before(cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, days, "retention purge"),
                    Err(e) => tracing::warn!(error = %e, "retention purge failed"),
                }
            }
        }));
    }
    if ctx.settings.alerts.enabled {
        tasks.push(tokio::spawn(evaluate_rules(ctx.clone())));
        match ctx.notifier() {
            Ok(Some(notifier)) => {
                let names: Vec<String> = notifier.channels().map(|c| c.name.clone()).collect();
                tracing::info!(channels = ?names, "alert notifications enabled");
                tasks.push(tokio::spawn(async move {
                    notifier.run_until(std::future::pending::<()>()).await;
                }));
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "alert notifications are off"),
        }
    }
    for forwarder in &ctx.siem {
        let forwarder = forwarder.clone();
        tracing::info!(target = %forwarder.target().name, "SIEM forwarding enabled");
        tasks.push(tokio::spawn(async move {
            forwarder.run_until(std::future::pending::<()>()).await;
        }));
    }
    // Jobs queued through the API (fetch, import, renormalize, rule tests); every replica runs
    // a worker, the store hands each job to one.
    tasks.push(crate::jobs::spawn_worker(
        ctx.clone(),
        crate::jobs::WorkerOptions::default(),
    ));
    Background(tasks)
}

async fn evaluate_rules(ctx: Arc<AppContext>) {
    let evaluator = loop {
        match ctx.rule_evaluator().await {
            Ok(Some(e)) => break e,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "alert rules could not be loaded; retrying in 30 s");
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        }
    };
    tracing::info!("alert rule evaluation running");
    let store = ctx.store().clone();
    let prune = {
        let store = store.clone();
        async move {
            let mut tick = tokio::time::interval(RETENTION_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = store
                    .prune_rule_matches(Utc::now() - RULE_MATCHES_KEPT)
                    .await
                {
                    tracing::warn!(error = %e, "pruning old rule matches failed");
                }
            }
        }
    };
    let options = RunOptions {
        batch: 1000,
        idle: EVALUATE_IDLE,
        retry: Duration::from_secs(10),
    };
    tokio::join!(
        consumer::run_until(
            store.as_ref(),
            &evaluator,
            options,
            std::future::pending::<()>()
        ),
        prune
    );
}
