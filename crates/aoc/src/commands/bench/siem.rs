//! The SIEM half of `aoc bench` (issue 14 "Speed"): ingest with a webhook target forwarding
//! beside it, against the plain ingest of the same events, and how fast a backlog drains to a
//! local HTTP receiver once it answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use aoc_app::{AppContext, Settings};

use super::ingest::{Records, RoundPlan, rate, run_round};

#[derive(Debug, Clone, Copy, Default)]
pub struct SiemFigures {
    /// Events ingested while the target forwarded them.
    pub events: u64,
    pub ingest: Duration,
    /// After ingest ended, until the receiver had every event.
    pub catch_up: Duration,
    /// A backlog stored with forwarding stopped, then drained.
    pub backlog: u64,
    pub drain: Duration,
    /// Events the receiver got in all (at least once: more means re-sent batches).
    pub received: u64,
    /// Sequence reads served from the events ingest kept in memory, and reads that decoded
    /// the batch from the database (both phases).
    pub from_memory: (u64, u64),
}

impl SiemFigures {
    pub fn events_per_second(&self) -> f64 {
        rate(self.events, self.ingest)
    }

    pub fn drain_per_second(&self) -> f64 {
        rate(self.backlog, self.drain)
    }

    pub fn to_json(self) -> Value {
        json!({
            "events": self.events,
            "ingest_seconds": self.ingest.as_secs_f64(),
            "ingest_events_per_second": self.events_per_second(),
            "catch_up_seconds": self.catch_up.as_secs_f64(),
            "backlog_events": self.backlog,
            "drain_seconds": self.drain.as_secs_f64(),
            "drain_events_per_second": self.drain_per_second(),
            "received": self.received,
            "batches_read_from_memory": self.from_memory.0,
            "batches_read_from_database": self.from_memory.1,
        })
    }
}

/// A receiver that counts the events of each JSON array POSTed to it.
async fn receiver() -> anyhow::Result<(u16, Arc<AtomicU64>)> {
    let got = Arc::new(AtomicU64::new(0));
    let counter = got.clone();
    let app = axum::Router::new().route(
        "/siem",
        axum::routing::post(move |body: axum::body::Bytes| {
            let counter = counter.clone();
            async move {
                // Checked as JSON but not built into values: the receiver stands for a SIEM on
                // another machine, so its own CPU should take as little from ours as it can.
                match serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&body) {
                    Ok(events) => {
                        counter.fetch_add(events.len() as u64, Ordering::Relaxed);
                        axum::http::StatusCode::OK
                    }
                    Err(_) => axum::http::StatusCode::BAD_REQUEST,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((port, got))
}

async fn wait_for(got: &AtomicU64, n: u64, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while got.load(Ordering::Relaxed) < n {
        anyhow::ensure!(
            started.elapsed() < limit,
            "the receiver got {} of {n} events in {} s",
            got.load(Ordering::Relaxed),
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// Into the empty store at `url`: ingest `n` records (the first round's: same seed) while a
/// webhook target forwards them, wait until all arrived; then store `n` more with forwarding
/// stopped and time the drain.
pub async fn run(url: &str, n: u64, in_flight: usize, seed: u64) -> anyhow::Result<SiemFigures> {
    let (port, got) = receiver().await?;
    let settings = Settings::from_map(&HashMap::from([
        ("DATABASE_URL".to_string(), url.to_string()),
        ("SIEM_ENABLED".to_string(), "true".to_string()),
        (
            "SIEM_WEBHOOK_URL".to_string(),
            format!("http://127.0.0.1:{port}/siem"),
        ),
        ("EGRESS_ALLOW_PRIVATE".to_string(), "127.0.0.1".to_string()),
    ]))?;
    let ctx = AppContext::open(settings)
        .await
        .context("cannot open the store with a SIEM target")?;
    let forwarder = ctx
        .siem
        .first()
        .cloned()
        .context("the SIEM target was not built")?;
    let store = ctx.store().clone();
    let normalizer = Arc::new(aoc_domain::Normalizer::default());
    let mut records: Records =
        Box::new(aoc_sim::Generator::new(seed).take_mixed(usize::try_from(n.saturating_mul(2))?));
    let limit = Duration::from_secs(600);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let forwarder = forwarder.clone();
        tokio::spawn(async move {
            forwarder
                .run_until(async {
                    let _ = stopped.await;
                })
                .await;
        })
    };
    let plan = |records| RoundPlan {
        records,
        duplicate_per_mille: 0,
        in_flight,
    };
    let (round, _, rest) =
        run_round(store.clone(), normalizer.clone(), records, plan(n), false).await?;
    records = rest;
    let catch_up = wait_for(&got, round.new, limit).await?;
    let _ = stop.send(());
    running.await?;

    let (second, _, _) = run_round(store.clone(), normalizer, records, plan(n), false).await?;
    let backlog = second.new;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let running = {
        let forwarder = forwarder.clone();
        tokio::spawn(async move {
            forwarder
                .run_until(async {
                    let _ = stopped.await;
                })
                .await;
        })
    };
    wait_for(&got, round.new + backlog, limit).await?;
    let drain = started.elapsed();
    let _ = stop.send(());
    running.await?;
    Ok(SiemFigures {
        events: round.new,
        ingest: round.elapsed,
        catch_up,
        backlog,
        drain,
        received: got.load(Ordering::Relaxed),
        from_memory: store
            .recent_events()
            .map(aoc_store::RecentEvents::hits_and_misses)
            .unwrap_or_default(),
    })
}
