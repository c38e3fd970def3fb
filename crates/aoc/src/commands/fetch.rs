//! `aoc fetch`: one incremental fetch from Microsoft 365, with a progress line per source on
//! a terminal.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use aoc_app::Caller;
use aoc_app::ingest::{FetchProgress, FetchReport, FetchRequest, SourceCounts, SourceReport};
use aoc_domain::Source;

use crate::cli::FetchArgs;

pub async fn run(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let ctx = super::open_context(super::settings().await?).await?;
    if !ctx.ingest.configured() {
        anyhow::bail!(
            "fetching needs TENANT_ID, CLIENT_ID and CLIENT_SECRET (see the README); \
             to try AOC without a tenant, run `aoc demo`"
        );
    }
    let only = args.source;
    let progress = Arc::new(Bars::new(only));
    let report = ctx
        .ingest
        .fetch_with(
            FetchRequest {
                only,
                ..FetchRequest::hours(Some(args.hours))
            },
            &Caller::system("cli"),
            progress.clone(),
        )
        .await
        .context("fetch failed")?;
    progress.clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    super::report_alerts(&ctx).await;
    Ok(if report.all_failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(report: &FetchReport) {
    for (source, s) in &report.sources {
        let name = source.as_str();
        let status = match &s.error {
            None => "ok".to_string(),
            Some(e) => format!("FAILED: {e}"),
        };
        println!(
            "{name:<10} {:>7} fetched {:>7} new {:>7} duplicates {:>4} rejected  {status}",
            s.fetched, s.stored, s.duplicates, s.rejected
        );
    }
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    let seconds = report.duration_ms as f64 / 1000.0;
    let rate = if seconds > 0.0 {
        report.fetched as f64 / seconds
    } else {
        0.0
    };
    println!(
        "fetched {}, stored {} new, {} duplicates in {seconds:.1} s ({rate:.0} records/s)",
        report.fetched, report.stored, report.duplicates
    );
}

/// A spinner per source on a terminal; nothing otherwise (the log has a line per page/blob).
struct Bars {
    bars: Mutex<BTreeMap<Source, ProgressBar>>,
}

impl Bars {
    fn new(only: Option<Source>) -> Self {
        let mut bars = BTreeMap::new();
        if std::io::stderr().is_terminal() {
            let multi = MultiProgress::new();
            let style = ProgressStyle::with_template("{spinner} {prefix:<10} {msg}").ok();
            for source in Source::FETCHED {
                if only.is_some_and(|o| o != source) {
                    continue;
                }
                let bar = multi.add(ProgressBar::new_spinner());
                if let Some(style) = &style {
                    bar.set_style(style.clone());
                }
                bar.set_prefix(source.as_str());
                bar.set_message("starting");
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bars.insert(source, bar);
            }
        }
        Self {
            bars: Mutex::new(bars),
        }
    }

    fn clear(&self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.finish_and_clear();
            }
        }
    }
}

impl FetchProgress for Bars {
    fn update(&self, source: Source, c: &SourceCounts) {
        if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(&source).cloned()) {
            bar.set_message(format!(
                "{} fetched, {} new, {} duplicates",
                c.fetched, c.stored, c.duplicates
            ));
        }
    }

    fn finished(&self, source: Source, report: &SourceReport) {
        if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(&source).cloned()) {
            bar.finish_with_message(match &report.error {
                None => format!("done: {} fetched, {} new", report.fetched, report.stored),
                Some(e) => format!("failed: {e}"),
            });
        }
    }
}
