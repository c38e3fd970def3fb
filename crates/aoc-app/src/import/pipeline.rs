//! `aoc import`: files -> records -> events -> store.
//!
//! A blocking thread reads the files and normalizes their records (CPU work that should not
//! run on the async runtime), sending chunks of events through a bounded channel; the async side
//! stores them in batches of [`INSERT_BATCH`], two at a time ([`InFlight`]: one is encoded while
//! the database stores the other). The channel's bound is what keeps a fast reader
//! from running ahead of the database.

use std::fmt;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use aoc_domain::{Event, NoResolver, Normalizer, RecordKind, Source};
use aoc_store::{DEFAULT_INSERTS_IN_FLIGHT, EventStore, InFlight, InsertOutcome};

use super::detect::FileFormat;
use super::error::ImportError;
use super::location::Location;
use super::mongo;
use super::reader::{ReadSummary, detect_format, read_file};

/// Events per `insert_batch` call.
pub const INSERT_BATCH: usize = 1000;
/// Rejected records kept with their details in [`ImportReport::rejects`]; all are counted.
pub const MAX_REJECT_DETAILS: usize = 1000;
/// Chunks in flight between the reading thread and the store.
const CHANNEL_CHUNKS: usize = 4;

/// A record that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub file: PathBuf,
    pub location: Location,
    pub reason: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.file.display(),
            self.location,
            self.reason
        )
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Files read.
    pub files: u64,
    /// Records read (imported or rejected).
    pub records: u64,
    /// Events stored for the first time.
    pub new: u64,
    /// Events already stored (by dedupe key or id), also within the import.
    pub duplicates: u64,
    /// Records not imported: unreadable, of no known kind, or failing normalization.
    pub rejected: u64,
    /// The first [`MAX_REJECT_DETAILS`] rejects, in file order.
    pub rejects: Vec<Reject>,
    /// Things worth telling that are not rejects (a Graph response that is one page of many).
    pub warnings: Vec<String>,
}

/// Running totals, passed to [`ImportProgress::update`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub files_done: u64,
    pub files_total: u64,
    pub records: u64,
    /// Bytes read so far over all files, and their total size: for a progress bar.
    pub bytes_read: u64,
    pub total_bytes: u64,
    pub new: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

impl ImportCounts {
    fn add(&mut self, stored: InsertOutcome) {
        self.new += stored.new;
        self.duplicates += stored.duplicates;
    }
}

