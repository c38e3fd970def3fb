//! Splitting a time range into the windows `subscriptions/content` accepts. Pure.
//!
//! The API takes `startTime` (inclusive) and `endTime` (exclusive) at most 24 hours apart, with
//! `startTime` no more than 7 days in the past (otherwise `AF20055`/`AF20030`), in whole seconds.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// Longest window one `subscriptions/content` call may ask for.
pub const MAX_CONTENT_WINDOW: TimeDelta = TimeDelta::hours(24);

/// How far back content can be listed.
pub const CONTENT_LOOKBACK: TimeDelta = TimeDelta::days(7);

/// Kept off the 7-day edge so clock skew and the time between planning and asking cannot push
/// the first window out of range.
pub const LOOKBACK_SAFETY_MARGIN: TimeDelta = TimeDelta::minutes(10);

/// `[start, end)`: `start <= contentCreated < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The windows to list, in order, and whether `from` had to be moved forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowPlan {
    /// Adjacent, non-overlapping, each at most [`MAX_CONTENT_WINDOW`] long; empty when there is
    /// nothing to ask for.
    pub windows: Vec<ContentWindow>,
    /// `Some(new_from)` when `from` was older than the API allows and was moved forward: content
    /// between `from` and `new_from` can no longer be listed.
    pub clamped_from: Option<DateTime<Utc>>,
    /// `Some(now)` when `to` lay in the future and was pulled back to `now`: content created
    /// later is not covered, so a caller's watermark must not move past this instant.
    pub clamped_to: Option<DateTime<Utc>>,
}

impl WindowPlan {
    /// Where the planned windows end: the instant a caller may advance its watermark to once
    /// every window has been listed and fetched. `None` when there is no window.
    pub fn covered_until(&self) -> Option<DateTime<Utc>> {
        self.windows.last().map(|w| w.end)
    }
}

