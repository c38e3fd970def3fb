//! Which kind of export a file is, decided from its content (never its name).
//!
//! `[` opens a JSON array. `{` opens a Graph list response, a single record, or the first line
//! of a JSON-lines file: a small scan of the first object tells them apart without holding it
//! (a compact Graph response is one line of possibly gigabytes, so "read the first line" is not
//! an option). Anything else must be a CSV whose header names an AuditData column.

use std::fmt;
use std::io::{self, BufRead};

use serde::Serialize;

use super::text::{LineEnd, read_line_limited, skip_whitespace};

/// The formats [`read_file`](super::read_file) understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// `[ {record}, {record}, ... ]`
    JsonArray,
    /// One record per line; blank lines are skipped.
    JsonLines,
    /// A Graph list response: `{"@odata.context": ..., "value": [records], "@odata.nextLink"?}`.
    GraphList,
    /// A file holding one record object.
    JsonObject,
    /// A Purview audit search export: the record is the JSON in the AuditData column.
    PurviewCsv(CsvLayout),
}

/// The column sets of Purview audit-search CSV exports (matched case-insensitively, in any
/// order; other columns are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvLayout {
    /// `CreationDate,UserIds,Operations,AuditData` (classic audit search, `Search-UnifiedAuditLog`).
    Classic,
    /// `RecordId,CreationDate,RecordType,Operation,UserId,AuditData,...` (the newer search, which
    /// adds AssociatedAdminUnits and more).
    Current,
    /// Some other column set that still has AuditData.
    Other,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::JsonArray => "JSON array",
            FileFormat::JsonLines => "JSON lines",
            FileFormat::GraphList => "Graph list response",
            FileFormat::JsonObject => "JSON object",
            FileFormat::PurviewCsv(CsvLayout::Classic) => "Purview CSV (classic columns)",
            FileFormat::PurviewCsv(CsvLayout::Current) => "Purview CSV (RecordId columns)",
            FileFormat::PurviewCsv(CsvLayout::Other) => "CSV with an AuditData column",
        })
    }
}

/// Why detection failed.
#[derive(Debug)]
pub(crate) enum DetectError {
    Io(io::Error),
    Unknown(String),
}

impl From<io::Error> for DetectError {
    fn from(e: io::Error) -> Self {
        DetectError::Io(e)
    }
}

/// A CSV header line longer than this is not an audit export.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Decide the format of UTF-8 `text` (BOM already dropped). `scan_limit` bounds how far the
/// first object of a `{` file is scanned.
pub(crate) fn detect(text: &mut dyn BufRead, scan_limit: u64) -> Result<FileFormat, DetectError> {
    match skip_whitespace(text)? {
        None => Err(DetectError::Unknown("the file is empty".into())),
        Some(b'[') => Ok(FileFormat::JsonArray),
        Some(b'{') => Ok(match scan_first_object(text, scan_limit)? {
            Shape::GraphList => FileFormat::GraphList,
            Shape::Closed {
                multi_line: false,
                trailing: true,
            } => FileFormat::JsonLines,
            Shape::Closed { .. } => FileFormat::JsonObject,
            // Broken JSON: a pretty-printed object opens with a line holding only `{`; a JSON
            // lines file does not, and reading it by lines keeps the good lines.
            Shape::Unfinished {
                bare_first_line: true,
            } => FileFormat::JsonObject,
            Shape::Unfinished {
                bare_first_line: false,
            } => FileFormat::JsonLines,
        }),
        Some(_) => {
            let mut line = Vec::new();
            if read_line_limited(text, &mut line, MAX_HEADER_BYTES)? != LineEnd::Line {
                return Err(not_csv());
            }
            let header = parse_header(&line).ok_or_else(not_csv)?;
            csv_columns(header.iter())
                .map(|(_, layout)| FileFormat::PurviewCsv(layout))
                .ok_or_else(not_csv)
        }
    }
}

