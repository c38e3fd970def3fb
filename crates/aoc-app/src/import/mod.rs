//! Importing exported audit logs (`aoc import`).
//!
//! [`read_file`] streams the records of one file, whatever its format: a JSON array, JSON
//! lines, a Graph list response, a single JSON object, or a Purview audit-search CSV export
//! (classic or RecordId columns). The format is read from the content, never the file name.
//! [`import_paths`] runs files through normalization into the store. A record may also be a
//! document of the original service's `events` collection as `mongoexport` writes it (JSON
//! lines or `--jsonArray`, Extended JSON): its raw record is normalized and its id, tags and
//! comments come along (see `mongo`).

mod detect;
mod error;
mod json;
mod jsonl;
mod location;
mod mongo;
mod pipeline;
mod purview_csv;
mod reader;
mod text;

pub use detect::{CsvLayout, FileFormat};
pub use error::ImportError;
pub use location::{Location, RawRecord};
pub use mongo::UNKNOWN_AUTHOR;
pub use pipeline::{
    INSERT_BATCH, ImportCounts, ImportProgress, ImportReport, MAX_REJECT_DETAILS, NoProgress,
    Reject, import_paths,
};
pub use reader::{MAX_RECORD_BYTES, ReadEnd, ReadSummary, detect_format, read_file, read_from};
pub use text::Encoding;

#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod tests;
