//! JSON lines: one record per line. Lines are independent, so a bad line costs only itself.

use std::io::{self, BufRead};

use serde_json::Value;

use super::json::too_large;
use super::location::Location;
use super::reader::{Emitter, ReadEnd};
use super::text::{LineEnd, read_line_limited};

pub(crate) fn read_lines(
    mut text: Box<dyn BufRead + '_>,
    limit: u64,
    em: &mut Emitter<'_>,
) -> io::Result<ReadEnd> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    // One line's bytes, reused: the only buffer that grows with the input, up to `limit`.
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        let value = match read_line_limited(&mut *text, &mut buf, limit)? {
            LineEnd::Eof => return Ok(ReadEnd::Complete),
            LineEnd::TooLong => {
                line += 1;
                Err(format!("{}; the line was skipped", too_large(limit as u64)))
            }
            LineEnd::Line => {
                line += 1;
                // Files joined with `cat` can carry a byte-order mark at the start of a line.
                let record = buf
                    .strip_prefix(b"\xEF\xBB\xBF")
                    .unwrap_or(&buf)
                    .trim_ascii();
                if record.is_empty() {
                    continue;
                }
                serde_json::from_slice::<Value>(record).map_err(|e| invalid_json(&e))
            }
        };
        if em.emit(Location::Line { line }, value).is_break() {
            return Ok(ReadEnd::Stopped);
        }
    }
}

/// serde_json's message without its position, which within one line or one CSV field means
/// little beyond the column.
pub(crate) fn invalid_json(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    if e.line() > 1 {
        format!(
            "invalid JSON: {message} (line {} column {} of the record)",
            e.line(),
            e.column()
        )
    } else {
        format!("invalid JSON: {message} (column {})", e.column())
    }
}
