//! When to try a request again and how long to wait first. Pure: time and randomness come in as
//! arguments, so every rule is unit-tested.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// Bounded retries with Retry-After and jittered exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff of the first retry; doubled for each later one.
    pub base_delay: Duration,
    /// No single wait is longer, whatever Retry-After asks.
    pub max_delay: Duration,
}

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// An HTTP answer with a failure status.
    Status {
        status: u16,
        /// The raw `Retry-After` header, if any.
        retry_after: Option<&'a str>,
        /// Microsoft's error code from the body, if any (`AF429`, `TooManyRequests`, ...).
        error_code: Option<&'a str>,
    },
    /// No answer: connection refused or reset, or the request timed out.
    Transport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp,
}

/// 429 and 503 are throttling everywhere; the Management Activity API also throttles with 403 and
/// error code `AF429`.
pub fn is_throttling(status: u16, error_code: Option<&str>) -> bool {
    status == 429 || status == 503 || (status == 403 && error_code == Some("AF429"))
}

/// Worth another attempt: throttling, a gateway timeout or server failure. 501 (not
/// implemented) and 505 will not change on retry.
pub fn is_retryable(status: u16, error_code: Option<&str>) -> bool {
    is_throttling(status, error_code)
        || status == 408
        || ((500..=599).contains(&status) && status != 501 && status != 505)
}

impl RetryPolicy {
    /// `attempt` is the 1-based number of the attempt that just failed.
    pub fn decide(
        &self,
        attempt: u32,
        failure: Failure<'_>,
        now: DateTime<Utc>,
        rng: &mut impl Rng,
    ) -> Decision {
        if attempt >= self.max_attempts {
            return Decision::GiveUp;
        }
        match failure {
            Failure::Transport => Decision::RetryAfter(self.backoff(attempt, rng)),
            Failure::Status {
                status,
                retry_after,
                error_code,
            } => {
                if !is_retryable(status, error_code) {
                    return Decision::GiveUp;
                }
                let asked = if is_throttling(status, error_code) {
                    retry_after.and_then(|v| parse_retry_after(v, now))
                } else {
                    None
                };
                let wait = asked.unwrap_or_else(|| self.backoff(attempt, rng));
                Decision::RetryAfter(wait.min(self.max_delay))
            }
        }
    }

    /// Exponential backoff with "equal jitter": a uniform wait in `[d/2, d]` where
    /// `d = min(base * 2^(attempt-1), max_delay)`, so clients that failed together spread out
    /// while each still waits a meaningful time.
    pub fn backoff(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        let full = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let full_ms = u64::try_from(full.as_millis()).unwrap_or(u64::MAX);
        if full_ms == 0 {
            return Duration::ZERO;
        }
        let low = full_ms / 2;
        Duration::from_millis(rng.random_range(low..=full_ms))
    }
}

/// `Retry-After` is either delay-seconds or an HTTP-date. A date in the past means "now".
/// Anything else is ignored (`None`), and the caller falls back to backoff.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    // Some services send fractional seconds; accept them rather than fall back to guessing.
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::try_from_secs_f64(secs).ok())
            .flatten();
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 8, 49, 30).unwrap()
    }

    fn status(
        status: u16,
        retry_after: Option<&'static str>,
        error_code: Option<&'static str>,
    ) -> Failure<'static> {
        Failure::Status {
            status,
            retry_after,
            error_code,
        }
    }

    #[test]
    fn retry_after_seconds_is_honoured_on_429_and_503() {
        let mut rng = StdRng::seed_from_u64(1);
        for code in [429, 503] {
            assert_eq!(
                policy().decide(1, status(code, Some("7"), None), now(), &mut rng),
                Decision::RetryAfter(Duration::from_secs(7))
            );
        }
    }

    #[test]
    fn retry_after_http_date_is_honoured() {
        let mut rng = StdRng::seed_from_u64(1);
        let d = policy().decide(
            1,
            status(429, Some("Mon, 02 Nov 2026 08:49:42 GMT"), None),
            now(),
            &mut rng,
        );
        assert_eq!(d, Decision::RetryAfter(Duration::from_secs(12)));
        assert_eq!(
            parse_retry_after("Mon, 02 Nov 2026 08:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("", now()), None);
        assert_eq!(parse_retry_after("-3", now()), None);
        assert_eq!(
            parse_retry_after("1.5", now()),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn retry_after_is_capped() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            policy().decide(1, status(429, Some("86400"), None), now(), &mut rng),
            Decision::RetryAfter(Duration::from_secs(60))
        );
    }

    #[test]
    fn af429_forbidden_is_throttling() {
        let mut rng = StdRng::seed_from_u64(1);
        assert!(is_throttling(403, Some("AF429")));
        assert!(matches!(
            policy().decide(1, status(403, None, Some("AF429")), now(), &mut rng),
            Decision::RetryAfter(_)
        ));
        // Any other 403 is a real refusal.
        assert_eq!(
            policy().decide(1, status(403, None, Some("AF10001")), now(), &mut rng),
            Decision::GiveUp
        );
        assert_eq!(
            policy().decide(1, status(403, Some("5"), None), now(), &mut rng),
            Decision::GiveUp
        );
    }

    #[test]
    fn client_errors_are_not_retried() {
        let mut rng = StdRng::seed_from_u64(1);
        for code in [400, 401, 404, 409, 501] {
            assert_eq!(
                policy().decide(1, status(code, Some("1"), None), now(), &mut rng),
                Decision::GiveUp,
                "{code}"
            );
        }
    }

    #[test]
    fn server_errors_and_timeouts_back_off_ignoring_retry_after() {
        let mut rng = StdRng::seed_from_u64(1);
        for failure in [
            status(500, Some("30"), None),
            status(504, None, None),
            Failure::Transport,
        ] {
            match policy().decide(1, failure, now(), &mut rng) {
                Decision::RetryAfter(d) => {
                    assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(1))
                }
                Decision::GiveUp => panic!("should retry {failure:?}"),
            }
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let mut rng = StdRng::seed_from_u64(1);
        let p = policy();
        assert!(matches!(
            p.decide(4, status(429, None, None), now(), &mut rng),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(5, status(429, None, None), now(), &mut rng),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide(5, Failure::Transport, now(), &mut rng),
            Decision::GiveUp
        );
        let once = RetryPolicy {
            max_attempts: 1,
            ..p
        };
        assert_eq!(
            once.decide(1, status(503, Some("1"), None), now(), &mut rng),
            Decision::GiveUp
        );
    }

    #[test]
    fn jitter_stays_within_half_to_full_of_the_exponential_step() {
        let p = policy();
        for seed in 0..200 {
            let mut rng = StdRng::seed_from_u64(seed);
            for attempt in 1..=10u32 {
                let full = (Duration::from_secs(1) * 2u32.pow(attempt - 1)).min(p.max_delay);
                let d = p.backoff(attempt, &mut rng);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d:?} vs {full:?}"
                );
            }
        }
        // Different seeds give different waits: the jitter is real.
        let waits: std::collections::HashSet<_> = (0..50)
            .map(|s| p.backoff(3, &mut StdRng::seed_from_u64(s)))
            .collect();
        assert!(waits.len() > 10);
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let mut rng = StdRng::seed_from_u64(9);
        let d = policy().backoff(u32::MAX, &mut rng);
        assert!(d <= Duration::from_secs(60));
    }
}
