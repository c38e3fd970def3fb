//! `aoc bench`: ingest, query latency, memory, start-up, disk and alert-rule evaluation figures
//! at N events, on the embedded SQLite store and (with `--postgres`) on PostgreSQL. Prints a
//! table and writes JSON; BENCHMARKS.md records the figures.

mod alerts;
mod ingest;
mod queries;
mod server;
mod siem;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use aoc_domain::Normalizer;

use crate::cli::BenchArgs;
use alerts::AlertFigures;
use ingest::{IngestRound, RoundPlan};
use queries::QueryResult;

/// Generator seed: fixed so runs are comparable.
const SEED: u64 = 20_260_101;
/// Requests per query shape.
const QUERIES_PER_SHAPE: usize = 100;
/// Start-ups measured per store (the median is reported).
const START_UPS: usize = 3;
/// Re-delivered duplicates in the second round: 3%.
const DUPLICATE_PER_MILLE: u64 = 30;

/// Everything measured on one store.
struct StoreFigures {
    backend: &'static str,
    first: IngestRound,
    second: IngestRound,
    ingest_peak_rss: Option<u64>,
    /// PostgreSQL: the ANALYZE after ingest.
    analyze: Option<Duration>,
    events_stored: u64,
    disk_bytes: Option<u64>,
    startup: Vec<Duration>,
    idle_rss: Option<u64>,
    serving_peak_rss: Option<u64>,
    queries: Vec<QueryResult>,
    /// Alert rules evaluated over every stored event (last, so the figures above are of a
    /// store without alerts).
    alerts: AlertFigures,
    /// Ingest with a SIEM webhook target forwarding beside it, and a backlog drained (the
    /// round with the median ingest rate).
    siem: siem::SiemFigures,
    /// Every consumer round's ingest rate with SIEM forwarding beside it.
    siem_rates: Vec<f64>,
    /// The plain ingests into an empty store the consumer rounds are compared with (events/s).
    plain_fresh: Vec<f64>,
}

impl StoreFigures {
    fn disk_per_event(&self) -> Option<f64> {
        self.disk_bytes
            .map(|b| b as f64 / self.events_stored.max(1) as f64)
    }

