//! Reading one exported file: detect its format, then hand its records one by one to a callback.
//!
//! Nothing here holds more than one record: detection scans a bounded prefix and the file is
//! then read again from the start through buffered streams (JSON via serde's streaming
//! deserializer and our visitors, JSON lines and CSV one line/row at a time into one reused
//! buffer). Each record is also capped at [`MAX_RECORD_BYTES`], so a runaway string or an
//! unbalanced CSV quote in a multi-GB file is rejected instead of being pulled into memory.

use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Seek};
use std::ops::ControlFlow;
use std::path::Path;
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use super::detect::{DetectError, FileFormat, detect};
use super::error::ImportError;
use super::location::{Location, RawRecord};
use super::text::{Encoding, Tracking, open_text};
use super::{json, jsonl, purview_csv};

/// The largest record (JSON line, array element, CSV row) the reader accepts. Microsoft's audit
/// records are kilobytes; this only stops damaged input from exhausting memory.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// How reading a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadEnd {
    /// Every record was read.
    Complete,
    /// The callback returned `ControlFlow::Break`.
    Stopped,
    /// A syntax error (or an oversized element) inside a JSON document left the rest of the
    /// file unreadable; it was reported as the last record, with its location. JSON lines and
    /// CSV rows are independent, so their bad records are skipped instead.
    Abandoned,
}

/// What reading one file did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadSummary {
    pub format: FileFormat,
    pub encoding: Encoding,
    /// Records handed to the callback, readable or not.
    pub records: u64,
    /// Of those, the ones whose `value` was an error.
    pub unreadable: u64,
    /// Bytes read from the file.
    pub bytes: u64,
    pub end: ReadEnd,
    /// A Graph list response's `@odata.nextLink`: the file is one page of a longer result.
    pub next_link: Option<String>,
}

/// Hands records to the caller's callback, counting them.
pub(crate) struct Emitter<'a> {
    on_record: &'a mut dyn FnMut(RawRecord) -> ControlFlow<()>,
    bytes: Rc<Cell<u64>>,
    records: u64,
    unreadable: u64,
}

impl Emitter<'_> {
    pub(crate) fn emit(
        &mut self,
        location: Location,
        value: Result<Value, String>,
    ) -> ControlFlow<()> {
        self.records += 1;
        if value.is_err() {
            self.unreadable += 1;
        }
        (self.on_record)(RawRecord {
            location,
            value,
            bytes_read: self.bytes.get(),
        })
    }
}

/// Detect a file's format from its content.
pub fn detect_format(path: &Path) -> Result<FileFormat, ImportError> {
    let mut file = File::open(path).map_err(|e| ImportError::io(path, e))?;
    detect_in(&mut file, path, MAX_RECORD_BYTES)
}

fn detect_in<R: Read>(source: R, name: &Path, scan_limit: u64) -> Result<FileFormat, ImportError> {
    let (_, mut text) =
        open_text(source, Rc::new(Cell::new(0))).map_err(|e| ImportError::io(name, e))?;
    detect(&mut *text, scan_limit).map_err(|e| match e {
        DetectError::Io(e) => ImportError::io(name, e),
        DetectError::Unknown(reason) => ImportError::UnknownFormat {
            file: name.to_path_buf(),
            reason,
        },
    })
}

/// Read the records of an exported audit file (format detected from its content), handing each
/// to `on_record` in file order; return `ControlFlow::Break` to stop early.
///
/// Records that cannot be read arrive with `value: Err(reason)` and reading goes on (except
/// after a syntax error inside a JSON document, see [`ReadEnd::Abandoned`]). The error is for a
/// file that cannot be read at all: it cannot be opened or read, or its format is unknown.
pub fn read_file(
    path: &Path,
    on_record: &mut dyn FnMut(RawRecord) -> ControlFlow<()>,
) -> Result<ReadSummary, ImportError> {
    let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
    read_from(file, path, on_record)
}

/// [`read_file`] over any seekable source (read twice: once to detect the format); `name` is
/// used in errors.
pub fn read_from<R: Read + Seek>(
    source: R,
    name: &Path,
    on_record: &mut dyn FnMut(RawRecord) -> ControlFlow<()>,
) -> Result<ReadSummary, ImportError> {
    read_with_limit(source, name, MAX_RECORD_BYTES, on_record)
}

pub(crate) fn read_with_limit<R: Read + Seek>(
    mut source: R,
    name: &Path,
    limit: u64,
    on_record: &mut dyn FnMut(RawRecord) -> ControlFlow<()>,
) -> Result<ReadSummary, ImportError> {
    let format = detect_in(&mut source, name, limit)?;
    source.rewind().map_err(|e| ImportError::io(name, e))?;

    let bytes = Rc::new(Cell::new(0));
    let (encoding, text) =
        open_text(source, bytes.clone()).map_err(|e| ImportError::io(name, e))?;
    let mut em = Emitter {
        on_record,
        bytes: bytes.clone(),
        records: 0,
        unreadable: 0,
    };
    let tracking = Tracking::new(limit);
    let mut next_link = None;
    let end = match format {
        FileFormat::JsonArray => json::read_array(text, tracking, &mut em),
        FileFormat::GraphList => {
            json::read_graph_list(text, tracking, &mut em).map(|(end, link)| {
                next_link = link;
                end
            })
        }
        FileFormat::JsonObject => json::read_object(text, tracking, &mut em),
        FileFormat::JsonLines => jsonl::read_lines(text, limit, &mut em),
        FileFormat::PurviewCsv(_) => purview_csv::read_csv(text, limit, &mut em),
    }
    .map_err(|e| ImportError::io(name, e))?;
    Ok(ReadSummary {
        format,
        encoding,
        records: em.records,
        unreadable: em.unreadable,
        bytes: bytes.get(),
        end,
        next_link,
    })
}
