//! `aoc import`: exported audit files into the store, with a progress bar on a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use aoc_app::import::{FileFormat, ImportCounts, ImportProgress, ImportReport, Reject};
use aoc_app::{AppContext, Caller};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ImportArgs;

/// Rejects printed unless `--all-rejects`.
const SHOWN_REJECTS: usize = 20;

pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let ctx = super::open_context(super::settings().await?).await?;
    let report = import_files(&ctx, &args.paths, args.all_rejects).await?;
    println!(
        "imported {} records from {} file(s): {} new, {} duplicates, {} rejected",
        report.records, report.files, report.new, report.duplicates, report.rejected
    );
    // Imported events raise alerts only when asked to: old records would alert as if new.
    if ctx.settings.alerts.on_import {
        super::report_alerts(&ctx).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Import files into the context's store, printing progress to stderr and each reject
/// (the first [`SHOWN_REJECTS`] unless `all_rejects`). Errors name the file that failed.
pub async fn import_files(
    ctx: &AppContext,
    paths: &[PathBuf],
    all_rejects: bool,
) -> anyhow::Result<ImportReport> {
    let progress = CliProgress::new(all_rejects);
    let result = ctx
        .import(paths, &progress, &Caller::system("import"))
        .await;
    progress.finish();
    let report = result?;
    let hidden = report.rejected.saturating_sub(progress.printed() as u64);
    if hidden > 0 {
        eprintln!("... and {hidden} more rejected records (--all-rejects prints them all)");
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(report)
}

struct CliProgress {
    bar: Option<ProgressBar>,
    all_rejects: bool,
    printed: Mutex<usize>,
}

impl CliProgress {
    fn new(all_rejects: bool) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            all_rejects,
            printed: Mutex::new(0),
        }
    }

    fn printed(&self) -> usize {
        self.printed.lock().map(|n| *n).unwrap_or(0)
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn println(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl ImportProgress for CliProgress {
    fn file_started(&self, file: &Path, format: FileFormat) {
        self.println(format!("reading {} ({format})", file.display()));
    }

    fn update(&self, counts: &ImportCounts) {
        if let Some(bar) = &self.bar {
            bar.set_length(counts.total_bytes);
            bar.set_position(counts.bytes_read);
            bar.set_message(format!(
                "{} records: {} new, {} duplicates, {} rejected",
                counts.records, counts.new, counts.duplicates, counts.rejected
            ));
        }
    }

    fn rejected(&self, reject: &Reject) {
        let Ok(mut printed) = self.printed.lock() else {
            return;
        };
        if self.all_rejects || *printed < SHOWN_REJECTS {
            *printed += 1;
            drop(printed);
            self.println(format!("rejected: {reject}"));
        }
    }
}
