//! When to try a failed delivery again.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest a receiver's `Retry-After` is obeyed: beyond that it is more likely a mistake
/// than a plan, and alerts should not sit for days.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

/// `base` doubled per earlier failure, at most `max`, then jittered down by up to half so that
/// many items failing together do not retry in lockstep.
pub(crate) fn backoff(base: Duration, max: Duration, failures_before: u32, seed: i64) -> Duration {
    let factor = 2u32.saturating_pow(failures_before.min(20));
    let full = base.saturating_mul(factor).min(max);
    let unit = (RandomState::new().hash_one((seed, failures_before)) % 1000) as u32;
    let half = full / 2;
    half.saturating_add(half.saturating_mul(unit) / 1000)
}

/// A `Retry-After` header: delay-seconds or an HTTP date, as a delay from `now`.
pub(crate) fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.min(RETRY_AFTER_MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use chrono::TimeZone;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let (base, max) = (Duration::from_secs(5), Duration::from_secs(600));
        for (failures, full) in [(0, 5), (1, 10), (3, 40), (7, 600), (40, 600)] {
            let full = Duration::from_secs(full);
            for seed in 0..50 {
                let d = backoff(base, max, failures, seed);
                assert!(d >= full / 2 && d <= full, "{failures}: {d:?}");
            }
        }
        let spread: std::collections::HashSet<_> =
            (0..50).map(|s| backoff(base, max, 5, s)).collect();
        assert!(spread.len() > 10, "jitter varies: {spread:?}");
        // A silly cap saturates rather than overflowing.
        assert!(backoff(Duration::MAX, Duration::MAX, 3, 1) >= Duration::MAX / 2);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("999999", now), Some(RETRY_AFTER_MAX));
        assert_eq!(retry_after("soon", now), None);
    }
}
