//! From file bytes to UTF-8 text: counting what was read (for progress), dropping a byte-order
//! mark, transcoding UTF-16 (what Windows PowerShell 5.1 writes with `>` / `Out-File`), and the
//! per-record bookkeeping (line numbers, size limit) the JSON and CSV readers need.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use serde::Serialize;

/// Read buffer size. Every reader holds at most a few of these plus the record being parsed.
pub(crate) const BUF_SIZE: usize = 64 * 1024;

/// How the file's text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// UTF-16 little-endian (with a BOM, or recognised by its zero bytes).
    Utf16Le,
    /// UTF-16 big-endian.
    Utf16Be,
}

/// Counts the bytes taken from the underlying file.
pub(crate) struct CountingRead<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Wrap `source` so that it yields UTF-8 text without a BOM. `count` receives the number of
/// bytes taken from `source` so far.
pub(crate) fn open_text<'a, R: Read + 'a>(
    source: R,
    count: Rc<Cell<u64>>,
) -> io::Result<(Encoding, Box<dyn BufRead + 'a>)> {
    let mut raw = BufReader::with_capacity(
        BUF_SIZE,
        CountingRead {
            inner: source,
            count,
        },
    );
    let head = raw.fill_buf()?;
    let (encoding, bom) = match head {
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
        [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
        // Text starts with ASCII ('[', '{', a letter), so UTF-16 without a BOM shows a zero byte
        // beside it.
        [a, 0, ..] if *a != 0 => (Encoding::Utf16Le, 0),
        [0, b, ..] if *b != 0 => (Encoding::Utf16Be, 0),
        _ => (Encoding::Utf8, 0),
    };
    raw.consume(bom);
    let text: Box<dyn BufRead + 'a> = match encoding {
        Encoding::Utf8 => Box::new(raw),
        Encoding::Utf16Le | Encoding::Utf16Be => Box::new(BufReader::with_capacity(
            BUF_SIZE,
            Utf16Decoder::new(raw, encoding == Encoding::Utf16Be),
        )),
    };
    Ok((encoding, text))
}

/// UTF-16 to UTF-8, one character at a time. Unpaired surrogates and a dangling odd byte become
/// U+FFFD rather than errors: a damaged character should cost one field, not the file.
struct Utf16Decoder<R> {
    inner: R,
    big_endian: bool,
    out: [u8; 4],
    out_start: usize,
    out_end: usize,
    pushed_back: Option<u16>,
}

impl<R: BufRead> Utf16Decoder<R> {
    fn new(inner: R, big_endian: bool) -> Self {
        Self {
            inner,
            big_endian,
            out: [0; 4],
            out_start: 0,
            out_end: 0,
            pushed_back: None,
        }
    }

    fn next_unit(&mut self) -> io::Result<Option<u16>> {
        if let Some(unit) = self.pushed_back.take() {
            return Ok(Some(unit));
        }
        let mut pair = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            let n = match pair.get_mut(got..) {
                Some(rest) => self.inner.read(rest)?,
                None => 0,
            };
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(match got {
            0 => None,
            1 => Some(0xFFFD),
            _ if self.big_endian => Some(u16::from_be_bytes(pair)),
            _ => Some(u16::from_le_bytes(pair)),
        })
    }

    fn next_char(&mut self) -> io::Result<Option<char>> {
        let Some(unit) = self.next_unit()? else {
            return Ok(None);
        };
        let c = match unit {
            0xD800..=0xDBFF => match self.next_unit()? {
                Some(low @ 0xDC00..=0xDFFF) => {
                    let code =
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                }
                other => {
                    self.pushed_back = other;
                    char::REPLACEMENT_CHARACTER
                }
            },
            _ => char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER),
        };
        Ok(Some(c))
    }
}

impl<R: BufRead> Read for Utf16Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            if self.out_start == self.out_end {
                let Some(c) = self.next_char()? else { break };
                self.out_end = c.encode_utf8(&mut self.out).len();
                self.out_start = 0;
            }
            let pending = self
                .out
                .get(self.out_start..self.out_end)
                .unwrap_or_default();
            let target = buf.get_mut(written..).unwrap_or_default();
            let n = pending.len().min(target.len());
            target.iter_mut().zip(pending).for_each(|(t, p)| *t = *p);
            self.out_start += n;
            written += n;
        }
        Ok(written)
    }
}

/// Shared between a [`Tracked`] reader and the parser driving it: where the parser is and how
/// big the record in progress has grown.
#[derive(Debug)]
pub(crate) struct Tracking {
    newlines: Cell<u64>,
    record_bytes: Cell<u64>,
    armed: Cell<bool>,
    tripped: Cell<bool>,
    limit: u64,
}

impl Tracking {
    pub(crate) fn new(limit: u64) -> Rc<Self> {
        Rc::new(Self {
            newlines: Cell::new(0),
            record_bytes: Cell::new(0),
            armed: Cell::new(false),
            tripped: Cell::new(false),
            limit,
        })
    }

    /// The 1-based line of the next byte the parser has not yet taken.
    pub(crate) fn line(&self) -> u64 {
        self.newlines.get() + 1
    }

    /// A record starts: from now on its bytes count against the limit.
    pub(crate) fn start_record(&self) {
        self.record_bytes.set(0);
        self.armed.set(true);
    }

    pub(crate) fn end_record(&self) {
        self.armed.set(false);
    }

    /// Whether a read failed because the record in progress outgrew the limit.
    pub(crate) fn tripped(&self) -> bool {
        self.tripped.get()
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }
}

/// A reader that counts newlines and refuses to feed a record past the size limit, so that one
/// runaway record (an unterminated string) cannot pull a multi-GB file into memory.
///
/// serde_json's streaming reader asks for one byte per `read` call, so this holds its own
/// buffer and serves those calls without going down the reader stack.
pub(crate) struct Tracked<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    tracking: Rc<Tracking>,
}

