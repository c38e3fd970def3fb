//! Bursts: many file operations by one person in a short time, for the threshold detections
//! (`mass-download`, `mass-delete`) and their near misses.
//!
//! A burst is a pure function of `(seed, day, kind)`: whether it happens that day, when it
//! starts, how many records it has and who acts. Its members are spread evenly over its span
//! with a little jitter, so the members falling inside any interval can be computed without
//! looking at the rest of the timeline. The timeline adds them to the slots whose span they fall
//! in (see `timeline.rs`), which keeps paging and counting exact over any window.

use crate::rng::{hash2, hash3};
use crate::time::{TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MINUTE, TICKS_PER_SECOND, Ticks};

/// What a burst is meant to test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum BurstKind {
    /// 50+ `FileDownloaded` within 8 minutes: fires `mass-download`.
    DownloadFlood,
    /// About 20 downloads within 10 minutes: below the threshold.
    DownloadTrickle,
    /// 60 downloads spread over 5 hours: many, but never 50 in 10 minutes.
    DownloadDayLong,
    /// 50+ `FileDeleted` / `FileRecycled` within 8 minutes: fires `mass-delete`.
    DeleteFlood,
    /// About 20 deletions within 10 minutes.
    DeleteTrickle,
}

impl BurstKind {
    pub(crate) const ALL: [BurstKind; 5] = [
        BurstKind::DownloadFlood,
        BurstKind::DownloadTrickle,
        BurstKind::DownloadDayLong,
        BurstKind::DeleteFlood,
        BurstKind::DeleteTrickle,
    ];

    pub(crate) fn ordinal(self) -> u64 {
        match self {
            BurstKind::DownloadFlood => 0,
            BurstKind::DownloadTrickle => 1,
            BurstKind::DownloadDayLong => 2,
            BurstKind::DeleteFlood => 3,
            BurstKind::DeleteTrickle => 4,
        }
    }

