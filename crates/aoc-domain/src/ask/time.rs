//! Time ranges in a question: relative ("last 3 days", "yesterday", "since Monday"), calendar
//! ("this week", "last month", "on 3 March") and explicit ("between 1 March and 5 March"), read
//! in a zone and turned into inclusive UTC bounds.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

use super::zones::Zone;

/// A range found in the question, with how it was read (for the asker to check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub label: String,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

fn month(word: &str) -> Option<u32> {
    if word.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| *m == word || (word.len() <= 4 && m.starts_with(word)))
        .map(|i| i as u32 + 1)
}

fn weekday(word: &str) -> Option<Weekday> {
    let w = word.trim_end_matches('s');
    WEEKDAYS
        .iter()
        .find(|(name, _)| *name == w || (w.len() >= 3 && name.starts_with(w) && w.len() <= 4))
        .map(|(_, d)| *d)
}

/// `3`, `3rd`, `21st` as a day of the month.
fn day_number(word: &str) -> Option<u32> {
    let digits = word
        .strip_suffix("st")
        .or_else(|| word.strip_suffix("nd"))
        .or_else(|| word.strip_suffix("rd"))
        .or_else(|| word.strip_suffix("th"))
        .unwrap_or(word);
    let d: u32 = digits.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

fn year_number(word: &str) -> Option<i32> {
    let y: i32 = word.parse().ok()?;
    (1990..=2200).contains(&y).then_some(y)
}

struct Reader<'a> {
    words: &'a [String],
    now: DateTime<Utc>,
    zone: &'a Zone,
}

