//! JSON documents: an array of records, a Graph list response, a single record.
//!
//! serde_json's streaming reader drives our own visitors, which hand each array element to the
//! caller as soon as it is parsed and then drop it: memory is one record, whatever the file's
//! size. A syntax error inside an array leaves no way to find where the next element starts, so
//! it ends the file (reported as a rejected record); the elements before it are kept.

use std::fmt;
use std::io::{self, BufRead};
use std::rc::Rc;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::location::Location;
use super::reader::{Emitter, ReadEnd};
use super::text::{Tracked, Tracking};

/// Where the element loop is, shared by the visitors and read after a failure.
struct Elements<'e, 'a> {
    em: &'e mut Emitter<'a>,
    tracking: Rc<Tracking>,
    done: u64,
    /// Start line of the element being parsed, if one is.
    in_progress: Option<u64>,
    stopped: bool,
    next_link: Option<String>,
}

impl<'e, 'a> Elements<'e, 'a> {
    fn new(em: &'e mut Emitter<'a>, tracking: Rc<Tracking>) -> Self {
        Self {
            em,
            tracking,
            done: 0,
            in_progress: None,
            stopped: false,
            next_link: None,
        }
    }

    /// Turn the error that ended parsing into the file's outcome.
    fn finish(&mut self, result: Result<(), serde_json::Error>) -> io::Result<ReadEnd> {
        let error = match result {
            Ok(()) => return Ok(ReadEnd::Complete),
            Err(_) if self.stopped => return Ok(ReadEnd::Stopped),
            Err(e) => e,
        };
        let location = match self.in_progress {
            Some(line) => Location::Element {
                index: self.done + 1,
                line,
            },
            None => position(&error),
        };
        abandon(self.em, &self.tracking, location, error)
    }
}

fn position(e: &serde_json::Error) -> Location {
    Location::Position {
        line: e.line() as u64,
        column: e.column() as u64,
    }
}

/// Report the error that makes the rest of the file unreadable, or pass on a real I/O error.
fn abandon(
    em: &mut Emitter<'_>,
    tracking: &Tracking,
    location: Location,
    error: serde_json::Error,
) -> io::Result<ReadEnd> {
    let reason = if tracking.tripped() {
        format!(
            "{}; the rest of the file was not read",
            too_large(tracking.limit())
        )
    } else if error.is_io() {
        return Err(error.into());
    } else {
        format!("invalid JSON: {error}; the rest of the file was not read")
    };
    let _ = em.emit(location, Err(reason));
    Ok(ReadEnd::Abandoned)
}

pub(crate) fn too_large(limit: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if limit >= MIB && limit.is_multiple_of(MIB) {
        format!("record is larger than {} MiB", limit / MIB)
    } else {
        format!("record is larger than {limit} bytes")
    }
}

struct ElementSeed<'s, 'e, 'a>(&'s mut Elements<'e, 'a>);

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let s = self.0;
        // The parser has peeked the element's first byte (never a newline), so the count of
        // newlines taken so far is exactly the lines before the element.
        let line = s.tracking.line();
        s.in_progress = Some(line);
        s.tracking.start_record();
        let value = Value::deserialize(d)?;
        s.tracking.end_record();
        s.in_progress = None;
        s.done += 1;
        if s.em
            .emit(
                Location::Element {
                    index: s.done,
                    line,
                },
                Ok(value),
            )
            .is_break()
        {
            s.stopped = true;
            return Err(de::Error::custom("stopped by the caller"));
        }
        Ok(())
    }
}

/// Streams an array's elements to the emitter.
struct ArraySeed<'s, 'e, 'a>(&'s mut Elements<'e, 'a>);

impl<'de> DeserializeSeed<'de> for ArraySeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(ElementSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// A Graph list response: streams `value`, keeps `@odata.nextLink`, skips everything else
/// without building it.
struct ResponseSeed<'s, 'e, 'a>(&'s mut Elements<'e, 'a>);

impl<'de> DeserializeSeed<'de> for ResponseSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResponseSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Graph list response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "value" => map.next_value_seed(ArraySeed(&mut *self.0))?,
                "@odata.nextLink" => {
                    if let Value::String(link) = map.next_value::<Value>()? {
                        self.0.next_link = Some(link);
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A top-level object, noting the line it starts on once the parser has found its `{`.
struct ObjectSeed<'s> {
    tracking: &'s Tracking,
    start: &'s mut Option<u64>,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        *self.start = Some(self.tracking.line());
        self.tracking.start_record();
        Value::deserialize(MapAccessDeserializer::new(map))
    }
}

pub(crate) fn read_array(
    text: Box<dyn BufRead + '_>,
    tracking: Rc<Tracking>,
    em: &mut Emitter<'_>,
) -> io::Result<ReadEnd> {
    let mut de = serde_json::Deserializer::from_reader(Tracked::new(text, tracking.clone()));
    let mut elements = Elements::new(em, tracking);
    let result = ArraySeed(&mut elements)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    elements.finish(result)
}

/// Returns the response's `@odata.nextLink` too: its presence means the file is one page.
pub(crate) fn read_graph_list(
    text: Box<dyn BufRead + '_>,
    tracking: Rc<Tracking>,
    em: &mut Emitter<'_>,
) -> io::Result<(ReadEnd, Option<String>)> {
    let mut de = serde_json::Deserializer::from_reader(Tracked::new(text, tracking.clone()));
    let mut elements = Elements::new(em, tracking);
    let result = ResponseSeed(&mut elements)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    let end = elements.finish(result)?;
    Ok((end, elements.next_link))
}

pub(crate) fn read_object(
    text: Box<dyn BufRead + '_>,
    tracking: Rc<Tracking>,
    em: &mut Emitter<'_>,
) -> io::Result<ReadEnd> {
    let mut de = serde_json::Deserializer::from_reader(Tracked::new(text, tracking.clone()));
    let mut start = None;
    let result = ObjectSeed {
        tracking: &tracking,
        start: &mut start,
    }
    .deserialize(&mut de);
    tracking.end_record();
    let value = match result {
        Ok(value) => value,
        Err(e) => {
            let location = start.map_or_else(|| position(&e), |line| Location::Line { line });
            return abandon(em, &tracking, location, e);
        }
    };
    let line = start.unwrap_or(1);
    if em.emit(Location::Line { line }, Ok(value)).is_break() {
        return Ok(ReadEnd::Stopped);
    }
    match de.end() {
        Ok(()) => Ok(ReadEnd::Complete),
        Err(e) if e.is_io() => Err(e.into()),
        Err(e) => {
            let reason = format!(
                "unexpected content after the JSON object ({e}): a file that starts with an \
                 object holds one record, or one record per line; the rest of the file was not read"
            );
            let _ = em.emit(position(&e), Err(reason));
            Ok(ReadEnd::Abandoned)
        }
    }
}
