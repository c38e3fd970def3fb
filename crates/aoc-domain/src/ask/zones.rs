//! Time zones a question may name: UTC offsets (`UTC+2`, `GMT-05:00`, `+05:30`) and a table of
//! common IANA names with their daylight-saving rules. A table rather than the tz database keeps
//! the domain crate free of a large dependency; a name it does not know is reported back to the
//! asker (who can write an offset instead), never guessed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};

/// When a zone is on daylight time (one hour ahead of its standard offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dst {
    None,
    /// The EU: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
    Europe,
    /// The US and Canada: second Sunday of March 02:00 local to first Sunday of November 02:00.
    NorthAmerica,
    /// South-east Australia: first Sunday of October to first Sunday of April (southern summer).
    Australia,
    /// New Zealand: last Sunday of September to first Sunday of April.
    NewZealand,
}

const ZONES: &[(&str, i32, Dst)] = &[
    ("UTC", 0, Dst::None),
    ("Etc/UTC", 0, Dst::None),
    ("GMT", 0, Dst::None),
    ("Europe/London", 0, Dst::Europe),
    ("Europe/Dublin", 0, Dst::Europe),
    ("Europe/Lisbon", 0, Dst::Europe),
    ("Europe/Paris", 60, Dst::Europe),
    ("Europe/Berlin", 60, Dst::Europe),
    ("Europe/Amsterdam", 60, Dst::Europe),
    ("Europe/Brussels", 60, Dst::Europe),
    ("Europe/Madrid", 60, Dst::Europe),
    ("Europe/Rome", 60, Dst::Europe),
    ("Europe/Vienna", 60, Dst::Europe),
    ("Europe/Zurich", 60, Dst::Europe),
    ("Europe/Stockholm", 60, Dst::Europe),
    ("Europe/Oslo", 60, Dst::Europe),
    ("Europe/Copenhagen", 60, Dst::Europe),
    ("Europe/Warsaw", 60, Dst::Europe),
    ("Europe/Prague", 60, Dst::Europe),
    ("Europe/Helsinki", 120, Dst::Europe),
    ("Europe/Athens", 120, Dst::Europe),
    ("Europe/Kyiv", 120, Dst::Europe),
    ("Europe/Bucharest", 120, Dst::Europe),
    ("Europe/Istanbul", 180, Dst::None),
    ("Europe/Moscow", 180, Dst::None),
    ("America/New_York", -300, Dst::NorthAmerica),
    ("America/Toronto", -300, Dst::NorthAmerica),
    ("America/Chicago", -360, Dst::NorthAmerica),
    ("America/Denver", -420, Dst::NorthAmerica),
    ("America/Phoenix", -420, Dst::None),
    ("America/Los_Angeles", -480, Dst::NorthAmerica),
    ("America/Vancouver", -480, Dst::NorthAmerica),
    ("America/Anchorage", -540, Dst::NorthAmerica),
    ("Pacific/Honolulu", -600, Dst::None),
    ("America/Sao_Paulo", -180, Dst::None),
    ("Asia/Dubai", 240, Dst::None),
    ("Asia/Kolkata", 330, Dst::None),
    ("Asia/Singapore", 480, Dst::None),
    ("Asia/Shanghai", 480, Dst::None),
    ("Asia/Hong_Kong", 480, Dst::None),
    ("Asia/Tokyo", 540, Dst::None),
    ("Asia/Seoul", 540, Dst::None),
    ("Australia/Perth", 480, Dst::None),
    ("Australia/Brisbane", 600, Dst::None),
    ("Australia/Sydney", 600, Dst::Australia),
    ("Australia/Melbourne", 600, Dst::Australia),
    ("Pacific/Auckland", 720, Dst::NewZealand),
];

/// A zone questions are read in: a fixed offset or a named zone from the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    name: String,
    standard_minutes: i32,
    dst: Dst,
}

impl Zone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            standard_minutes: 0,
            dst: Dst::None,
        }
    }

    /// How the zone is shown: `UTC`, `Europe/Paris` or `+02:00`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A zone by IANA name (ignoring case) or UTC offset; None when neither.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if let Some((name, minutes, dst)) = ZONES.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(t))
        {
            return Some(Self {
                name: (*name).to_string(),
                standard_minutes: *minutes,
                dst: *dst,
            });
        }
        parse_offset(t).map(|minutes| Self {
            name: offset_name(minutes),
            standard_minutes: minutes,
            dst: Dst::None,
        })
    }

    /// Offset from UTC, in minutes, at this instant.
    pub fn offset_minutes_at(&self, at: DateTime<Utc>) -> i32 {
        if in_daylight_time(self.dst, self.standard_minutes, at) {
            self.standard_minutes + 60
        } else {
            self.standard_minutes
        }
    }

    /// The local wall-clock time at `at`.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.naive_utc() + Duration::minutes(i64::from(self.offset_minutes_at(at)))
    }

    /// The instant a local wall-clock time names. In the hour skipped or repeated by a clock
    /// change the standard-time reading is taken: a question's day bounds are midnights, which
    /// no rule in the table moves.
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let standard =
            Utc.from_utc_datetime(&(local - Duration::minutes(i64::from(self.standard_minutes))));
        if self.offset_minutes_at(standard) == self.standard_minutes {
            return standard;
        }
        let daylight = Utc
            .from_utc_datetime(&(local - Duration::minutes(i64::from(self.standard_minutes + 60))));
        if self.offset_minutes_at(daylight) == self.standard_minutes + 60 {
            daylight
        } else {
            standard
        }
    }
}