    fn startup_median(&self) -> Duration {
        let mut s = self.startup.clone();
        s.sort_unstable();
        s.get(s.len() / 2).copied().unwrap_or_default()
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let n = args.events;
    anyhow::ensure!(n >= 1000, "--events must be at least 1000");
    let dir = args
        .json
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!(
        "aoc bench: {n} events, then {n} more with {}% re-delivered duplicates; {} cores",
        DUPLICATE_PER_MILLE / 10,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let started = Instant::now();
    let mut all = Vec::new();

    if !args.no_sqlite {
        let sqlite_path = dir.join("bench-sqlite.db");
        remove_sqlite_files(&sqlite_path);
        let sqlite_url = format!("sqlite://{}", sqlite_path.display());
        eprintln!("\n== SQLite ({})", sqlite_path.display());
        let figures =
            bench_store(&sqlite_url, n, &dir, Disk::SqliteFile(&sqlite_path), &args).await;
        if !args.keep {
            remove_sqlite_files(&sqlite_path);
        }
        let mut figures = figures?;
        if !args.no_consumers {
            consumer_phases(&mut figures, &Fresh::Sqlite(&dir), n, &args).await?;
        }
        all.push(figures);
    }

    if let Some(admin_url) = &args.postgres {
        let db = format!("aoc_bench_{}", std::process::id());
        eprintln!("\n== PostgreSQL (database {db}, created for this run)");
        let url = create_pg_database(admin_url, &db).await?;
        let mut figures = bench_store(&url, n, &dir, Disk::Postgres, &args).await;
        if let Ok(f) = figures.as_mut()
            && !args.no_consumers
        {
            let fresh = Fresh::Postgres {
                admin: admin_url,
                prefix: db.clone(),
            };
            consumer_phases(f, &fresh, n, &args).await?;
        }
        if args.keep {
            eprintln!("    kept database {db}");
        } else if let Err(e) = drop_pg_database(admin_url, &db).await {
            eprintln!("    warning: could not drop database {db}: {e:#}");
        }
        all.push(figures?);
    }

    let total = started.elapsed();
    println!();
    print_table(&all, n, !args.no_consumers);
    println!("\n(total run time {:.0} s)", total.as_secs_f64());
    let report = to_json(&all, n, total);
    std::fs::write(&args.json, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", args.json.display()))?;
    println!("results written to {}", args.json.display());
    Ok(ExitCode::SUCCESS)
}

/// Where the consumer phases get their empty stores: files beside the bench's database, or
/// PostgreSQL databases created for them.
enum Fresh<'a> {
    Sqlite(&'a Path),
    Postgres { admin: &'a str, prefix: String },
}

impl Fresh<'_> {
    async fn create(&self, name: &str) -> anyhow::Result<String> {
        match self {
            Fresh::Sqlite(dir) => {
                let path = dir.join(format!("bench-sqlite-{name}.db"));
                remove_sqlite_files(&path);
                Ok(format!("sqlite://{}", path.display()))
            }
            Fresh::Postgres { admin, prefix } => {
                create_pg_database(admin, &format!("{prefix}_{name}")).await
            }
        }
    }

    /// Run `phase` on an empty store made for it, removed afterwards whatever the outcome.
    async fn with_store<T, F>(
        &self,
        name: &str,
        phase: impl FnOnce(String) -> F,
    ) -> anyhow::Result<T>
    where
        F: std::future::Future<Output = anyhow::Result<T>>,
    {
        let url = self.create(name).await?;
        let ran = phase(url).await;
        self.remove(name).await;
        ran
    }

    async fn remove(&self, name: &str) {
        match self {
            Fresh::Sqlite(dir) => remove_sqlite_files(&dir.join(format!("bench-sqlite-{name}.db"))),
            Fresh::Postgres { admin, prefix } => {
                let db = format!("{prefix}_{name}");
                if let Err(e) = drop_pg_database(admin, &db).await {
                    eprintln!("    warning: could not drop database {db}: {e:#}");
                }
            }
        }
    }
}

/// The alert-rule and SIEM phases, each on an empty store, interleaved with plain ingests into
/// an empty store that they are compared with. On a shared two-core machine one ingest of the
/// same events varies by up to 25% from one minute to the next, more than the 10% a consumer
/// may cost; so each round runs the three back to back and the figures are medians.
async fn consumer_phases(
    figures: &mut StoreFigures,
    fresh: &Fresh<'_>,
    n: u64,
    args: &BenchArgs,
) -> anyhow::Result<()> {
    let rounds = usize::from(args.consumer_rounds.max(1));
    let in_flight = usize::from(args.in_flight);
    let (mut plain, mut evaluated, mut forwarded) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        eprintln!("  consumers, round {round} of {rounds}");
        // The order turns each round, so a machine that slows or speeds up over the minutes
        // of the run does not favour one phase.
        for phase in (0..3).map(|i| (i + round - 1) % 3) {
            match phase {
                0 => {
                    eprintln!(
                        "  ingest: first {n} events again, into an empty store, nothing beside it"
                    );
                    plain.push(
                        fresh
                            .with_store("plain", |url| async move {
                                alerts::plain_ingest(&url, n, in_flight, SEED).await
                            })
                            .await?,
                    );
                }
                1 => {
                    eprintln!(
                        "  ingest: first {n} events again, into an empty store, with the alert rules evaluating beside it"
                    );
                    evaluated.push(
                        fresh
                            .with_store("alerts", |url| async move {
                                alerts::ingest_while_evaluating(&url, n, in_flight, SEED).await
                            })
                            .await?,
                    );
                }
                _ => {
                    eprintln!(
                        "  ingest: first {n} events again, into an empty store, forwarding them to a local SIEM webhook; then {n} more with forwarding stopped, drained"
                    );
                    forwarded.push(
                        fresh
                            .with_store("siem", |url| async move {
                                siem::run(&url, n, in_flight, SEED).await
                            })
                            .await?,
                    );
                }
            }
        }
    }
    figures.plain_fresh = plain.iter().map(IngestRound::events_per_second).collect();
    figures.alerts.concurrent_rates = evaluated
        .iter()
        .map(alerts::Concurrent::events_per_second)
        .collect();
    figures.siem_rates = forwarded
        .iter()
        .map(siem::SiemFigures::events_per_second)
        .collect();
    figures.alerts.concurrent =
        median_by(evaluated, alerts::Concurrent::events_per_second).unwrap_or_default();
    figures.siem = median_by(forwarded, siem::SiemFigures::events_per_second).unwrap_or_default();
    Ok(())
}

/// The item with the median `key` (the lower of the two middle ones for an even count).
fn median_by<T>(mut items: Vec<T>, key: impl Fn(&T) -> f64) -> Option<T> {
    items.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let middle = items.len().checked_sub(1)? / 2;
    items.into_iter().nth(middle)
}

/// The median of some figures (the mean of the middle two for an even count).
fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        len if len % 2 == 1 => v.get(mid).copied(),
        _ => Some((v[mid - 1] + v[mid]) / 2.0),
    }
}