impl<R> Tracked<R> {
    pub(crate) fn new(inner: R, tracking: Rc<Tracking>) -> Self {
        Self {
            inner,
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            len: 0,
            tracking,
        }
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let t = &*self.tracking;
        if t.armed.get() && t.record_bytes.get() > t.limit {
            t.tripped.set(true);
            return Err(io::Error::other("record exceeds the size limit"));
        }
        if self.pos >= self.len {
            self.len = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        let available = self.buf.get(self.pos..self.len).unwrap_or_default();
        let n = available.len().min(out.len());
        let (taken, _) = available.split_at(n);
        let (target, _) = out.split_at_mut(n);
        target.copy_from_slice(taken);
        let newlines = taken.iter().filter(|b| **b == b'\n').count();
        if newlines > 0 {
            t.newlines.set(t.newlines.get() + newlines as u64);
        }
        if t.armed.get() {
            t.record_bytes.set(t.record_bytes.get() + n as u64);
        }
        self.pos += n;
        Ok(n)
    }
}

/// How [`read_line_limited`] ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineEnd {
    /// No more input.
    Eof,
    /// A line (with its newline, if it had one) is in the buffer.
    Line,
    /// The line was longer than the limit; it was consumed but not kept.
    TooLong,
}

/// Read one line into `out` (cleared first), keeping at most `limit` bytes of it in memory.
pub(crate) fn read_line_limited(
    r: &mut dyn BufRead,
    out: &mut Vec<u8>,
    limit: usize,
) -> io::Result<LineEnd> {
    out.clear();
    let mut any = false;
    let mut too_long = false;
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => LineEnd::Eof,
                (true, true) => LineEnd::TooLong,
                (true, false) => LineEnd::Line,
            });
        }
        any = true;
        let newline = buf.iter().position(|b| *b == b'\n');
        let take = newline.map_or(buf.len(), |i| i + 1);
        if !too_long {
            if out.len() + take > limit {
                too_long = true;
                out.clear();
            } else {
                out.extend_from_slice(buf.get(..take).unwrap_or_default());
            }
        }
        r.consume(take);
        if newline.is_some() {
            return Ok(if too_long {
                LineEnd::TooLong
            } else {
                LineEnd::Line
            });
        }
    }
}

/// Skip ASCII whitespace; returns the first other byte (not consumed), if any.
pub(crate) fn skip_whitespace(r: &mut dyn BufRead) -> io::Result<Option<u8>> {
    loop {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(None);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let first = buf.get(i).copied();
                r.consume(i);
                return Ok(first);
            }
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn decode(bytes: &[u8]) -> (Encoding, String) {
        let (enc, mut text) = open_text(bytes, Rc::new(Cell::new(0))).unwrap();
        let mut s = String::new();
        text.read_to_string(&mut s).unwrap();
        (enc, s)
    }

    fn utf16(s: &str, bom: bool, big_endian: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom
            .then_some(0xFEFF_u16)
            .into_iter()
            .chain(s.encode_utf16());
        for unit in units {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn utf8_bom_is_dropped() {
        assert_eq!(decode(b"\xEF\xBB\xBF[1]"), (Encoding::Utf8, "[1]".into()));
        assert_eq!(decode(b"[1]"), (Encoding::Utf8, "[1]".into()));
    }

    #[test]
    fn utf16_is_transcoded_with_or_without_bom() {
        let text = "{\"UserId\":\"zoë@contoso.com\",\"x\":\"𝄞\"}\r\n";
        assert_eq!(
            decode(&utf16(text, true, false)),
            (Encoding::Utf16Le, text.into())
        );
        assert_eq!(
            decode(&utf16(text, false, false)),
            (Encoding::Utf16Le, text.into())
        );
        assert_eq!(
            decode(&utf16(text, true, true)),
            (Encoding::Utf16Be, text.into())
        );
    }

    #[test]
    fn damaged_utf16_becomes_replacement_characters() {
        let mut bytes = utf16("[\"a", true, false);
        bytes.extend(0xD800_u16.to_le_bytes()); // a lone high surrogate
        bytes.extend(utf16("\"]", false, false));
        bytes.push(b'x'); // a dangling odd byte
        assert_eq!(decode(&bytes).1, "[\"a\u{FFFD}\"]\u{FFFD}");
    }

    #[test]
    fn long_lines_are_consumed_but_not_kept() {
        let mut input: &[u8] = b"short\n0123456789abcdef\nlast";
        let mut line = Vec::new();
        assert_eq!(
            read_line_limited(&mut input, &mut line, 8).unwrap(),
            LineEnd::Line
        );
        assert_eq!(line, b"short\n");
        assert_eq!(
            read_line_limited(&mut input, &mut line, 8).unwrap(),
            LineEnd::TooLong
        );
        assert!(line.is_empty());
        assert_eq!(
            read_line_limited(&mut input, &mut line, 8).unwrap(),
            LineEnd::Line
        );
        assert_eq!(line, b"last");
        assert_eq!(
            read_line_limited(&mut input, &mut line, 8).unwrap(),
            LineEnd::Eof
        );
    }

    #[test]
    fn tracked_reader_stops_a_runaway_record() {
        let tracking = Tracking::new(10);
        let mut r = Tracked::new(&b"a\nb\n0123456789012345"[..], tracking.clone());
        let mut buf = [0u8; 4];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(tracking.line(), 3);
        tracking.start_record();
        let mut rest = Vec::new();
        assert!(r.read_to_end(&mut rest).is_err());
        assert!(tracking.tripped());
    }
}