fn not_csv() -> DetectError {
    DetectError::Unknown(
        "it is not JSON (it starts with neither '[' nor '{') and not a CSV export with an \
         AuditData column"
            .into(),
    )
}

fn parse_header(line: &[u8]) -> Option<csv::ByteRecord> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line);
    reader.byte_records().next()?.ok()
}

/// The index of the AuditData column and the layout a CSV header describes.
pub(crate) fn csv_columns<'h>(
    header: impl Iterator<Item = &'h [u8]>,
) -> Option<(usize, CsvLayout)> {
    let names: Vec<String> = header
        .map(|name| String::from_utf8_lossy(name).trim().to_ascii_lowercase())
        .collect();
    let has = |wanted: &str| names.iter().any(|n| n == wanted);
    let audit_data = names.iter().position(|n| n == "auditdata")?;
    let layout = if has("operations") && has("userids") {
        CsvLayout::Classic
    } else if has("recordid") && has("operation") {
        CsvLayout::Current
    } else {
        CsvLayout::Other
    };
    Some((audit_data, layout))
}

#[derive(Debug, PartialEq, Eq)]
enum Shape {
    /// A top-level key `value` holds an array.
    GraphList,
    /// The first object ended; `trailing` when more than whitespace follows it.
    Closed { multi_line: bool, trailing: bool },
    /// The input ended (or the scan limit was reached) inside the first object.
    Unfinished { bare_first_line: bool },
}

/// Scans the first top-level object byte by byte (its opening `{` not yet consumed), tracking
/// only nesting, strings and the top-level keys: constant memory whatever the object's size.
#[derive(Default)]
struct Scanner {
    depth: u32,
    closed: bool,
    in_string: bool,
    escaped: bool,
    expecting_key: bool,
    /// Inside a top-level key: its length so far and whether it still spells "value".
    key: Option<(usize, bool)>,
    key_was_value: bool,
    after_value_colon: bool,
    multi_line: bool,
    content_on_first_line: bool,
}

const VALUE_KEY: &[u8] = b"value";

impl Scanner {
    fn step(&mut self, b: u8) -> Option<Shape> {
        if self.closed {
            return (!b.is_ascii_whitespace()).then_some(Shape::Closed {
                multi_line: self.multi_line,
                trailing: true,
            });
        }
        if self.in_string {
            self.string_byte(b);
            return None;
        }
        if b.is_ascii_whitespace() {
            if b == b'\n' {
                self.multi_line = true;
            }
            return None;
        }
        if self.depth >= 1 && !self.multi_line {
            self.content_on_first_line = true;
        }
        if std::mem::take(&mut self.after_value_colon) && b == b'[' {
            return Some(Shape::GraphList);
        }
        match b {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.expecting_key {
                    self.key = Some((0, true));
                    self.expecting_key = false;
                }
            }
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth == 1 {
                    self.expecting_key = true;
                }
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.closed = true;
                }
            }
            b',' if self.depth == 1 => self.expecting_key = true,
            b':' if self.depth == 1 => {
                self.after_value_colon = std::mem::take(&mut self.key_was_value)
            }
            _ => {}
        }
        None
    }

    fn string_byte(&mut self, b: u8) {
        if self.escaped {
            self.escaped = false;
            self.key = None;
        } else if b == b'\\' {
            self.escaped = true;
        } else if b == b'"' {
            self.in_string = false;
            if let Some((len, matches)) = self.key.take() {
                self.key_was_value = matches && len == VALUE_KEY.len();
            }
        } else if let Some((len, matches)) = &mut self.key {
            *matches = *matches && VALUE_KEY.get(*len) == Some(&b);
            *len += 1;
        }
    }

    fn at_end(&self) -> Shape {
        if self.closed {
            Shape::Closed {
                multi_line: self.multi_line,
                trailing: false,
            }
        } else {
            Shape::Unfinished {
                bare_first_line: self.multi_line && !self.content_on_first_line,
            }
        }
    }
}