/// Is `at` within a daylight period of this rule (zone standard offset `std` in minutes)?
fn in_daylight_time(dst: Dst, std: i32, at: DateTime<Utc>) -> bool {
    let year = at.year();
    let utc_at =
        |date: Option<NaiveDate>, hour: u32, offset_minutes: i32| -> Option<DateTime<Utc>> {
            let local = date?.and_hms_opt(hour, 0, 0)?;
            Some(Utc.from_utc_datetime(&(local - Duration::minutes(i64::from(offset_minutes)))))
        };
    let window = |start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>, southern: bool| match (
        start, end,
    ) {
        (Some(s), Some(e)) if southern => at >= s || at < e,
        (Some(s), Some(e)) => at >= s && at < e,
        _ => false,
    };
    match dst {
        Dst::None => false,
        Dst::Europe => window(
            utc_at(last_weekday(year, 3, Weekday::Sun), 1, 0),
            utc_at(last_weekday(year, 10, Weekday::Sun), 1, 0),
            false,
        ),
        Dst::NorthAmerica => window(
            utc_at(nth_weekday(year, 3, Weekday::Sun, 2), 2, std),
            utc_at(nth_weekday(year, 11, Weekday::Sun, 1), 2, std + 60),
            false,
        ),
        Dst::Australia => window(
            utc_at(nth_weekday(year, 10, Weekday::Sun, 1), 2, std),
            utc_at(nth_weekday(year, 4, Weekday::Sun, 1), 3, std + 60),
            true,
        ),
        Dst::NewZealand => window(
            utc_at(last_weekday(year, 9, Weekday::Sun), 2, std),
            utc_at(nth_weekday(year, 4, Weekday::Sun, 1), 3, std + 60),
            true,
        ),
    }
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    (1..=5)
        .rev()
        .find_map(|n| NaiveDate::from_weekday_of_month_opt(year, month, weekday, n))
}

/// `UTC+2`, `utc-05:30`, `GMT+1`, `+02:00`, `-0500` as minutes east of UTC.
fn parse_offset(text: &str) -> Option<i32> {
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("utc")
        .or_else(|| lower.strip_prefix("gmt"))
        .unwrap_or(&lower);
    let (sign, digits) = match rest.chars().next()? {
        '+' => (1, &rest[1..]),
        '-' | '\u{2212}' => (-1, &rest[rest.chars().next()?.len_utf8()..]),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => (&digits[..2], &digits[2..]),
        None => (digits, "0"),
    };
    if hours.is_empty()
        || hours.len() > 2
        || !hours.chars().all(|c| c.is_ascii_digit())
        || !minutes.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let h: i32 = hours.parse().ok()?;
    let m: i32 = minutes.parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    Some(sign * (h * 60 + m))
}

fn offset_name(minutes: i32) -> String {
    if minutes == 0 {
        return "UTC".into();
    }
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// The table's names, for documentation and error messages.
pub fn known_zone_names() -> impl Iterator<Item = &'static str> {
    ZONES.iter().map(|(n, _, _)| *n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn offsets_parse_in_the_usual_spellings() {
        assert_eq!(Zone::parse("UTC+2").unwrap().name(), "+02:00");
        assert_eq!(Zone::parse("gmt-05:30").unwrap().name(), "-05:30");
        assert_eq!(Zone::parse("+0100").unwrap().name(), "+01:00");
        assert_eq!(Zone::parse("utc").unwrap().name(), "UTC");
        assert!(Zone::parse("UTC+99").is_none());
        assert!(Zone::parse("Mars/Olympus").is_none());
    }

    #[test]
    fn daylight_saving_follows_the_regional_rule() {
        let paris = Zone::parse("europe/paris").unwrap();
        assert_eq!(paris.offset_minutes_at(at("2026-01-15T12:00:00Z")), 60);
        assert_eq!(paris.offset_minutes_at(at("2026-07-15T12:00:00Z")), 120);
        // 2026-03-29 is the last Sunday of March: the change is at 01:00 UTC.
        assert_eq!(paris.offset_minutes_at(at("2026-03-29T00:59:00Z")), 60);
        assert_eq!(paris.offset_minutes_at(at("2026-03-29T01:00:00Z")), 120);
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(ny.offset_minutes_at(at("2026-03-08T06:59:00Z")), -300);
        assert_eq!(ny.offset_minutes_at(at("2026-03-08T07:00:00Z")), -240);
        let sydney = Zone::parse("Australia/Sydney").unwrap();
        assert_eq!(sydney.offset_minutes_at(at("2026-01-15T00:00:00Z")), 660);
        assert_eq!(sydney.offset_minutes_at(at("2026-07-15T00:00:00Z")), 600);
    }

    #[test]
    fn local_midnight_maps_back_to_the_instant() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        let midnight = NaiveDate::from_ymd_opt(2026, 7, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(paris.to_utc(midnight), at("2026-06-30T22:00:00Z"));
        assert_eq!(paris.local(at("2026-06-30T22:00:00Z")), midnight);
    }
}
