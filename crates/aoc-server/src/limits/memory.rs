//! In-process limits: one GCRA limiter per category (governor), keyed by client.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use super::{Category, Decision, Quota, Quotas};

/// Every this many checks, forget clients whose budget is full again, so the key maps stay
/// as small as the set of recently active clients.
const CLEANUP_EVERY: u64 = 4096;

pub struct MemoryLimiter {
    fetch: DefaultKeyedRateLimiter<String>,
    ask: DefaultKeyedRateLimiter<String>,
    write: DefaultKeyedRateLimiter<String>,
    default: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

fn keyed(q: Quota) -> DefaultKeyedRateLimiter<String> {
    let burst = NonZeroU32::new(q.requests).unwrap_or(NonZeroU32::MIN);
    let quota = governor::Quota::with_period(q.interval())
        .unwrap_or_else(|| governor::Quota::per_second(burst))
        .allow_burst(burst);
    RateLimiter::keyed(quota)
}

impl MemoryLimiter {
    pub fn new(quotas: Quotas) -> Self {
        Self {
            fetch: keyed(quotas.fetch),
            ask: keyed(quotas.ask),
            write: keyed(quotas.write),
            default: keyed(quotas.default),
            checks: AtomicU64::new(0),
        }
    }

    pub fn check(&self, category: Category, key: &str) -> Decision {
        let limiter = match category {
            Category::Fetch => &self.fetch,
            Category::Ask => &self.ask,
            Category::Write => &self.write,
            Category::Default => &self.default,
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            for l in [&self.fetch, &self.ask, &self.write, &self.default] {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
        match limiter.check_key(&key.to_string()) {
            Ok(()) => Decision::Allow,
            Err(not_until) => Decision::Deny {
                retry_after: not_until.wait_time_from(limiter.clock().now()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_of_the_quota_then_refusal_per_key_and_category() {
        let quotas = Quotas {
            fetch: Quota {
                requests: 2,
                window: Duration::from_secs(3600),
            },
            ask: Quota {
                requests: 4,
                window: Duration::from_secs(60),
            },
            write: Quota {
                requests: 3,
                window: Duration::from_secs(60),
            },
            default: Quota {
                requests: 5,
                window: Duration::from_secs(60),
            },
        };
        let m = MemoryLimiter::new(quotas);
        for _ in 0..2 {
            assert_eq!(m.check(Category::Fetch, "a"), Decision::Allow);
        }
        match m.check(Category::Fetch, "a") {
            Decision::Deny { retry_after } => {
                assert!(
                    retry_after > Duration::from_secs(1700)
                        && retry_after <= Duration::from_secs(1800)
                )
            }
            Decision::Allow => panic!("third fetch allowed"),
        }
        // another client, another category: their own budgets
        assert_eq!(m.check(Category::Fetch, "b"), Decision::Allow);
        for _ in 0..5 {
            assert_eq!(m.check(Category::Default, "a"), Decision::Allow);
        }
        assert!(matches!(
            m.check(Category::Default, "a"),
            Decision::Deny { .. }
        ));
    }
}
