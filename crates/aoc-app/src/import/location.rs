//! Where a record sits in its file, and the record as the reader hands it over.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// Where a record (or a problem) is in its file, for messages. Every number is 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    /// A line of a JSON-lines file, or the line a lone JSON object starts on.
    Line { line: u64 },
    /// An element of a JSON array (or of a Graph response's `value` array) and the line it
    /// starts on (for an unreadable element: the line where reading failed).
    Element { index: u64, line: u64 },
    /// A data row of a CSV export (the header is not counted) and the line it starts on (rows
    /// span several lines when a quoted field holds line breaks).
    Row { row: u64, line: u64 },
    /// A place that is not a record: content after the end of a JSON document.
    Position { line: u64, column: u64 },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line { line } => write!(f, "line {line}"),
            Location::Element { index, line } => write!(f, "element {index} (line {line})"),
            Location::Row { row, line } => write!(f, "row {row} (line {line})"),
            Location::Position { line, column } => write!(f, "line {line}, column {column}"),
        }
    }
}

/// One record as read from a file, before it is recognised or normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub location: Location,
    /// The record's JSON, or why it could not be read (invalid JSON, empty AuditData, ...).
    pub value: Result<Value, String>,
    /// Bytes of the file read so far (a little ahead of this record: reads are buffered).
    pub bytes_read: u64,
}
