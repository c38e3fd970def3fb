//! Purview audit-search CSV exports: the record is the JSON text in the AuditData column.
//!
//! csv-core does the quoting (doubled quotes, line breaks inside quoted fields, CRLF, blank
//! lines) while we feed it input and own its buffers: that gives the exact line each row starts
//! on (counted from the bytes it consumed) and lets a row that outgrows the size limit (an
//! unbalanced quote swallowing the rest of the file) be skipped in constant memory.

use std::io::{self, BufRead};

use csv_core::ReadRecordResult;
use serde_json::Value;

use super::detect::csv_columns;
use super::json::too_large;
use super::jsonl::invalid_json;
use super::location::Location;
use super::reader::{Emitter, ReadEnd};

pub(crate) fn read_csv(
    text: Box<dyn BufRead + '_>,
    limit: u64,
    em: &mut Emitter<'_>,
) -> io::Result<ReadEnd> {
    let mut rows = Rows::new(text, limit);
    let column = match rows.next_row()? {
        Some(Row::Fields { .. }) => csv_columns(rows.fields()).map(|(column, _)| column),
        _ => None,
    };
    let Some(column) = column else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the CSV header has no AuditData column",
        ));
    };
    let mut row = 0u64;
    while let Some(next) = rows.next_row()? {
        row += 1;
        let (line, value) = match next {
            Row::TooLarge { line } => {
                let reason = format!(
                    "{} (is a quote unbalanced?); the row was skipped",
                    too_large(limit)
                );
                (line, Err(reason))
            }
            Row::Fields { line } => match rows.fields().nth(column) {
                // A header repeated where exports were concatenated: not a record.
                Some(field) if field.trim_ascii().eq_ignore_ascii_case(b"AuditData") => continue,
                Some(field) => (line, audit_data(field)),
                None => (line, Err("the row has no AuditData field".to_owned())),
            },
        };
        if em.emit(Location::Row { row, line }, value).is_break() {
            return Ok(ReadEnd::Stopped);
        }
    }
    Ok(ReadEnd::Complete)
}

fn audit_data(field: &[u8]) -> Result<Value, String> {
    let field = field.trim_ascii();
    if field.is_empty() {
        return Err("AuditData is empty".into());
    }
    serde_json::from_slice(field).map_err(|e| format!("AuditData: {}", invalid_json(&e)))
}

enum Row {
    /// A row; its fields are in [`Rows::fields`].
    Fields { line: u64 },
    /// A row longer than the limit, consumed and dropped.
    TooLarge { line: u64 },
}

const WORD: usize = size_of::<usize>();

/// CSV rows, one at a time, in two reused buffers.
struct Rows<'r> {
    input: Box<dyn BufRead + 'r>,
    parser: csv_core::Reader,
    /// The current row's field bytes and the end offset of each field.
    out: Vec<u8>,
    ends: Vec<usize>,
    fields: usize,
    /// Newlines consumed so far.
    newlines: u64,
    limit: usize,
}

impl<'r> Rows<'r> {
    fn new(input: Box<dyn BufRead + 'r>, limit: u64) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Self {
            input,
            parser: csv_core::Reader::new(),
            out: vec![0; limit.clamp(1, 4096)],
            ends: vec![0; (limit / WORD).clamp(1, 32)],
            fields: 0,
            newlines: 0,
            limit,
        }
    }

    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let ends = self.ends.get(..self.fields).unwrap_or_default();
        let starts = std::iter::once(0).chain(ends.iter().copied());
        starts
            .zip(ends)
            .map(|(start, end)| self.out.get(start..*end).unwrap_or_default())
    }

    fn next_row(&mut self) -> io::Result<Option<Row>> {
        let (mut out_len, mut ends_len) = (0, 0);
        let mut start_line = None;
        let mut too_large = false;
        loop {
            let input = match self.input.fill_buf() {
                Ok(input) => input,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let out = self.out.get_mut(out_len..).unwrap_or_default();
            let ends = self.ends.get_mut(ends_len..).unwrap_or_default();
            let (result, n_in, n_out, n_ends) = self.parser.read_record(input, out, ends);
            for b in input.get(..n_in).unwrap_or_default() {
                // The parser skips blank lines before a row: its first other byte starts it.
                if start_line.is_none() && *b != b'\n' && *b != b'\r' {
                    start_line = Some(self.newlines + 1);
                }
                self.newlines += u64::from(*b == b'\n');
            }
            self.input.consume(n_in);
            out_len += n_out;
            ends_len += n_ends;
            let line = start_line.unwrap_or(self.newlines + 1);
            match result {
                ReadRecordResult::InputEmpty => {}
                // Buffers double up to the limit; a row that needs more is parsed to its end
                // but what it produces is dropped.
                ReadRecordResult::OutputFull if too_large || self.out.len() >= self.limit => {
                    too_large = true;
                    out_len = 0;
                }
                ReadRecordResult::OutputEndsFull
                    if too_large || self.ends.len() >= self.limit / WORD =>
                {
                    too_large = true;
                    ends_len = 0;
                }
                ReadRecordResult::OutputFull => {
                    let size = (self.out.len() * 2).min(self.limit);
                    self.out.resize(size, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let size = (self.ends.len() * 2).min(self.limit / WORD);
                    self.ends.resize(size, 0);
                }
                ReadRecordResult::Record if too_large => return Ok(Some(Row::TooLarge { line })),
                ReadRecordResult::Record => {
                    self.fields = ends_len;
                    return Ok(Some(Row::Fields { line }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }
}