enum Disk<'a> {
    SqliteFile(&'a Path),
    Postgres,
}

async fn bench_store(
    url: &str,
    n: u64,
    dir: &Path,
    disk: Disk<'_>,
    args: &BenchArgs,
) -> anyhow::Result<StoreFigures> {
    let store = aoc_store::open(url)
        .await
        .context("cannot open the store")?;
    let backend = store.backend();
    let baseline = disk_bytes(&disk, url).await;
    let normalizer = Arc::new(Normalizer::default());
    let records: ingest::Records =
        Box::new(aoc_sim::Generator::new(SEED).take_mixed(usize::try_from(n.saturating_mul(2))?));

    let reset = server::reset_own_peak();
    let pid = "self";
    eprintln!("  ingest: first {n} events");
    let (first, samples, records) = ingest::run_round(
        store.clone(),
        normalizer.clone(),
        records,
        RoundPlan {
            records: n,
            duplicate_per_mille: 0,
            in_flight: usize::from(args.in_flight),
        },
        true,
    )
    .await?;
    report_round(&first);
    eprintln!(
        "  ingest: {n} more, {}% re-delivered",
        DUPLICATE_PER_MILLE / 10
    );
    let (second, _, records) = ingest::run_round(
        store.clone(),
        normalizer.clone(),
        records,
        RoundPlan {
            records: n,
            duplicate_per_mille: DUPLICATE_PER_MILLE,
            in_flight: usize::from(args.in_flight),
        },
        false,
    )
    .await?;
    drop(records);
    report_round(&second);
    let ingest_peak_rss = server::memory(pid).peak.filter(|_| reset);
    let events_stored = store.count().await?;
    // PostgreSQL plans from statistics that autovacuum's ANALYZE keeps; right after a bulk
    // load (or where autovacuum is off, as on some test clusters) there are none, and a
    // service + operation page took 0.5-1 s instead of 1 ms. Refresh them as autovacuum
    // would. SQLite gathers its own when the writer closes (`PRAGMA optimize`).
    let analyze = if backend == "postgres" {
        let t = Instant::now();
        store.optimize().await.context("ANALYZE after ingest")?;
        eprintln!("  ANALYZE after ingest: {:.1} s", t.elapsed().as_secs_f64());
        Some(t.elapsed())
    } else {
        None
    };
    drop(store);
    // Let the pools close (and SQLite checkpoint its WAL) before measuring the files.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let disk_bytes = match (disk_bytes(&disk, url).await, baseline) {
        (Some(after), Some(before)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let mut figures = StoreFigures {
        backend,
        first,
        second,
        ingest_peak_rss,
        analyze,
        events_stored,
        disk_bytes,
        startup: Vec::new(),
        idle_rss: None,
        serving_peak_rss: None,
        queries: Vec::new(),
        alerts: AlertFigures::default(),
        siem: siem::SiemFigures::default(),
        siem_rates: Vec::new(),
        plain_fresh: Vec::new(),
    };
    if !args.ingest_only {
        serve_and_query(&mut figures, url, dir, &samples).await?;
    }
    if !args.no_consumers {
        figures.alerts = evaluate_alerts(url, &figures).await?;
    }
    Ok(figures)
}

/// The alert phase, on the store as ingest left it (queries only read): the rules and the
/// alerts they raise would otherwise count in the disk figure and the queries' database.
async fn evaluate_alerts(url: &str, figures: &StoreFigures) -> anyhow::Result<AlertFigures> {
    let store = aoc_store::open(url)
        .await
        .context("cannot open the store again")?;
    let ingest = figures.first.elapsed + figures.second.elapsed;
    alerts::run(store, url, ingest).await
}

async fn serve_and_query(
    figures: &mut StoreFigures,
    url: &str,
    dir: &Path,
    samples: &[ingest::Sample],
) -> anyhow::Result<()> {
    eprintln!(
        "  start-up on the full database ({} events)",
        figures.events_stored
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let log = dir.join(format!("server-{}.log", figures.backend));
    let mut startup = Vec::new();
    for _ in 1..START_UPS {
        let (server, took) = server::Server::start(&client, url, &log).await?;
        startup.push(took);
        server.stop().await?;
    }
    let (server, took) = server::Server::start(&client, url, &log).await?;
    startup.push(took);
    eprintln!(
        "    {}",
        startup
            .iter()
            .map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Idle: started, healthy, nothing asked yet.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = server::memory(&server.pid.to_string()).rss;
    eprintln!("  queries over HTTP ({QUERIES_PER_SHAPE} per shape)");
    let result = queries::run(&client, &server.base_url, samples, QUERIES_PER_SHAPE).await;
    let serving_peak_rss = server::memory(&server.pid.to_string()).peak;
    server.stop().await?;
    figures.queries = result?;
    figures.startup = startup;
    figures.idle_rss = idle_rss;
    figures.serving_peak_rss = serving_peak_rss;
    Ok(())
}

fn report_round(r: &IngestRound) {
    eprintln!(
        "    {} events in {:.1} s: {:.0} events/s ({} new, {} duplicates, {} rejected; \
         producer: generate {:.1} s, normalize {:.1} s; store {:.1} s)",
        r.delivered,
        r.elapsed.as_secs_f64(),
        r.events_per_second(),
        r.new,
        r.duplicates,
        r.rejected,
        r.generate.as_secs_f64(),
        r.normalize.as_secs_f64(),
        r.store.as_secs_f64()
    );
}

/// Bytes the store occupies: the SQLite file with its WAL, or the PostgreSQL database.
async fn disk_bytes(disk: &Disk<'_>, url: &str) -> Option<u64> {
    match disk {
        Disk::SqliteFile(path) => {
            // Checkpoint first: the WAL is bounded (a few tens of MB, see the store's pragmas)
            // and would otherwise count as per-event size on small runs.
            if let Ok(pool) = sqlx::SqlitePool::connect(url).await {
                let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
            disk_sqlite(path)
        }
        Disk::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.ok()?;
            let size: Option<i64> =
                sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(&pool)
                    .await
                    .ok();
            pool.close().await;
            size.and_then(|s| u64::try_from(s).ok())
        }
    }
}

fn disk_sqlite(path: &Path) -> Option<u64> {
    Some(
        sqlite_files(path)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum(),
    )
}

fn sqlite_files(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        })
        .collect()
}

fn remove_sqlite_files(path: &Path) {
    for p in sqlite_files(path) {
        let _ = std::fs::remove_file(p);
    }
}

/// Create database `db` on the server `admin_url` points at; returns the URL of `db`.
async fn create_pg_database(admin_url: &str, db: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(admin_url).context("--postgres: not a URL")?;
    let pool = sqlx::PgPool::connect(admin_url)
        .await
        .context("--postgres: cannot connect")?;
    // `db` is our own identifier (a fixed prefix and the process id), never user text.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&pool)
        .await
        .with_context(|| format!("cannot create database {db}"))?;
    pool.close().await;
    url.set_path(&format!("/{db}"));
    Ok(url.to_string())
}

async fn drop_pg_database(admin_url: &str, db: &str) -> anyhow::Result<()> {
    let pool = sqlx::PgPool::connect(admin_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&pool)
    .await?;
    pool.close().await;
    Ok(())
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "n/a".to_string(),
        |b| format!("{:.1} MB", b as f64 / 1_048_576.0),
    )
}