impl Reader<'_> {
    fn word(&self, i: usize) -> &str {
        self.words.get(i).map(String::as_str).unwrap_or("")
    }

    fn today(&self) -> NaiveDate {
        self.zone.local(self.now).date()
    }

    fn day_start(&self, d: NaiveDate) -> DateTime<Utc> {
        self.zone.to_utc(d.and_time(chrono::NaiveTime::MIN))
    }

    /// The last instant of a run of days ending the day before `next`.
    fn before(&self, next: NaiveDate) -> DateTime<Utc> {
        self.day_start(next) - Duration::milliseconds(1)
    }

    fn days(&self, first: NaiveDate, last: NaiveDate, label: String) -> Range {
        // A range that reaches today ends now, so "today" never promises future events.
        let end = if last >= self.today() {
            self.now
        } else {
            self.before_or_now(last)
        };
        Range {
            start: self.day_start(first),
            end,
            label,
        }
    }

    fn before_or_now(&self, last: NaiveDate) -> DateTime<Utc> {
        last.succ_opt().map(|n| self.before(n)).unwrap_or(self.now)
    }

    fn since(&self, first: NaiveDate, label: String) -> Range {
        Range {
            start: self.day_start(first),
            end: self.now,
            label,
        }
    }

    /// A date at word `i`: (date, words used). A date without a year is the latest one not
    /// after today.
    fn date_at(&self, i: usize) -> Option<(NaiveDate, usize)> {
        let w = self.word(i);
        if let Ok(d) = NaiveDate::parse_from_str(w, "%Y-%m-%d") {
            return Some((d, 1));
        }
        let (day, mon, used) = if let Some(day) = day_number(w) {
            // 3 March, 3rd of March
            let (j, skip) = if self.word(i + 1) == "of" {
                (i + 2, 2)
            } else {
                (i + 1, 1)
            };
            (day, month(self.word(j))?, 1 + skip)
        } else if let Some(mon) = month(w) {
            (day_number(self.word(i + 1))?, mon, 2)
        } else {
            return None;
        };
        if let Some(year) = year_number(self.word(i + used)) {
            return NaiveDate::from_ymd_opt(year, mon, day).map(|d| (d, used + 1));
        }
        let today = self.today();
        let this_year = NaiveDate::from_ymd_opt(today.year(), mon, day);
        let date = match this_year {
            Some(d) if d <= today => Some(d),
            _ => NaiveDate::from_ymd_opt(today.year() - 1, mon, day),
        }?;
        Some((date, used))
    }

    /// The latest `day` not after today.
    fn last_weekday(&self, day: Weekday) -> NaiveDate {
        let today = self.today();
        let back = (7 + today.weekday().num_days_from_monday() - day.num_days_from_monday()) % 7;
        today - Duration::days(i64::from(back))
    }

    fn week_start(&self) -> NaiveDate {
        self.last_weekday(Weekday::Mon)
    }

    fn month_start(&self) -> NaiveDate {
        let t = self.today();
        NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap_or(t)
    }

    fn label_day(d: NaiveDate) -> String {
        d.format("%Y-%m-%d").to_string()
    }

    /// `N unit` (or `24h`) at word `i`: the length and words used.
    fn amount_at(&self, i: usize) -> Option<(Duration, usize, String)> {
        let w = self.word(i);
        let (n, unit, used) = match w.parse::<i64>() {
            Ok(n) => (n, self.word(i + 1).to_string(), 2),
            Err(_) => {
                let split = w.find(|c: char| !c.is_ascii_digit())?;
                if split == 0 {
                    return None;
                }
                (w[..split].parse().ok()?, w[split..].to_string(), 1)
            }
        };
        if !(1..=3650).contains(&n) {
            return None;
        }
        let d = unit_length(&unit)?;
        Some((
            d * n as i32,
            used,
            format!("last {n} {}", unit_name(&unit, n)),
        ))
    }

    fn read(&self) -> Option<Range> {
        let today = self.today();
        for i in 0..self.words.len() {
            let w = self.word(i);
            match w {
                "today" => return Some(self.days(today, today, "today".into())),
                "yesterday" => {
                    let y = today.pred_opt()?;
                    if self.word(i.wrapping_sub(1)) == "since" {
                        return Some(self.since(y, "since yesterday".into()));
                    }
                    return Some(self.days(y, y, format!("yesterday ({})", Self::label_day(y))));
                }
                "last" | "past" | "previous" => {
                    if let Some((length, _, label)) = self.amount_at(i + 1) {
                        return Some(Range {
                            start: self.now - length,
                            end: self.now,
                            label,
                        });
                    }
                    let next = self.word(i + 1);
                    let calendar = w == "last" || w == "previous";
                    match next {
                        "week" if calendar => {
                            let first = self.week_start() - Duration::days(7);
                            let last = first + Duration::days(6);
                            return Some(self.days(
                                first,
                                last,
                                format!(
                                    "last week ({} to {})",
                                    Self::label_day(first),
                                    Self::label_day(last)
                                ),
                            ));
                        }
                        "month" if calendar => {
                            let last = self.month_start().pred_opt()?;
                            let first = NaiveDate::from_ymd_opt(last.year(), last.month(), 1)?;
                            return Some(self.days(
                                first,
                                last,
                                format!("last month ({})", first.format("%Y-%m")),
                            ));
                        }
                        _ => {}
                    }
                    if let Some(length) = unit_length(next) {
                        return Some(Range {
                            start: self.now - length,
                            end: self.now,
                            label: format!("{w} {}", unit_name(next, 1)),
                        });
                    }
                    if let Some(day) = weekday(next) {
                        let mut d = self.last_weekday(day);
                        if d == today {
                            d -= Duration::days(7);
                        }
                        return Some(self.days(
                            d,
                            d,
                            format!("last {next} ({})", Self::label_day(d)),
                        ));
                    }
                }
                "this" | "current" => match self.word(i + 1) {
                    "week" => {
                        return Some(self.since(
                            self.week_start(),
                            format!("this week (since {})", Self::label_day(self.week_start())),
                        ));
                    }
                    "month" => {
                        return Some(self.since(
                            self.month_start(),
                            format!("this month (since {})", Self::label_day(self.month_start())),
                        ));
                    }
                    "year" => {
                        let first = NaiveDate::from_ymd_opt(today.year(), 1, 1)?;
                        return Some(self.since(first, format!("this year (since {first})")));
                    }
                    _ => {}
                },
                "since" => {
                    if let Some(day) = weekday(self.word(i + 1)) {
                        let d = self.last_weekday(day);
                        return Some(self.since(
                            d,
                            format!("since {} ({})", self.word(i + 1), Self::label_day(d)),
                        ));
                    }
                    if let Some((d, _)) = self.date_at(i + 1) {
                        return Some(self.since(d, format!("since {}", Self::label_day(d))));
                    }
                }
                "between" | "from" => {
                    if let Some((first, used)) = self.date_at(i + 1) {
                        let sep = i + 1 + used;
                        if matches!(self.word(sep), "and" | "to" | "until" | "till" | "through")
                            && let Some((last, _)) = self.date_at(sep + 1)
                        {
                            let (first, last) = if last < first {
                                (last, first)
                            } else {
                                (first, last)
                            };
                            return Some(self.days(
                                first,
                                last,
                                format!("{} to {}", Self::label_day(first), Self::label_day(last)),
                            ));
                        }
                        if w == "from" {
                            return Some(
                                self.since(first, format!("since {}", Self::label_day(first))),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        // A single date or weekday anywhere ("on 3 March", "on Monday", "2026-03-03").
        for i in 0..self.words.len() {
            if let Some((d, _)) = self.date_at(i) {
                return Some(self.days(d, d, format!("on {}", Self::label_day(d))));
            }
            if self.word(i.wrapping_sub(1)) == "on"
                && let Some(day) = weekday(self.word(i))
            {
                let d = self.last_weekday(day);
                return Some(self.days(
                    d,
                    d,
                    format!("on {} ({})", self.word(i), Self::label_day(d)),
                ));
            }
        }
        None
    }
}

fn unit_length(unit: &str) -> Option<Duration> {
    Some(match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => Duration::minutes(1),
        "h" | "hr" | "hrs" | "hour" | "hours" => Duration::hours(1),
        "d" | "day" | "days" => Duration::days(1),
        "w" | "week" | "weeks" => Duration::days(7),
        "month" | "months" => Duration::days(30),
        _ => return None,
    })
}

fn unit_name(unit: &str, n: i64) -> &'static str {
    let singular = match unit_length(unit).map(|d| d.num_minutes()) {
        Some(1) => "minute",
        Some(60) => "hour",
        Some(1440) => "day",
        Some(10080) => "week",
        _ => "month",
    };
    if n == 1 {
        singular
    } else {
        match singular {
            "minute" => "minutes",
            "hour" => "hours",
            "day" => "days",
            "week" => "weeks",
            _ => "months",
        }
    }
}

/// The range the question names, if any, read in `zone` at `now`.
pub fn find_range(words: &[String], now: DateTime<Utc>, zone: &Zone) -> Option<Range> {
    Reader { words, now, zone }.read()
}
