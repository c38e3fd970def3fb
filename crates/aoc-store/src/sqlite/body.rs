//! The bulky part of an event (actor, targets and raw record, as JSON text) stored as one
//! compressed blob. Audit records are verbose JSON with repeated keys: compressed they take a
//! fraction of the bytes, so several rows share a 4 KiB page where the ~1.4 KB plain text
//! fitted two.
//!
//! Bodies are zstd frames compressed with a built-in dictionary ([`DICTIONARY`]). Bodies
//! written before (deflate, no dictionary) are still read: a zstd frame starts with a magic
//! number no deflate stream can start with (a stored block whose length and its complement
//! disagree), so the first bytes say which one a blob is.

use std::cell::RefCell;
use std::io::Read;

use flate2::read::DeflateDecoder;
use zstd::bulk::{Compressor, Decompressor};

use crate::{StoreError, StoreResult};

/// Separates the three JSON texts. Compact JSON (serde_json's `to_string`) never contains a
/// raw newline: newlines inside strings are escaped.
const SEPARATOR: u8 = b'\n';

/// A raw-content dictionary: the field names and JSON framing of the record shapes AOC
/// stores, as Microsoft documents them (Graph directory audits, Intune audit events, the
/// Management Activity API's common, Exchange, SharePoint and Entra schemas) and of the
/// actor and target JSON the normalizers write. Field names only, no values from any tenant
/// or the simulator. A body of ~1.4 KB repeats few of its own keys, so without a dictionary
/// every key is spelled out once per record; with one they become back-references.
///
/// Never edit this file: stored bodies need the exact bytes to decompress. A better
/// dictionary would be a second one, told apart by a header.
const DICTIONARY: &[u8] = include_bytes!("body_dictionary.txt");

/// zstd level 3 (its default): at ~1.4 KB per body the levels 1-3 cost about the same here,
/// and 3 compresses best of them.
const LEVEL: i32 = 3;

/// The first four bytes of every zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// No stored body decompresses to more than this; a blob claiming more is corrupt.
const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

thread_local! {
    // A context with the dictionary loaded is costly to build and cheap to reuse.
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("event body: {what}"))
}

/// Compress `actor`, `targets` and `raw` (compact JSON text) into one blob.
pub(super) fn pack(actor: &str, targets: &str, raw: &str) -> StoreResult<Vec<u8>> {
    let mut text = Vec::with_capacity(actor.len() + targets.len() + raw.len() + 2);
    text.extend_from_slice(actor.as_bytes());
    text.push(SEPARATOR);
    text.extend_from_slice(targets.as_bytes());
    text.push(SEPARATOR);
    text.extend_from_slice(raw.as_bytes());
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(
                Compressor::with_dictionary(LEVEL, DICTIONARY)
                    .map_err(|e| StoreError::Corrupt(format!("cannot compress: {e}")))?,
            ),
        };
        compressor
            .compress(&text)
            .map_err(|e| StoreError::Corrupt(format!("cannot compress: {e}")))
    })
}

/// The (actor, targets, raw) JSON texts of a blob [`pack`] wrote (or the deflate blobs
/// stored before).
pub(super) fn unpack(blob: &[u8]) -> StoreResult<(String, String, String)> {
    let text = if blob.starts_with(&ZSTD_MAGIC) {
        decompress(blob)?
    } else {
        let mut text = String::with_capacity(blob.len() * 3);
        DeflateDecoder::new(blob)
            .read_to_string(&mut text)
            .map_err(corrupt)?;
        text
    };
    let mut parts = text.splitn(3, char::from(SEPARATOR));
    match (parts.next(), parts.next(), parts.next()) {
        (Some(actor), Some(targets), Some(raw)) => {
            Ok((actor.to_string(), targets.to_string(), raw.to_string()))
        }
        _ => Err(corrupt("expected three parts")),
    }
}

fn decompress(blob: &[u8]) -> StoreResult<String> {
    // `pack` writes single frames that record their size.
    let size = zstd::zstd_safe::get_frame_content_size(blob)
        .map_err(|_| corrupt("not a zstd frame"))?
        .filter(|n| *n <= MAX_BODY_BYTES)
        .ok_or_else(|| corrupt("frame without a plausible size"))?;
    let capacity = usize::try_from(size).map_err(corrupt)?;
    let bytes = DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(Decompressor::with_dictionary(DICTIONARY).map_err(corrupt)?),
        };
        decompressor.decompress(blob, capacity).map_err(corrupt)
    })?;
    String::from_utf8(bytes).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::io::Write;

    use super::*;

    #[test]
    fn round_trips() {
        let raw = r#"{"a":"line\nbreak","b":[1,2,3],"c":"é"}"#;
        let blob = pack(r#"{"UserId":"x"}"#, "[]", raw).unwrap();
        assert!(blob.starts_with(&ZSTD_MAGIC));
        let (actor, targets, back) = unpack(&blob).unwrap();
        assert_eq!(actor, r#"{"UserId":"x"}"#);
        assert_eq!(targets, "[]");
        assert_eq!(back, raw);
    }

    #[test]
    fn reads_deflate_bodies_written_before() {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(b"{\"UserId\":\"x\"}\n[]\n{\"Id\":1}")
            .unwrap();
        let blob = encoder.finish().unwrap();
        let (actor, targets, raw) = unpack(&blob).unwrap();
        assert_eq!(
            (actor.as_str(), targets.as_str(), raw.as_str()),
            ("{\"UserId\":\"x\"}", "[]", "{\"Id\":1}")
        );
        // Empty input too: deflate's smallest stream must not look like zstd.
        let empty = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast())
            .finish()
            .unwrap();
        assert!(!empty.starts_with(&ZSTD_MAGIC));
    }

    #[test]
    fn the_dictionary_is_the_one_bodies_were_written_with() {
        // Changing it would make every stored zstd body unreadable.
        assert_eq!(DICTIONARY.len(), 2792);
        let weighted: u64 = (1..).zip(DICTIONARY).map(|(i, b)| i * u64::from(*b)).sum();
        assert_eq!(weighted, 318_993_645);
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        assert!(matches!(
            unpack(b"not deflate at all"),
            Err(StoreError::Corrupt(_))
        ));
        let mut fake = ZSTD_MAGIC.to_vec();
        fake.extend_from_slice(b"garbage");
        assert!(matches!(unpack(&fake), Err(StoreError::Corrupt(_))));
    }
}