fn scan_first_object(r: &mut dyn BufRead, limit: u64) -> io::Result<Shape> {
    let mut scanner = Scanner::default();
    let mut scanned = 0u64;
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(scanner.at_end());
        }
        if let Some(shape) = buf.iter().find_map(|b| scanner.step(*b)) {
            return Ok(shape);
        }
        let n = buf.len();
        r.consume(n);
        scanned += n as u64;
        if scanned > limit {
            return Ok(scanner.at_end());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn format_of(text: &str) -> Result<FileFormat, String> {
        let mut input = text.as_bytes();
        detect(&mut input, 1 << 20).map_err(|e| match e {
            DetectError::Io(e) => e.to_string(),
            DetectError::Unknown(reason) => reason,
        })
    }

    #[test]
    fn json_shapes() {
        assert_eq!(format_of(" \n [{\"a\":1}]"), Ok(FileFormat::JsonArray));
        assert_eq!(
            format_of("{\"a\":1}\n{\"a\":2}\n"),
            Ok(FileFormat::JsonLines)
        );
        assert_eq!(
            format_of("\n\n{\"a\":1}\r\n\r\n{\"a\":2}"),
            Ok(FileFormat::JsonLines)
        );
        assert_eq!(format_of("{\"a\":1}\n"), Ok(FileFormat::JsonObject));
        assert_eq!(
            format_of("{\n  \"a\": {\"b\": [1, \"}\"]}\n}\n"),
            Ok(FileFormat::JsonObject)
        );
    }

    #[test]
    fn graph_responses_are_found_by_their_value_array_in_any_layout() {
        let compact = r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits","value":[{"id":"1"}"#;
        assert_eq!(
            format_of(compact),
            Ok(FileFormat::GraphList),
            "even unfinished"
        );
        assert_eq!(
            format_of("{\n  \"value\" :\n  [\n  ]\n}"),
            Ok(FileFormat::GraphList)
        );
        // A nested or differently spelt "value" is not a list response.
        assert_eq!(
            format_of(r#"{"a":{"value":[1]},"values":[2],"x":"value"}"#),
            Ok(FileFormat::JsonObject)
        );
        assert_eq!(
            format_of(r#"{"Parameters":[{"Name":"x","Value":"y"}]}"#),
            Ok(FileFormat::JsonObject)
        );
        // A string value that happens to be "value" is not a key.
        assert_eq!(
            format_of(r#"{"k":"value","z":[1]}"#),
            Ok(FileFormat::JsonObject)
        );
    }

    #[test]
    fn broken_json_picks_the_reading_that_keeps_most() {
        assert_eq!(
            format_of("{\"broken\": \n{\"a\":1}\n{\"a\":2}\n"),
            Ok(FileFormat::JsonLines)
        );
        assert_eq!(
            format_of("{\n  \"a\": 1,\n  \"b\": "),
            Ok(FileFormat::JsonObject)
        );
    }

    #[test]
    fn csv_headers_in_any_case_and_order() {
        assert_eq!(
            format_of("CreationDate,UserIds,Operations,AuditData\r\n"),
            Ok(FileFormat::PurviewCsv(CsvLayout::Classic))
        );
        assert_eq!(
            format_of(
                "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits\n"
            ),
            Ok(FileFormat::PurviewCsv(CsvLayout::Current))
        );
        assert_eq!(
            format_of("\"auditdata\",\"OPERATION\",\"recordid\"\n"),
            Ok(FileFormat::PurviewCsv(CsvLayout::Current))
        );
        assert_eq!(
            format_of("Foo,AuditData\n"),
            Ok(FileFormat::PurviewCsv(CsvLayout::Other))
        );
    }

    #[test]
    fn unknown_content_is_refused() {
        assert_eq!(format_of(" \r\n "), Err("the file is empty".into()));
        assert!(
            format_of("name,value\nx,1\n")
                .unwrap_err()
                .contains("AuditData")
        );
        assert!(
            format_of("PK\u{3}\u{4}binary")
                .unwrap_err()
                .contains("not JSON")
        );
    }
}