/// Plans `[from, to)` for `subscriptions/content` as of `now`, with the API's limits.
pub fn plan_content_windows(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> WindowPlan {
    split_window(
        from,
        to,
        now,
        MAX_CONTENT_WINDOW,
        CONTENT_LOOKBACK - LOOKBACK_SAFETY_MARGIN,
    )
}

/// Splits `[from, to)` into windows of at most `max_len`, after moving `from` forward to no
/// earlier than `now - max_age` and `to` back to no later than `now`. Bounds are truncated to whole seconds (the API's precision);
/// because every bound is truncated the same way, consecutive calls with `to` of one as `from`
/// of the next still tile time without gaps. An empty or inverted range gives no windows.
pub fn split_window(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    max_len: TimeDelta,
    max_age: TimeDelta,
) -> WindowPlan {
    let now = now.trunc_subsecs(0);
    let mut start = from.trunc_subsecs(0);
    let mut end = to.trunc_subsecs(0);
    let mut clamped_from = None;
    let mut clamped_to = None;
    if start >= end {
        return WindowPlan {
            windows: Vec::new(),
            clamped_from,
            clamped_to,
        };
    }
    let earliest = now.checked_sub_signed(max_age).unwrap_or(now);
    if start < earliest {
        start = earliest;
        clamped_from = Some(earliest);
    }
    if end > now {
        end = now;
        clamped_to = Some(now);
    }
    let step = TimeDelta::seconds(max_len.num_seconds().max(1));
    let mut windows = Vec::new();
    while start < end {
        let stop = start.checked_add_signed(step).unwrap_or(end).min(end);
        windows.push(ContentWindow { start, end: stop });
        start = stop;
    }
    WindowPlan {
        windows,
        clamped_from,
        clamped_to,
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, the fullest form the API documents (UTC implied).
pub(crate) fn api_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, m, s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        at(20, 12, 0, 0)
    }

    #[test]
    fn a_short_range_is_one_window() {
        let plan = plan_content_windows(at(20, 8, 0, 0), at(20, 9, 30, 0), now());
        assert_eq!(
            plan.windows,
            vec![ContentWindow {
                start: at(20, 8, 0, 0),
                end: at(20, 9, 30, 0)
            }]
        );
        assert_eq!(plan.clamped_from, None);
    }

    #[test]
    fn long_ranges_split_into_adjacent_24_hour_windows() {
        let plan = plan_content_windows(at(17, 6, 0, 0), at(19, 18, 0, 0), now());
        let w = &plan.windows;
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].start, at(17, 6, 0, 0));
        assert_eq!(w[0].end, at(18, 6, 0, 0));
        assert_eq!(
            w[1].start, w[0].end,
            "end is exclusive, so the next start is the same instant"
        );
        assert_eq!(w[1].end, at(19, 6, 0, 0));
        assert_eq!(w[2].end, at(19, 18, 0, 0));
        assert!(
            w.iter()
                .all(|x| x.end - x.start <= MAX_CONTENT_WINDOW && x.start < x.end)
        );
    }

    #[test]
    fn exactly_24_hours_is_one_window() {
        let plan = plan_content_windows(at(18, 0, 0, 0), at(19, 0, 0, 0), now());
        assert_eq!(plan.windows.len(), 1);
    }

    #[test]
    fn from_older_than_seven_days_is_clamped_not_refused() {
        let plan = plan_content_windows(at(1, 0, 0, 0), at(15, 0, 0, 0), now());
        let earliest = now() - CONTENT_LOOKBACK + LOOKBACK_SAFETY_MARGIN;
        assert_eq!(plan.covered_until(), Some(at(15, 0, 0, 0)));
        assert_eq!(plan.clamped_from, Some(earliest));
        assert_eq!(plan.windows[0].start, earliest);
        assert!(plan.windows[0].start > now() - CONTENT_LOOKBACK);
        assert_eq!(plan.windows.last().unwrap().end, at(15, 0, 0, 0));
        for pair in plan.windows.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
    }

    #[test]
    fn a_range_entirely_out_of_reach_gives_no_windows() {
        let plan = plan_content_windows(at(1, 0, 0, 0), at(5, 0, 0, 0), now());
        assert!(plan.windows.is_empty());
        assert!(plan.clamped_from.is_some());
    }

    #[test]
    fn empty_and_inverted_ranges_give_no_windows() {
        let t = at(20, 8, 0, 0);
        assert!(plan_content_windows(t, t, now()).windows.is_empty());
        let plan = plan_content_windows(at(20, 9, 0, 0), at(20, 8, 0, 0), now());
        assert!(plan.windows.is_empty());
        assert_eq!(plan.clamped_from, None);
        // Less than a second apart truncates to the same second: nothing to ask for.
        let a = t + TimeDelta::milliseconds(100);
        let b = t + TimeDelta::milliseconds(900);
        assert!(plan_content_windows(a, b, now()).windows.is_empty());
    }

    #[test]
    fn sub_second_bounds_are_truncated_consistently() {
        let mid = at(20, 9, 0, 0) + TimeDelta::milliseconds(750);
        let first = plan_content_windows(at(20, 8, 0, 0), mid, now());
        let second = plan_content_windows(mid, at(20, 10, 0, 0), now());
        assert_eq!(first.windows.last().unwrap().end, at(20, 9, 0, 0));
        assert_eq!(second.windows[0].start, at(20, 9, 0, 0));
    }

    #[test]
    fn the_clamp_lands_on_a_whole_second_inside_the_limit() {
        let now = at(20, 12, 0, 0) + TimeDelta::milliseconds(300);
        let plan = plan_content_windows(at(1, 0, 0, 0), at(20, 0, 0, 0), now);
        let start = plan.windows[0].start;
        assert_eq!(start.timestamp_subsec_nanos(), 0);
        assert!(start > now - CONTENT_LOOKBACK);
    }

    #[test]
    fn a_future_end_is_pulled_back_to_now() {
        let plan = plan_content_windows(at(20, 11, 0, 0), at(25, 0, 0, 0), now());
        assert_eq!(plan.clamped_to, Some(now()));
        assert_eq!(plan.covered_until(), Some(now()));
        assert_eq!(plan.windows.len(), 1);
        // Even an absurd end cannot produce an unbounded plan or overflow.
        let plan = plan_content_windows(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, now());
        assert_eq!(plan.windows.len(), 7);
        assert!(plan.clamped_from.is_some() && plan.clamped_to.is_some());
    }

    #[test]
    fn custom_lengths_are_honoured() {
        let plan = split_window(
            at(20, 0, 0, 0),
            at(20, 10, 0, 0),
            now(),
            TimeDelta::hours(4),
            CONTENT_LOOKBACK,
        );
        let lens: Vec<_> = plan.windows.iter().map(|w| w.end - w.start).collect();
        assert_eq!(
            lens,
            vec![
                TimeDelta::hours(4),
                TimeDelta::hours(4),
                TimeDelta::hours(2)
            ]
        );
        // A degenerate length cannot loop forever.
        let plan = split_window(
            at(20, 0, 0, 0),
            at(20, 0, 0, 3),
            now(),
            TimeDelta::zero(),
            CONTENT_LOOKBACK,
        );
        assert_eq!(plan.windows.len(), 3);
    }

    #[test]
    fn api_time_is_seconds_without_zone() {
        assert_eq!(api_time(at(2, 8, 5, 9)), "2026-11-02T08:05:09");
    }
}
