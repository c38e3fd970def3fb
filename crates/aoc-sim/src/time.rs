//! Instants as 100-nanosecond ticks since the Unix epoch.
//!
//! Graph renders `activityDateTime` with seven fractional digits ("2024-01-09T21:20:02.7215374Z").
//! Keeping the simulator's clock in the same unit means a timestamp a client copies from a
//! record back into a `$filter` compares exactly against the record it came from.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// 100 ns ticks since 1970-01-01T00:00:00Z.
pub(crate) type Ticks = i64;

pub(crate) const TICKS_PER_SECOND: Ticks = 10_000_000;
pub(crate) const TICKS_PER_MINUTE: Ticks = 60 * TICKS_PER_SECOND;
pub(crate) const TICKS_PER_HOUR: Ticks = 60 * TICKS_PER_MINUTE;
pub(crate) const TICKS_PER_DAY: Ticks = 24 * TICKS_PER_HOUR;

pub(crate) fn to_ticks(t: DateTime<Utc>) -> Ticks {
    t.timestamp()
        .saturating_mul(TICKS_PER_SECOND)
        .saturating_add(i64::from(t.timestamp_subsec_nanos() / 100))
}

pub(crate) fn from_ticks(ticks: Ticks) -> DateTime<Utc> {
    let secs = ticks.div_euclid(TICKS_PER_SECOND);
    let nanos = (ticks.rem_euclid(TICKS_PER_SECOND) * 100) as u32;
    DateTime::from_timestamp(secs, nanos).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Graph style: `2024-01-09T21:20:02.7215374Z`.
pub(crate) fn graph_time(ticks: Ticks) -> String {
    let t = from_ticks(ticks);
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        ticks.rem_euclid(TICKS_PER_SECOND)
    )
}

/// Management Activity API `CreationTime` style: `2015-06-29T20:03:19` (UTC, no zone, no fraction).
pub(crate) fn creation_time(ticks: Ticks) -> String {
    from_ticks(ticks).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Management Activity API listing style: `2015-05-23T17:35:00.000Z`.
pub(crate) fn content_time(ticks: Ticks) -> String {
    from_ticks(ticks)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Compact digits used inside content ids: `20150523173500123`.
pub(crate) fn compact_time(ticks: Ticks) -> String {
    from_ticks(ticks).format("%Y%m%d%H%M%S%3f").to_string()
}

/// An OData `DateTimeOffset` literal as Graph accepts it in `$filter` (RFC 3339, any offset).
pub(crate) fn parse_rfc3339(s: &str) -> Option<Ticks> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| to_ticks(t.with_timezone(&Utc)))
}

/// The formats the Management Activity API documents for `startTime`/`endTime`
/// (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS`), plus the fractional seconds and
/// trailing `Z` or offset that real clients send and the service accepts. Zone-less values are UTC.
pub(crate) fn parse_management_time(s: &str) -> Option<Ticks> {
    let s = s.trim();
    if let Some(t) = parse_rfc3339(s) {
        return Some(t);
    }
    let bare = s.strip_suffix('Z').unwrap_or(s);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(bare, fmt) {
            return Some(to_ticks(t.and_utc()));
        }
    }
    NaiveDate::parse_from_str(bare, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| to_ticks(t.and_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_time_round_trips_through_rfc3339() {
        let t = 17_049_000_021_234_567;
        let s = graph_time(t);
        assert!(s.ends_with('Z'));
        assert_eq!(s.split('.').nth(1).map(str::len), Some(8));
        assert_eq!(parse_rfc3339(&s), Some(t));
    }

    #[test]
    fn management_formats() {
        let day = parse_management_time("2015-10-01");
        assert_eq!(day, parse_rfc3339("2015-10-01T00:00:00Z"));
        assert_eq!(
            parse_management_time("2015-10-01T10:20"),
            parse_rfc3339("2015-10-01T10:20:00Z")
        );
        assert_eq!(
            parse_management_time("2015-10-01T10:20:30"),
            parse_rfc3339("2015-10-01T10:20:30Z")
        );
        assert_eq!(
            parse_management_time("2015-10-01T10:20:30.500Z"),
            parse_rfc3339("2015-10-01T10:20:30.5Z")
        );
        assert_eq!(parse_management_time("yesterday"), None);
    }

    #[test]
    fn formats() {
        let t = parse_rfc3339("2015-06-29T20:03:19.123Z").unwrap_or_default();
        assert_eq!(creation_time(t), "2015-06-29T20:03:19");
        assert_eq!(content_time(t), "2015-06-29T20:03:19.123Z");
        assert_eq!(compact_time(t), "20150629200319123");
    }
}
