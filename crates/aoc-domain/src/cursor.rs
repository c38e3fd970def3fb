//! The opaque keyset cursor: base64 (URL-safe, unpadded) of `v1|<timestamp micros>|<id>`.
//! Decoding validates every part, so a forged or truncated cursor is a clear error, never a
//! query over garbage.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub timestamp: DateTime<Utc>,
    pub id: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CursorError {
    #[error("cursor is not valid base64")]
    Encoding,
    #[error("cursor is malformed")]
    Malformed,
}

const MAX_CURSOR_LEN: usize = 4096;

impl Cursor {
    pub fn new(timestamp: DateTime<Utc>, id: impl Into<String>) -> Self {
        Self {
            timestamp,
            id: id.into(),
        }
    }

    pub fn encode(&self) -> String {
        let raw = format!("v1|{}|{}", self.timestamp.timestamp_micros(), self.id);
        URL_SAFE_NO_PAD.encode(raw.as_bytes())
    }

    pub fn decode(text: &str) -> Result<Self, CursorError> {
        if text.is_empty() || text.len() > MAX_CURSOR_LEN {
            return Err(CursorError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| CursorError::Encoding)?;
        let raw = String::from_utf8(bytes).map_err(|_| CursorError::Malformed)?;
        let mut parts = raw.splitn(3, '|');
        if parts.next() != Some("v1") {
            return Err(CursorError::Malformed);
        }
        let micros: i64 = parts
            .next()
            .and_then(|m| m.parse().ok())
            .ok_or(CursorError::Malformed)?;
        let id = parts.next().ok_or(CursorError::Malformed)?;
        if id.is_empty() {
            return Err(CursorError::Malformed);
        }
        let timestamp =
            DateTime::<Utc>::from_timestamp_micros(micros).ok_or(CursorError::Malformed)?;
        Ok(Self {
            timestamp,
            id: id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_ids_with_separators_and_unicode() {
        let ts = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
            .map(|t| t.with_timezone(&Utc));
        let Ok(ts) = ts else {
            panic!("fixture timestamp")
        };
        for id in ["abc", "Directory_X|Y|Z", "ünïcödé id", "a=b"] {
            let c = Cursor::new(ts, id);
            assert_eq!(Cursor::decode(&c.encode()), Ok(c.clone()));
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "!!!",
            "djF8eHx5",
            "djJ8MXxh",
            "djF8MXw",
            &"A".repeat(5000),
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad} should be rejected");
        }
    }
}
