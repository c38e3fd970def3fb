//! Which records are planted detection positives and near misses (docs/DETECTIONS.md).
//!
//! Single records: time is cut into fixed windows per source, and in each window the first
//! occupied slot at or after a seed-chosen instant is planted. The window number picks the
//! catalogue entry and whether it is a positive or a near miss, rotating through every
//! combination, so a few days always cover the whole catalogue. Planting only changes what a
//! slot's record says, never whether or when it exists, so counts and paging are untouched.
//!
//! Threshold entries come from bursts (`crate::burst`), which add records of their own.

use serde::{Deserialize, Serialize};

use super::SimSource;
use super::unified::{self, Delivery};
use crate::rng::hash2;
use crate::time::{TICKS_PER_HOUR, TICKS_PER_SECOND, Ticks};
use crate::timeline::{Slot, Timeline};

/// Catalogue entries planted as single records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Graph `Add member to role` / PIM activation.
    RoleGraph,
    Consent,
    AppCredentials,
    ConditionalAccess,
    AuthMethods,
    /// Management `Add member to role.`
    RoleUnified,
    MailForwarding,
    MailboxPermission,
    AnonymousLink,
    AuditLogging,
    TransportRule,
    IntuneWipe,
}

impl Entry {
    pub(crate) fn rule_id(self) -> &'static str {
        match self {
            Entry::RoleGraph | Entry::RoleUnified => "privileged-role-assigned",
            Entry::Consent => "consent-to-application",
            Entry::AppCredentials => "app-credentials-added",
            Entry::ConditionalAccess => "conditional-access-weakened",
            Entry::AuthMethods => "auth-methods-reset",
            Entry::MailForwarding => "mail-forwarding-external",
            Entry::MailboxPermission => "mailbox-permission-granted",
            Entry::AnonymousLink => "anonymous-link-created",
            Entry::AuditLogging => "audit-logging-disabled",
            Entry::TransportRule => "transport-rule-created",
            Entry::IntuneWipe => "intune-wipe-retire",
        }
    }
}

/// A planted single record: which entry, positive or near miss, and a seed for the variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plant {
    pub entry: Entry,
    pub positive: bool,
    pub variant: u64,
}

/// Whether a planted record must fire its rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    Positive,
    Negative,
}

/// One planted record, as `GET /_sim/detections` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantedDetection {
    /// Rule id from docs/DETECTIONS.md, e.g. `privileged-role-assigned`.
    pub rule_id: String,
    pub expected: Expected,
    pub source: SimSource,
    /// The record's id as the API serves it (`id` for Graph, `Id` for Management).
    pub record_id: String,
    pub time: chrono::DateTime<chrono::Utc>,
    /// Threshold entries: the acting user's UPN, shared by every record of the burst.
    pub group: Option<String>,
}

const DIRECTORY: &[Entry] = &[
    Entry::RoleGraph,
    Entry::Consent,
    Entry::AppCredentials,
    Entry::ConditionalAccess,
    Entry::AuthMethods,
];
const UNIFIED: &[Entry] = &[
    Entry::RoleUnified,
    Entry::MailForwarding,
    Entry::MailboxPermission,
    Entry::AnonymousLink,
    Entry::AuditLogging,
    Entry::TransportRule,
];
const INTUNE: &[Entry] = &[Entry::IntuneWipe];

/// Where single records are planted for one source.
#[derive(Clone, Debug)]
pub(crate) struct Schedule {
    source: SimSource,
    salt: u64,
    window: Ticks,
    entries: &'static [Entry],
}

impl Schedule {
    /// Window lengths give the demo tenant (about 2,500 records a day) about eight planted
    /// records a day, one in three hundred, and a full rotation in three days at most.
    pub(crate) fn new(seed: u64, source: SimSource) -> Schedule {
        let (window, entries) = match source {
            SimSource::Directory => (8 * TICKS_PER_HOUR, DIRECTORY),
            SimSource::Intune => (24 * TICKS_PER_HOUR, INTUNE),
            SimSource::Unified => (6 * TICKS_PER_HOUR, UNIFIED),
        };
        Schedule {
            source,
            salt: hash2(seed, 0x9_1a47 ^ source.salt()),
            window,
            entries,
        }
    }

    pub(crate) fn window_of(&self, t: Ticks) -> i64 {
        t.div_euclid(self.window)
    }

    /// Windows overlapping `[from, to]`.
    pub(crate) fn windows(&self, from: Ticks, to: Ticks) -> std::ops::RangeInclusive<i64> {
        self.window_of(from)..=self.window_of(to)
    }

