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
//!
//! With a burst plan (the unified source when detections are planted) a slot also holds the
//! burst members whose time falls in its span. Record indices then become `k * SUB + position`,
//! position counting the slot's records in time order, so every consumer that pages by index
//! or scans by time sees the bursts exactly as it sees ordinary records.

use crate::burst::{BurstMember, BurstPlan};
use crate::rng::{hash2, mix64};
use crate::time::{TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_SECOND, Ticks};

/// One record's place on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub index: i64,
    pub time: Ticks,
    /// Seed for everything else about the record.
    pub hash: u64,
    /// Set when the record belongs to a burst rather than to the slot's own draw.
    pub burst: Option<BurstMember>,
}

/// Positions per slot when bursts are on: the slot's own record and burst members share one
/// slot's span, in time order, as indices `k * SUB ..`. Far more than a burst can put in one
/// slot at any sensible rate; anything beyond is dropped, consistently everywhere.
const SUB: i64 = 256;

#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    salt: u64,
    slot: Ticks,
    whole_seconds: bool,
    bursts: Option<BurstPlan>,
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
            bursts: None,
        }
    }

    /// The same timeline with the bursts of `plan` woven in.
    pub(crate) fn with_bursts(mut self, plan: BurstPlan) -> Self {
        self.bursts = Some(plan);
        self
    }

    pub(crate) fn bursts(&self) -> Option<&BurstPlan> {
        self.bursts.as_ref()
    }

    fn sub(&self) -> i64 {
        if self.bursts.is_some() { SUB } else { 1 }
    }

    pub(crate) fn slot_len(&self) -> Ticks {
        self.slot
    }

    /// The slot (in slot units, not record indices) that instant `t` falls in.
    pub(crate) fn slot_of(&self, t: Ticks) -> i64 {
        t.div_euclid(self.slot)
    }

    /// Slot `k`'s own record, if the slot is occupied; `index` is its position when there are
    /// no bursts.
    pub(crate) fn base(&self, k: i64) -> Option<Slot> {
        let start = k.saturating_mul(self.slot);
        let h = hash2(self.salt, k as u64);
        if h % 1000 >= occupancy(start) {
            return None;
        }
        let offset = (mix64(h ^ 0x5bd1_e995) % self.slot as u64) as Ticks;
        let mut time = start + offset;
        if self.whole_seconds {
            time -= time.rem_euclid(TICKS_PER_SECOND);
        }
        Some(Slot {
            index: k.saturating_mul(self.sub()),
            time,
            hash: h,
            burst: None,
        })
    }

    /// Every record slot `k` holds, oldest first.
    fn expand(&self, k: i64) -> SlotRecords {
        let base = self.base(k);
        let Some(plan) = &self.bursts else {
            return SlotRecords::One(base);
        };
        let lo = k.saturating_mul(self.slot);
        let hi = lo.saturating_add(self.slot);
        if !plan.touches(lo, hi) {
            return SlotRecords::One(base);
        }
        let mut all: Vec<Slot> = base.into_iter().collect();
        all.extend(plan.members_in(lo, hi).into_iter().map(|(time, m)| Slot {
            index: 0,
            time,
            hash: hash2(
                m.burst.hash,
                (m.burst.kind.ordinal() << 32) | u64::from(m.member),
            ),
            burst: Some(m),
        }));
        all.sort_by_key(|s| (s.time, s.burst.map(|m| (m.burst.kind.ordinal(), m.member))));
        all.truncate(SUB as usize);
        let first = k.saturating_mul(SUB);
        for (i, s) in all.iter_mut().enumerate() {
            s.index = first.saturating_add(i as i64);
        }
        SlotRecords::Many(all.into_iter())
    }

    /// The record at `index`, if there is one.
    pub(crate) fn at(&self, index: i64) -> Option<Slot> {
        let sub = self.sub();
        let pos = index.rem_euclid(sub) as usize;
        self.expand(index.div_euclid(sub)).nth(pos)
    }

    /// Records with `from <= time <= to`, newest first, starting below record `before` if given.
    pub(crate) fn desc(
        &self,
        from: Ticks,
        to: Ticks,
        before: Option<i64>,
    ) -> impl Iterator<Item = Slot> + 'static {
        let t = self.clone();
        // Truncation to whole seconds can move a record into the previous slot's span, so scan
        // one slot beyond each end and filter on the exact time.
        let mut top = self.slot_of(to).saturating_add(1);
        if let Some(b) = before {
            top = top.min(b.div_euclid(self.sub()));
        }
        let bottom = self.slot_of(from).saturating_sub(1);
        let range = if from > to {
            0..0
        } else {
            bottom..top.saturating_add(1)
        };
        range
            .rev()
            .flat_map(move |k| t.expand(k).rev())
            .filter(move |s| before.is_none_or(|b| s.index < b))
            .filter(move |s| s.time >= from && s.time <= to)
    }

    /// Records with `from <= time <= to`, oldest first.
    pub(crate) fn asc(&self, from: Ticks, to: Ticks) -> impl Iterator<Item = Slot> + 'static {
        let t = self.clone();
        let top = self.slot_of(to).saturating_add(1);
        let bottom = self.slot_of(from).saturating_sub(1);
        let range = if from > to {
            0..0
        } else {
            bottom..top.saturating_add(1)
        };
        range
            .flat_map(move |k| t.expand(k))
            .filter(move |s| s.time >= from && s.time <= to)
    }
}

/// The records of one slot: almost always just its own, without allocating.
enum SlotRecords {
    One(Option<Slot>),
    Many(std::vec::IntoIter<Slot>),
}

impl Iterator for SlotRecords {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        match self {
            SlotRecords::One(s) => s.take(),
            SlotRecords::Many(it) => it.next(),
        }
    }
}

impl DoubleEndedIterator for SlotRecords {
    fn next_back(&mut self) -> Option<Slot> {
        match self {
            SlotRecords::One(s) => s.take(),
            SlotRecords::Many(it) => it.next_back(),
        }
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
    fn bursts_join_the_timeline_in_order_and_page_exactly() {
        let plain = Timeline::new(5, 6, 300, true);
        let t = plain.clone().with_bursts(BurstPlan::new(5, true));
        let from = 20_000 * TICKS_PER_DAY;
        let to = from + 2 * TICKS_PER_DAY;
        let up: Vec<_> = t.asc(from, to).collect();
        let burst_members = up.iter().filter(|s| s.burst.is_some()).count();
        assert!(burst_members >= 100, "{burst_members}");
        assert_eq!(up.len() - burst_members, plain.asc(from, to).count());
        assert!(up.windows(2).all(|w| w[0].time <= w[1].time));
        assert!(up.windows(2).all(|w| w[0].index < w[1].index));
        assert!(up.iter().all(|s| t.at(s.index) == Some(*s)));
        let mut down: Vec<_> = t.desc(from, to, None).collect();
        down.reverse();
        assert_eq!(up, down);
        // Page newest first in small pages, resuming below the last index each time.
        let mut paged = Vec::new();
        let mut before = None;
        loop {
            let page: Vec<_> = t.desc(from, to, before).take(7).collect();
            let Some(last) = page.last() else { break };
            before = Some(last.index);
            paged.extend(page);
        }
        paged.reverse();
        assert_eq!(paged, up);
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