fn print_table(all: &[StoreFigures], n: u64, consumers: bool) {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    rows.push((
        format!("ingest, first {n} (events/s)"),
        all.iter()
            .map(|f| format!("{:.0}", f.first.events_per_second()))
            .collect(),
    ));
    rows.push((
        format!("ingest, {n} more, 3% dup (events/s)"),
        all.iter()
            .map(|f| format!("{:.0}", f.second.events_per_second()))
            .collect(),
    ));
    if let Some(first) = all.first() {
        for (i, q) in first.queries.iter().enumerate() {
            rows.push((
                format!("{} p50/p95/p99 (ms)", q.label),
                all.iter()
                    .map(|f| {
                        f.queries.get(i).map_or_else(
                            || "n/a".to_string(),
                            |q| {
                                format!(
                                    "{:.1} / {:.1} / {:.1}",
                                    q.percentile_ms(50.0),
                                    q.percentile_ms(95.0),
                                    q.percentile_ms(99.0)
                                )
                            },
                        )
                    })
                    .collect(),
            ));
        }
    }
    rows.push((
        "peak RSS during ingest".into(),
        all.iter().map(|f| mb(f.ingest_peak_rss)).collect(),
    ));
    rows.push((
        "idle RSS after start".into(),
        all.iter().map(|f| mb(f.idle_rss)).collect(),
    ));
    rows.push((
        "peak RSS serving the queries".into(),
        all.iter().map(|f| mb(f.serving_peak_rss)).collect(),
    ));
    rows.push((
        "start-up to healthy (median)".into(),
        all.iter()
            .map(|f| {
                if f.startup.is_empty() {
                    "n/a".to_string()
                } else {
                    format!("{:.0} ms", f.startup_median().as_secs_f64() * 1000.0)
                }
            })
            .collect(),
    ));
    rows.push((
        "disk per event".into(),
        all.iter()
            .map(|f| {
                f.disk_per_event()
                    .map_or_else(|| "n/a".into(), |b| format!("{b:.0} B"))
            })
            .collect(),
    ));
    rows.push((
        "events stored".into(),
        all.iter().map(|f| f.events_stored.to_string()).collect(),
    ));
    if consumers {
        consumer_rows(&mut rows, all);
    }
    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let col = 24;
    let mut header = format!("{:<label_width$}", "measure");
    for f in all {
        header.push_str(&format!(" | {:>col$}", f.backend));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for (label, values) in rows {
        let mut line = format!("{label:<label_width$}");
        for v in values {
            line.push_str(&format!(" | {v:>col$}"));
        }
        println!("{line}");
    }
}

/// An ingest rate beside a consumer against plain ingest into an empty store (the median of
/// the consumer rounds' plain ingests; the first round when there were none), as a signed
/// percentage.
fn change_from_plain(f: &StoreFigures, with: f64) -> String {
    let without = median(&f.plain_fresh).unwrap_or_else(|| f.first.events_per_second());
    if without > 0.0 {
        format!("{:+.1} %", 100.0 * (with - without) / without)
    } else {
        "n/a".into()
    }
}

/// The median of some ingest rates, with the range when there are several.
fn rates(values: &[f64]) -> String {
    let (low, high) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    match median(values) {
        None => "n/a".into(),
        Some(m) if values.len() == 1 => format!("{m:.0}"),
        Some(m) => format!("{m:.0} ({low:.0}-{high:.0})"),
    }
}

/// Consumer batches read from memory / from the database.
fn memory_split((memory, database): (u64, u64)) -> String {
    format!("{memory} / {database}")
}

/// The alert-rule and SIEM rows of the table.
fn consumer_rows(rows: &mut Vec<(String, Vec<String>)>, all: &[StoreFigures]) {
    if let Some(first) = all.first() {
        let a = &first.alerts;
        rows.push((
            format!(
                "alert rules, {} built-in + {} custom (events/s)",
                a.builtin_rules, a.custom_rules
            ),
            all.iter()
                .map(|f| format!("{:.0}", f.alerts.events_per_second()))
                .collect(),
        ));
    }
    rows.push((
        "  evaluation time / ingest time".into(),
        all.iter()
            .map(|f| format!("{:.1} %", f.alerts.cost_percent()))
            .collect(),
    ));
    rows.push((
        "plain ingest into an empty store (events/s, median)".into(),
        all.iter().map(|f| rates(&f.plain_fresh)).collect(),
    ));
    rows.push((
        "  ingest with evaluation beside it (events/s)".into(),
        all.iter()
            .map(|f| rates(&f.alerts.concurrent_rates))
            .collect(),
    ));
    rows.push((
        "  vs the same ingest without".into(),
        all.iter()
            .map(|f| change_from_plain(f, median(&f.alerts.concurrent_rates).unwrap_or_default()))
            .collect(),
    ));
    rows.push((
        "  batches read from memory / from the database".into(),
        all.iter()
            .map(|f| memory_split(f.alerts.concurrent.from_memory))
            .collect(),
    ));
    rows.push((
        "  peak RSS (ingest + evaluator)".into(),
        all.iter()
            .map(|f| mb(f.alerts.concurrent.peak_rss))
            .collect(),
    ));
    rows.push((
        "  evaluator catch-up after ingest".into(),
        all.iter()
            .map(|f| format!("{:.1} s", f.alerts.concurrent.catch_up.as_secs_f64()))
            .collect(),
    ));
    rows.push((
        "  read + match / store calls".into(),
        all.iter()
            .map(|f| {
                format!(
                    "{:.1} s / {:.1} s",
                    f.alerts.matching.as_secs_f64(),
                    f.alerts.store_calls_time().as_secs_f64()
                )
            })
            .collect(),
    ));
    rows.push((
        "  one raise_alert / window query / set_tags".into(),
        all.iter()
            .map(|f| {
                let p = &f.alerts.probe;
                format!(
                    "{:.2} / {:.2} / {:.2} ms",
                    p.raise_alert.as_secs_f64() * 1000.0,
                    p.rule_matches_in.as_secs_f64() * 1000.0,
                    p.set_tags.as_secs_f64() * 1000.0
                )
            })
            .collect(),
    ));
    rows.push((
        "  alerts raised".into(),
        all.iter()
            .map(|f| f.alerts.alerts_full.to_string())
            .collect(),
    ));
    rows.push((
        "alert rules, built-in pack alone (events/s)".into(),
        all.iter()
            .map(|f| format!("{:.0}", f.alerts.builtin_events_per_second()))
            .collect(),
    ));
    rows.push((
        "  evaluation time / ingest time".into(),
        all.iter()
            .map(|f| format!("{:.1} %", f.alerts.builtin_cost_percent()))
            .collect(),
    ));
    rows.push((
        "ingest with SIEM forwarding beside it (events/s)".into(),
        all.iter().map(|f| rates(&f.siem_rates)).collect(),
    ));
    rows.push((
        "  vs the same ingest without".into(),
        all.iter()
            .map(|f| change_from_plain(f, median(&f.siem_rates).unwrap_or_default()))
            .collect(),
    ));
    rows.push((
        "  batches read from memory / from the database".into(),
        all.iter()
            .map(|f| memory_split(f.siem.from_memory))
            .collect(),
    ));
    rows.push((
        "  SIEM backlog drain to a local receiver (events/s)".into(),
        all.iter()
            .map(|f| format!("{:.0}", f.siem.drain_per_second()))
            .collect(),
    ));
}

fn round_json(r: &IngestRound) -> Value {
    json!({
        "delivered": r.delivered,
        "new": r.new,
        "duplicates": r.duplicates,
        "rejected": r.rejected,
        "seconds": r.elapsed.as_secs_f64(),
        "events_per_second": r.events_per_second(),
        "producer_generate_seconds": r.generate.as_secs_f64(),
        "producer_normalize_seconds": r.normalize.as_secs_f64(),
        "insert_batch_seconds": r.store.as_secs_f64(),
    })
}

fn to_json(all: &[StoreFigures], n: u64, total: Duration) -> Value {
    let stores: Vec<Value> = all
        .iter()
        .map(|f| {
            let queries: serde_json::Map<String, Value> = f
                .queries
                .iter()
                .map(|q| {
                    (
                        q.key.to_string(),
                        json!({
                            "label": q.label,
                            "requests": q.latencies.len(),
                            "mean_items": q.mean_items,
                            "p50_ms": q.percentile_ms(50.0),
                            "p95_ms": q.percentile_ms(95.0),
                            "p99_ms": q.percentile_ms(99.0),
                        }),
                    )
                })
                .collect();
            json!({
                "backend": f.backend,
                "ingest_first": round_json(&f.first),
                "ingest_second": round_json(&f.second),
                "queries": queries,
                "ingest_peak_rss_bytes": f.ingest_peak_rss,
                "analyze_seconds": f.analyze.map(|d| d.as_secs_f64()),
                "idle_rss_bytes": f.idle_rss,
                "serving_peak_rss_bytes": f.serving_peak_rss,
                "startup_ms": f.startup.iter().map(|d| d.as_secs_f64() * 1000.0).collect::<Vec<_>>(),
                "startup_median_ms": f.startup_median().as_secs_f64() * 1000.0,
                "events_stored": f.events_stored,
                "disk_bytes": f.disk_bytes,
                "disk_bytes_per_event": f.disk_per_event(),
                "alert_rules": f.alerts.to_json(),
                "siem_forwarding": f.siem.to_json(),
                "siem_forwarding_ingest_rates": f.siem_rates,
                "plain_ingest_into_empty_store_rates": f.plain_fresh,
            })
        })
        .collect();
    json!({
        "events": n,
        "seed": SEED,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "page_size": queries::PAGE_SIZE,
        "queries_per_shape": QUERIES_PER_SHAPE,
        "total_seconds": total.as_secs_f64(),
        "stores": stores,
    })
}