/// Progress of an import (the CLI draws a progress bar). Called from the importing task; every
/// method has a no-op default.
pub trait ImportProgress: Send + Sync {
    /// A file is about to be read.
    fn file_started(&self, _file: &Path, _format: FileFormat) {}
    /// Totals changed (after each stored batch and at the end of each file).
    fn update(&self, _counts: &ImportCounts) {}
    /// Every rejected record, including those beyond [`MAX_REJECT_DETAILS`].
    fn rejected(&self, _reject: &Reject) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ImportProgress for NoProgress {}

/// Work the reading thread sends to the storing side.
enum Message {
    FileStarted { file: PathBuf, format: FileFormat },
    Chunk(Chunk),
    FileDone { file: PathBuf, summary: ReadSummary },
}

#[derive(Default)]
struct Chunk {
    events: Vec<Event>,
    rejects: Vec<Reject>,
    records: u64,
    /// Position in the current file.
    bytes_read: u64,
}

/// Import exported audit files: every file is checked (opens, known format) before anything is
/// stored, then all are read in order. Records that cannot be imported are counted and
/// reported, not errors. Errors: a file cannot be opened, read or recognised (naming the file),
/// or the store fails; events stored before a failure stay stored (importing again skips them
/// as duplicates).
pub async fn import_paths(
    store: Arc<dyn EventStore>,
    normalizer: Arc<Normalizer>,
    paths: &[PathBuf],
    progress: &dyn ImportProgress,
) -> Result<ImportReport, ImportError> {
    let checked = paths.to_vec();
    let files = tokio::task::spawn_blocking(move || preflight(checked))
        .await
        .map_err(|e| ImportError::Reader(e.to_string()))??;

    let mut counts = ImportCounts {
        files_total: files.len() as u64,
        total_bytes: files.iter().map(|(_, _, size)| size).sum(),
        ..ImportCounts::default()
    };
    let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
    let reader = tokio::task::spawn_blocking(move || read_all(files, &normalizer, &tx));

    let mut report = ImportReport::default();
    let stored = async {
        let mut pending: Vec<Event> = Vec::with_capacity(INSERT_BATCH);
        let mut writes = InFlight::new(store.clone(), DEFAULT_INSERTS_IN_FLIGHT);
        let mut bytes_done = 0;
        while let Some(message) = rx.recv().await {
            match message {
                Message::FileStarted { file, format } => {
                    tracing::debug!(file = %file.display(), %format, "importing");
                    progress.file_started(&file, format);
                }
                Message::Chunk(chunk) => {
                    counts.records += chunk.records;
                    counts.bytes_read = bytes_done + chunk.bytes_read;
                    for reject in chunk.rejects {
                        counts.rejected += 1;
                        progress.rejected(&reject);
                        if report.rejects.len() < MAX_REJECT_DETAILS {
                            report.rejects.push(reject);
                        }
                    }
                    pending.extend(chunk.events);
                    while pending.len() >= INSERT_BATCH {
                        let batch: Vec<Event> = pending.drain(..INSERT_BATCH).collect();
                        if let Some(outcome) = writes.submit(batch).await? {
                            counts.add(outcome);
                        }
                    }
                    progress.update(&counts);
                }
                Message::FileDone { file, summary } => {
                    if summary.next_link.is_some() {
                        report.warnings.push(format!(
                            "{}: the Graph response has an @odata.nextLink: it is one page of a \
                             longer result, and the other pages are not in this file",
                            file.display()
                        ));
                    }
                    tracing::debug!(file = %file.display(), records = summary.records, "file read");
                    bytes_done += summary.bytes;
                    counts.bytes_read = bytes_done;
                    counts.files_done += 1;
                    progress.update(&counts);
                }
            }
        }
        if !pending.is_empty()
            && let Some(outcome) = writes.submit(pending).await?
        {
            counts.add(outcome);
        }
        counts.add(writes.finish().await?);
        progress.update(&counts);
        Ok::<(), ImportError>(())
    }
    .await;
    // After a store error this ends the reading thread: its next send fails.
    drop(rx);
    let read = reader
        .await
        .map_err(|e| ImportError::Reader(e.to_string()))?;
    stored?;
    read?;

    report.files = counts.files_done;
    report.records = counts.records;
    report.new = counts.new;
    report.duplicates = counts.duplicates;
    report.rejected = counts.rejected;
    Ok(report)
}

/// Each path: its format and size, or the error that stops the import before it begins.
fn preflight(paths: Vec<PathBuf>) -> Result<Vec<(PathBuf, FileFormat, u64)>, ImportError> {
    paths
        .into_iter()
        .map(|path| {
            let size = std::fs::metadata(&path)
                .map_err(|e| ImportError::io(&path, e))?
                .len();
            let format = detect_format(&path)?;
            Ok((path, format, size))
        })
        .collect()
}

/// The reading thread. Returns early (Ok) when the storing side has gone away.
fn read_all(
    files: Vec<(PathBuf, FileFormat, u64)>,
    normalizer: &Normalizer,
    tx: &mpsc::Sender<Message>,
) -> Result<(), ImportError> {
    for (file, format, _) in files {
        if tx
            .blocking_send(Message::FileStarted {
                file: file.clone(),
                format,
            })
            .is_err()
        {
            return Ok(());
        }
        let mut chunk = Chunk::default();
        let mut receiver_gone = false;
        let summary = read_file(&file, &mut |raw| {
            chunk.records += 1;
            chunk.bytes_read = raw.bytes_read;
            match to_event(normalizer, raw.value) {
                Ok(event) => chunk.events.push(event),
                Err(reason) => chunk.rejects.push(Reject {
                    file: file.clone(),
                    location: raw.location,
                    reason,
                }),
            }
            let full = chunk.events.len() >= INSERT_BATCH || chunk.rejects.len() >= INSERT_BATCH;
            if full
                && tx
                    .blocking_send(Message::Chunk(std::mem::take(&mut chunk)))
                    .is_err()
            {
                receiver_gone = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        if receiver_gone {
            return Ok(());
        }
        chunk.bytes_read = summary.bytes;
        if tx.blocking_send(Message::Chunk(chunk)).is_err()
            || tx
                .blocking_send(Message::FileDone { file, summary })
                .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}

/// Recognise and normalize one record, or say why not.
fn to_event(normalizer: &Normalizer, value: Result<Value, String>) -> Result<Event, String> {
    let raw = value?;
    if mongo::is_document(&raw) {
        return mongo::to_event(normalizer, raw);
    }
    let Some(kind) = RecordKind::detect(&raw) else {
        return Err(unknown_shape(&raw));
    };
    normalizer
        .normalize(kind, Source::Import, raw, &NoResolver)
        .map_err(|e| format!("{} record: {e}", kind_name(kind)))
}

fn kind_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Directory => "directory audit",
        RecordKind::Unified => "unified audit log",
        RecordKind::Intune => "Intune audit",
    }
}

fn unknown_shape(raw: &Value) -> String {
    let found = match raw {
        Value::Object(_) => {
            return "not an audit record AOC knows (a Graph directoryAudit, an Intune auditEvent or \
                    a Management Activity API / Purview record)"
                .into();
        }
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    };
    format!("not a record: a JSON object was expected, found {found}")
}
