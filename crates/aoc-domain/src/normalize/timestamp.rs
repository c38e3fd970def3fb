//! Timestamps as Microsoft writes them: RFC 3339 from Graph, offset-less local-looking UTC from
//! the Management Activity API (`2024-03-05T14:07:33`), and .NET's seven fractional digits
//! (ticks) from either. Everything becomes a `DateTime<Utc>` truncated to microseconds, the
//! precision the stores keep, so a record read twice compares equal.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// Parse a timestamp with 0 to 9 fractional digits, with or without `Z` or an offset
/// (no offset means UTC), with `T` or a space between date and time.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let parsed = if has_offset(s) {
        DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .map(|dt| dt.with_timezone(&Utc))
            .ok()?
    } else {
        match utc_rfc3339(s) {
            Some(dt) => dt,
            None => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
                .map(|n| n.and_utc())
                .ok()?,
        }
    };
    Some(truncate_to_micros(parsed))
}

/// An offset-less timestamp read as UTC by appending the `Z` the Management API leaves off:
/// the RFC 3339 parser is several times faster than a format-string parse, and most unified
/// records take this road.
fn utc_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    let mut buf = [0u8; 48];
    let slot = buf.get_mut(..s.len() + 1)?;
    let (last, head) = slot.split_last_mut()?;
    head.copy_from_slice(s.as_bytes());
    *last = b'Z';
    let text = std::str::from_utf8(slot).ok()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|dt| dt.with_timezone(&Utc))
}

/// Whether the time part ends in `Z` or carries a `+hh:mm` / `-hh:mm` offset (the date's own
/// dashes are in the first ten characters).
fn has_offset(s: &str) -> bool {
    s.ends_with(['Z', 'z']) || s.get(10..).is_some_and(|time| time.contains(['+', '-']))
}

pub(crate) fn truncate_to_micros(dt: DateTime<Utc>) -> DateTime<Utc> {
    dt.with_nanosecond(dt.nanosecond() / 1_000 * 1_000)
        .unwrap_or(dt)
}

/// The canonical text of a timestamp inside dedupe hashes: RFC 3339, UTC, always 6 digits.
pub(crate) fn canonical(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn accepts_every_shape_microsoft_writes() {
        let cases = [
            ("2024-03-05T14:07:33", "2024-03-05T14:07:33.000000Z"),
            ("2024-03-05T14:07:33Z", "2024-03-05T14:07:33.000000Z"),
            ("2024-03-05T14:07:33.1Z", "2024-03-05T14:07:33.100000Z"),
            ("2024-03-05T14:07:33.12", "2024-03-05T14:07:33.120000Z"),
            ("2024-03-05T14:07:33.123456Z", "2024-03-05T14:07:33.123456Z"),
            (
                "2024-03-05T14:07:33.1234567Z",
                "2024-03-05T14:07:33.123456Z",
            ),
            ("2024-03-05T14:07:33.1234567", "2024-03-05T14:07:33.123456Z"),
            (
                "2024-03-05T14:07:33.9999999+02:00",
                "2024-03-05T12:07:33.999999Z",
            ),
            ("2024-03-05T14:07:33-05:30", "2024-03-05T19:37:33.000000Z"),
            ("2024-03-05T14:07:33.5+0100", "2024-03-05T13:07:33.500000Z"),
            ("2024-03-05 14:07:33.25", "2024-03-05T14:07:33.250000Z"),
            ("2024-03-05 14:07:33Z", "2024-03-05T14:07:33.000000Z"),
            ("  2024-03-05T14:07:33z ", "2024-03-05T14:07:33.000000Z"),
            (
                "2024-12-31T23:59:59.123456789Z",
                "2024-12-31T23:59:59.123456Z",
            ),
        ];
        for (input, want) in cases {
            let got = parse_timestamp(input).unwrap_or_else(|| panic!("{input} did not parse"));
            assert_eq!(canonical(&got), want, "{input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for input in [
            "",
            "yesterday",
            "2024-13-05T14:07:33Z",
            "2024-03-05",
            "14:07:33",
            "2024-03-05T14:07:33+25:00",
        ] {
            assert_eq!(parse_timestamp(input), None, "{input}");
        }
    }
}
