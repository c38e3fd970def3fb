//! When records happen.
//!
//! Time is cut into fixed slots per source. Slot `k` holds at most one record, and whether it
//! holds one, and at which instant inside the slot, is a hash of `(seed, source, k)`. So the set
//! of records in any window is fixed by the seed alone: asking today or tomorrow, forwards or
//! backwards, page by page or all at once gives the same answer, and new records "arrive" simply
//! because the clock moves past their slots.
//!
//! A daily and weekly rhythm (busy office hours, quiet nights and weekends) decides how likely a
//! slot is to be occupied; slot length is scaled so the long-run mean matches `events_per_day`.

use crate::rng::{hash2, mix64};
use crate::time::{TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_SECOND, Ticks};

/// One record's place on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub index: i64,
    pub time: Ticks,
    /// Seed for everything else about the record.
    pub hash: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    salt: u64,
    slot: Ticks,
    whole_seconds: bool,
}

/// Occupancy in permille by UTC hour on a weekday.
const WEEKDAY: [u64; 24] = [
    150, 120, 120, 120, 150, 250, 450, 700, 950, 1000, 1000, 1000, 900, 950, 1000, 1000, 950, 800,
    600, 450, 350, 300, 250, 200,
];
const WEEKEND_FACTOR_PERMILLE: u64 = 300;

fn occupancy(slot_start: Ticks) -> u64 {
    let day = slot_start.div_euclid(TICKS_PER_DAY);
    let hour = (slot_start.rem_euclid(TICKS_PER_DAY) / TICKS_PER_HOUR) as usize;
    let base = WEEKDAY.get(hour).copied().unwrap_or(500);
    // 1970-01-01 was a Thursday: (day + 3) % 7 gives 0 = Monday .. 6 = Sunday.
    if (day + 3).rem_euclid(7) >= 5 {
        base * WEEKEND_FACTOR_PERMILLE / 1000
    } else {
        base
    }
}

fn mean_occupancy_permille() -> f64 {
    let week: u64 = (0..7)
        .flat_map(|d| (0..24).map(move |h| (d, h)))
        .map(|(d, h)| {
            let base = WEEKDAY[h];
            if d >= 5 {
                base * WEEKEND_FACTOR_PERMILLE / 1000
            } else {
                base
            }
        })
        .sum();
    week as f64 / 168.0
}

impl Timeline {
    /// `whole_seconds`: the Management Activity API's `CreationTime` has no fraction, so its
    /// records live on whole seconds.
    pub(crate) fn new(
        seed: u64,
        source_salt: u64,
        events_per_day: u32,
        whole_seconds: bool,
    ) -> Self {
        let per_day = f64::from(events_per_day.max(1));
        let slot = (TICKS_PER_DAY as f64 * mean_occupancy_permille() / 1000.0 / per_day) as Ticks;
        Timeline {
            salt: hash2(seed, source_salt),
            slot: slot.max(1),
            whole_seconds,
        }
    }

    pub(crate) fn slot_of(&self, t: Ticks) -> i64 {
        t.div_euclid(self.slot)
    }

    /// The record in slot `index`, if the slot is occupied.
    pub(crate) fn at(&self, index: i64) -> Option<Slot> {
        let start = index.saturating_mul(self.slot);
        let h = hash2(self.salt, index as u64);
        if h % 1000 >= occupancy(start) {
            return None;
        }
        let offset = (mix64(h ^ 0x5bd1_e995) % self.slot as u64) as Ticks;
        let mut time = start + offset;
        if self.whole_seconds {
            time -= time.rem_euclid(TICKS_PER_SECOND);
        }
        Some(Slot {
            index,
            time,
            hash: h,
        })
    }

    /// Records with `from <= time <= to`, newest first, starting below slot `before` if given.
    pub(crate) fn desc(
        &self,
        from: Ticks,
        to: Ticks,
        before: Option<i64>,
    ) -> impl Iterator<Item = Slot> + '_ {
        // Truncation to whole seconds can move a record into the previous slot's span, so scan
        // one slot beyond each end and filter on the exact time.
        let mut top = self.slot_of(to).saturating_add(1);
        if let Some(b) = before {
            top = top.min(b.saturating_sub(1));
        }
        let bottom = self.slot_of(from).saturating_sub(1);
        let range = if from > to {
            0..0
        } else {
            bottom..top.saturating_add(1)
        };
        range
            .rev()
            .filter_map(move |i| self.at(i))
            .filter(move |s| s.time >= from && s.time <= to)
    }

    /// Records with `from <= time <= to`, oldest first.
    pub(crate) fn asc(&self, from: Ticks, to: Ticks) -> impl Iterator<Item = Slot> + '_ {
        let top = self.slot_of(to).saturating_add(1);
        let bottom = self.slot_of(from).saturating_sub(1);
        let range = if from > to {
            0..0
        } else {
            bottom..top.saturating_add(1)
        };
        range
            .filter_map(move |i| self.at(i))
            .filter(move |s| s.time >= from && s.time <= to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_rate_is_close_to_requested() {
        let t = Timeline::new(9, 1, 1000, false);
        let weeks = 4;
        let n = t.asc(0, weeks * 7 * TICKS_PER_DAY - 1).count() as f64;
        let per_day = n / (weeks * 7) as f64;
        assert!((900.0..1100.0).contains(&per_day), "{per_day}");
    }

    #[test]
    fn windows_agree_in_both_directions() {
        let t = Timeline::new(1, 2, 500, true);
        let from = 1_000 * TICKS_PER_DAY + 12_345;
        let to = from + 2 * TICKS_PER_DAY;
        let up: Vec<_> = t.asc(from, to).collect();
        let mut down: Vec<_> = t.desc(from, to, None).collect();
        down.reverse();
        assert_eq!(up, down);
        assert!(up.windows(2).all(|w| w[0].time <= w[1].time));
        assert!(up.iter().all(|s| s.time % TICKS_PER_SECOND == 0));
    }

    #[test]
    fn paging_by_slot_continues_exactly() {
        let t = Timeline::new(3, 4, 800, false);
        let (from, to) = (0, TICKS_PER_DAY);
        let all: Vec<_> = t.desc(from, to, None).collect();
        let first: Vec<_> = t.desc(from, to, None).take(10).collect();
        let rest: Vec<_> = t.desc(from, to, first.last().map(|s| s.index)).collect();
        assert_eq!(first.len() + rest.len(), all.len());
        assert_eq!(rest.first(), all.get(10));
    }
}