    pub(crate) fn rule_id(self) -> &'static str {
        match self {
            BurstKind::DownloadFlood | BurstKind::DownloadTrickle | BurstKind::DownloadDayLong => {
                "mass-download"
            }
            BurstKind::DeleteFlood | BurstKind::DeleteTrickle => "mass-delete",
        }
    }

    pub(crate) fn positive(self) -> bool {
        matches!(self, BurstKind::DownloadFlood | BurstKind::DeleteFlood)
    }

    pub(crate) fn deletes(self) -> bool {
        matches!(self, BurstKind::DeleteFlood | BurstKind::DeleteTrickle)
    }

    /// Span and record count. Floods stay well inside the 10-minute window even after whole-second
    /// truncation; trickles stay well below 50.
    fn shape(self, h: u64) -> (Ticks, u32) {
        match self {
            BurstKind::DownloadFlood | BurstKind::DeleteFlood => {
                (8 * TICKS_PER_MINUTE, 50 + (h % 16) as u32)
            }
            BurstKind::DownloadTrickle | BurstKind::DeleteTrickle => {
                (10 * TICKS_PER_MINUTE, 18 + (h % 5) as u32)
            }
            BurstKind::DownloadDayLong => (5 * TICKS_PER_HOUR, 60),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Burst {
    pub kind: BurstKind,
    pub day: i64,
    pub start: Ticks,
    pub span: Ticks,
    pub count: u32,
    /// Seed for the records' content.
    pub hash: u64,
    /// Picks the actor among the staff: see [`BurstPlan::of_day`].
    pub actor_turn: u64,
}

impl Burst {
    pub(crate) fn end(&self) -> Ticks {
        self.start + self.span
    }
}

/// One record of a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BurstMember {
    pub burst: Burst,
    pub member: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct BurstPlan {
    salt: u64,
    whole_seconds: bool,
}

impl BurstPlan {
    pub(crate) fn new(seed: u64, whole_seconds: bool) -> BurstPlan {
        BurstPlan {
            salt: hash2(seed, 0xb0_2575),
            whole_seconds,
        }
    }

    /// The bursts of one UTC day. Each kind happens every other day (which days depends on the
    /// seed), so any two consecutive days hold one burst of every kind. Kinds start in separate
    /// two-hour bands of the working day and pick different actors, so no two bursts of one
    /// rule add up to more than either alone. Actors move on by a fixed stride from one
    /// occurrence of a kind to the next, so one person's bursts of a kind are months apart and
    /// a burst is told apart by its actor alone.
    pub(crate) fn of_day(&self, day: i64) -> impl Iterator<Item = Burst> + '_ {
        let actors =
            hash2(self.salt, 0xac7).wrapping_add((day.div_euclid(2) as u64).wrapping_mul(11));
        BurstKind::ALL.into_iter().filter_map(move |kind| {
            let phase = hash2(self.salt, 0x0dd0 + kind.ordinal()) % 2;
            if !(day as u64).wrapping_add(phase).is_multiple_of(2) {
                return None;
            }
            let h = hash3(self.salt, day as u64, kind.ordinal());
            let (span, count) = kind.shape(h);
            let band = (7 + 2 * kind.ordinal() as i64) * TICKS_PER_HOUR;
            let jitter = ((h >> 20) % 90) as i64 * TICKS_PER_MINUTE;
            let mut start = day * TICKS_PER_DAY + band + jitter;
            start -= start.rem_euclid(TICKS_PER_SECOND);
            Some(Burst {
                kind,
                day,
                start,
                span,
                count,
                hash: h,
                actor_turn: actors.wrapping_add(kind.ordinal() * 7),
            })
        })
    }

    pub(crate) fn member_time(&self, b: &Burst, m: u32) -> Ticks {
        let step = (b.span / i64::from(b.count.max(1))).max(1);
        let jitter = (hash3(self.salt, b.start as u64, u64::from(m)) % step as u64) as Ticks;
        let mut t = b.start + step * i64::from(m) + jitter;
        if self.whole_seconds {
            t -= t.rem_euclid(TICKS_PER_SECOND);
        }
        t
    }

    /// Members with `lo <= time < hi`, with their times.
    pub(crate) fn members_in(&self, lo: Ticks, hi: Ticks) -> Vec<(Ticks, BurstMember)> {
        let mut out = Vec::new();
        if hi <= lo {
            return out;
        }
        let first_day = lo.div_euclid(TICKS_PER_DAY);
        let last_day = (hi - 1).div_euclid(TICKS_PER_DAY);
        // Slots longer than a few days only happen at absurdly low rates; bursts there are
        // not worth a long scan.
        let last_day = last_day.min(first_day + 3);
        for day in first_day..=last_day {
            for b in self.of_day(day) {
                if b.end() <= lo || b.start >= hi {
                    continue;
                }
                let step = (b.span / i64::from(b.count.max(1))).max(1);
                let from = ((lo - b.start) / step - 1).max(0);
                let to = ((hi - b.start) / step + 1).min(i64::from(b.count));
                for m in from..to {
                    let m = m as u32;
                    let t = self.member_time(&b, m);
                    if t >= lo && t < hi {
                        out.push((
                            t,
                            BurstMember {
                                burst: b,
                                member: m,
                            },
                        ));
                    }
                }
            }
        }
        out
    }

    /// Whether any burst touches `[lo, hi)`; cheap enough to ask for every slot.
    pub(crate) fn touches(&self, lo: Ticks, hi: Ticks) -> bool {
        let first_day = lo.div_euclid(TICKS_PER_DAY);
        let last_day = (hi - 1).div_euclid(TICKS_PER_DAY).min(first_day + 3);
        (first_day..=last_day).any(|day| {
            // Bursts lie between 07:00 and 22:00 of their day.
            let day_start = day * TICKS_PER_DAY;
            if hi <= day_start + 7 * TICKS_PER_HOUR || lo >= day_start + 22 * TICKS_PER_HOUR {
                return false;
            }
            self.of_day(day).any(|b| b.end() > lo && b.start < hi)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_within_two_days() {
        let plan = BurstPlan::new(7, true);
        for d in 20_000..20_010 {
            let kinds: Vec<_> = plan
                .of_day(d)
                .chain(plan.of_day(d + 1))
                .map(|b| b.kind)
                .collect();
            for k in BurstKind::ALL {
                assert_eq!(kinds.iter().filter(|x| **x == k).count(), 1, "{k:?}");
            }
        }
    }

    #[test]
    fn members_partition_exactly() {
        let plan = BurstPlan::new(3, true);
        let day = 20_100;
        let lo = day * TICKS_PER_DAY;
        let hi = lo + TICKS_PER_DAY;
        let all = plan.members_in(lo, hi);
        let total: u32 = plan.of_day(day).map(|b| b.count).sum();
        assert_eq!(all.len() as u32, total);
        let step = 37 * TICKS_PER_SECOND;
        let pieces: usize = (0..)
            .map(|i| lo + i * step)
            .take_while(|t| *t < hi)
            .map(|t| plan.members_in(t, (t + step).min(hi)).len())
            .sum();
        assert_eq!(pieces, all.len());
        for (t, m) in &all {
            assert!(*t >= m.burst.start && *t < m.burst.end());
            assert!(plan.touches(*t, *t + 1));
        }
    }
}