    /// Whether the record in `slot` can carry `plant`. A Management record's kind decides its
    /// content type and blob before anything is planted, so the plant must fit it; and it must
    /// reach clients on time, in its own bucket's blob, once.
    fn fits(&self, slot: &Slot, plant: &Plant) -> bool {
        if self.source != SimSource::Unified {
            return true;
        }
        let meta = unified::meta(slot);
        meta.kind == unified::kind_for(plant.entry) && meta.delivery == Delivery::Normal
    }

    /// The slot planted in window `w`: the first fitting occupied slot from a seed-chosen
    /// instant in the window's first three quarters, if one exists before the window ends.
    pub(crate) fn planted_slot(&self, timeline: &Timeline, w: i64) -> Option<Slot> {
        let plant = self.plant(w);
        let (start, end, target) = self.bounds(w);
        let mut k = timeline.slot_of(target);
        while timeline.slot_of(end) >= k {
            if let Some(s) = timeline.base(k) {
                if s.time >= end {
                    return None;
                }
                if s.time >= start && self.fits(&s, &plant) {
                    return Some(s);
                }
            }
            k += 1;
        }
        None
    }

    /// Window `w`'s start, end and the instant its search for a slot to plant starts at.
    fn bounds(&self, w: i64) -> (Ticks, Ticks, Ticks) {
        let start = w.saturating_mul(self.window);
        let end = start.saturating_add(self.window);
        let target = start + (hash2(self.salt, w as u64) % (self.window as u64 * 3 / 4)) as Ticks;
        (start, end, target)
    }

    /// What window `w`'s planted record is.
    pub(crate) fn plant(&self, w: i64) -> Plant {
        let combos = self.entries.len() as u64 * 2;
        let offset = self.salt % combos;
        let c = (w as u64).wrapping_add(offset) % combos;
        Plant {
            entry: self.entries[(c / 2) as usize],
            positive: c.is_multiple_of(2),
            variant: hash2(self.salt ^ 0x7a71, w as u64),
        }
    }

    /// The plant of `slot`, if it is its window's planted slot.
    pub(crate) fn plant_of(&self, timeline: &Timeline, slot: &Slot) -> Option<Plant> {
        if slot.burst.is_some() {
            return None;
        }
        let w = self.window_of(slot.time);
        // Most slots lie before the search start and cannot be planted: skip the search.
        // The search starts at the slot holding `target`; a record can sit up to a second
        // before its slot when truncated to whole seconds.
        let (_, _, target) = self.bounds(w);
        let earliest = timeline.slot_of(target).saturating_mul(timeline.slot_len());
        if slot.time < earliest - TICKS_PER_SECOND {
            return None;
        }
        let p = self.planted_slot(timeline, w)?;
        (p.hash == slot.hash && p.time == slot.time).then(|| self.plant(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_covers_every_entry_both_ways() {
        let s = Schedule::new(5, SimSource::Unified);
        let plants: Vec<_> = (100..112).map(|w| s.plant(w)).collect();
        for e in UNIFIED {
            for positive in [true, false] {
                assert!(
                    plants
                        .iter()
                        .any(|p| p.entry == *e && p.positive == positive)
                );
            }
        }
    }

    #[test]
    fn planted_slot_is_found_from_itself() {
        let t = Timeline::new(1, 2, 400, false);
        let s = Schedule::new(1, SimSource::Directory);
        let mut found = 0;
        for w in 60_000..60_030 {
            if let Some(slot) = s.planted_slot(&t, w) {
                assert_eq!(s.window_of(slot.time), w);
                assert_eq!(s.plant_of(&t, &slot), Some(s.plant(w)));
                found += 1;
            }
        }
        assert!(found >= 28, "{found}");
    }

    #[test]
    fn exactly_the_planted_slots_are_planted() {
        // Slots shorter than a second, where truncation moves records across many slots.
        for (source, rate, whole) in [
            (SimSource::Unified, 300_000, true),
            (SimSource::Unified, 900, true),
            (SimSource::Directory, 400, false),
        ] {
            let t = Timeline::new(4, 8, rate, whole);
            let s = Schedule::new(4, source);
            let from = 20_300 * crate::time::TICKS_PER_DAY;
            let to = from + 2 * s.window - 1;
            let planted: Vec<_> = t
                .asc(from, to)
                .filter(|x| s.plant_of(&t, x).is_some())
                .collect();
            let expected: Vec<_> = s
                .windows(from, to)
                .filter_map(|w| s.planted_slot(&t, w))
                .collect();
            assert_eq!(planted.len(), expected.len(), "{source} {rate}");
            for (a, b) in planted.iter().zip(&expected) {
                assert_eq!((a.time, a.hash), (b.time, b.hash));
            }
            assert!(!planted.is_empty());
        }
    }
}
