//! The deterministic record generator.

mod common;
pub(crate) mod directory;
pub(crate) mod intune;
pub(crate) mod plant;
pub(crate) mod unified;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::burst::BurstPlan;
use crate::tenant::Tenant;
use crate::time::{Ticks, from_ticks, to_ticks};
use crate::timeline::{Slot, Timeline};
use plant::{Expected, Plant, PlantedDetection, Schedule};

/// Where a record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimSource {
    /// Entra ID `directoryAudit` (Graph `auditLogs/directoryAudits`).
    Directory,
    /// Intune `auditEvent` (Graph `deviceManagement/auditEvents`).
    Intune,
    /// Office 365 Management Activity API records (unified audit log).
    Unified,
}

impl SimSource {
    pub const ALL: [SimSource; 3] = [SimSource::Directory, SimSource::Intune, SimSource::Unified];

    pub fn as_str(self) -> &'static str {
        match self {
            SimSource::Directory => "directory",
            SimSource::Intune => "intune",
            SimSource::Unified => "unified",
        }
    }

    fn salt(self) -> u64 {
        match self {
            SimSource::Directory => 0xd1_7ec7,
            SimSource::Intune => 0x1a_7a5e,
            SimSource::Unified => 0xa0_d175,
        }
    }
}

impl fmt::Display for SimSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SimSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SimSource::ALL
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown source {s:?} (directory, intune, unified)"))
    }
}

/// Mean number of records per day for each source (quiet nights and weekends, busy office hours).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventRates {
    pub directory: u32,
    pub intune: u32,
    pub unified: u32,
}

impl Default for EventRates {
    fn default() -> Self {
        EventRates {
            directory: 400,
            intune: 120,
            unified: 2000,
        }
    }
}

impl EventRates {
    pub fn get(&self, source: SimSource) -> u32 {
        match source {
            SimSource::Directory => self.directory,
            SimSource::Intune => self.intune,
            SimSource::Unified => self.unified,
        }
    }
}

/// Tenant id used when none is given (the demo tenant).
pub const DEFAULT_TENANT_ID: &str = "00000000-0000-0000-0000-0000000000aa";

/// `take_mixed` starts here: 2026-01-01T00:00:00Z.
const MIXED_ANCHOR_SECS: i64 = 1_767_225_600;

struct Inner {
    seed: u64,
    tenant_id: String,
    tenant: Tenant,
    timelines: [Timeline; 3],
    /// `None` when detections are not planted.
    schedules: Option<[Schedule; 3]>,
}

/// Deterministic generator of raw Microsoft 365 audit records.
///
/// Record content and time are pure functions of `(seed, source, slot)`: the same seed always
/// yields the same records in any window, whenever and in whatever order it is asked. Cheap to
/// clone.
#[derive(Clone)]
pub struct Generator {
    inner: Arc<Inner>,
}

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("seed", &self.inner.seed)
            .field("tenant_id", &self.inner.tenant_id)
            .finish()
    }
}

impl Generator {
    /// Default rates and the demo tenant id.
    pub fn new(seed: u64) -> Generator {
        Generator::with_options(seed, EventRates::default(), DEFAULT_TENANT_ID)
    }

    /// Detection positives and near misses are planted (see [`Generator::detections_between`]).
    pub fn with_options(seed: u64, rates: EventRates, tenant_id: &str) -> Generator {
        Generator::with_planting(seed, rates, tenant_id, true)
    }

    /// `plant_detections: false` gives a tenant whose records fire no built-in detection and
    /// whose record counts are those of the timeline alone (no bursts).
    pub fn with_planting(
        seed: u64,
        rates: EventRates,
        tenant_id: &str,
        plant_detections: bool,
    ) -> Generator {
        let timeline =
            |s: SimSource| Timeline::new(seed, s.salt(), rates.get(s), s == SimSource::Unified);
        let mut unified = timeline(SimSource::Unified);
        if plant_detections {
            unified = unified.with_bursts(BurstPlan::new(seed, true));
        }
        let schedules = plant_detections.then(|| SimSource::ALL.map(|s| Schedule::new(seed, s)));
        Generator {
            inner: Arc::new(Inner {
                seed,
                tenant_id: tenant_id.to_string(),
                tenant: Tenant::new(seed),
                timelines: [
                    timeline(SimSource::Directory),
                    timeline(SimSource::Intune),
                    unified,
                ],
                schedules,
            }),
        }
    }

    /// Whether detection positives and near misses are planted.
    pub fn plants_detections(&self) -> bool {
        self.inner.schedules.is_some()
    }

    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    pub fn tenant_id(&self) -> &str {
        &self.inner.tenant_id
    }

    /// `n` records from all three sources interleaved in time order, starting at
    /// 2026-01-01T00:00:00Z. Cheap per record; meant for benchmarks and bulk fixtures.
    pub fn take_mixed(&self, n: usize) -> impl Iterator<Item = (SimSource, Value)> + 'static {
        let generator = self.clone();
        let anchor = MIXED_ANCHOR_SECS * crate::time::TICKS_PER_SECOND;
        let mut next: [Option<Slot>; 3] = [None, None, None];
        // Open-ended scans; occupancy never drops to zero for a whole day, so each step ends
        // quickly.
        let mut streams: Vec<Box<dyn Iterator<Item = Slot> + Send>> = generator
            .inner
            .timelines
            .iter()
            .map(|t| Box::new(t.asc(anchor, i64::MAX / 4)) as Box<dyn Iterator<Item = Slot> + Send>)
            .collect();
        std::iter::from_fn(move || {
            for (slot, stream) in next.iter_mut().zip(streams.iter_mut()) {
                if slot.is_none() {
                    *slot = stream.next();
                }
            }
            let (i, slot) = next
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.map(|s| (i, s)))
                .min_by_key(|(_, s)| s.time)?;
            next[i] = None;
            let source = SimSource::ALL[i];
            Some((source, generator.build(source, &slot)))
        })
        .take(n)
    }

    /// Records of one source with `from <= time <= to`, oldest first.
    pub fn records_between(
        &self,
        source: SimSource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = Value> + 'static {
        let generator = self.clone();
        let slots: Vec<Slot> = self
            .timeline(source)
            .asc(to_ticks(from), to_ticks(to))
            .collect();
        slots.into_iter().map(move |s| generator.build(source, &s))
    }

    /// Number of records of one source with `from <= time <= to`.
    pub fn count_between(
        &self,
        source: SimSource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> usize {
        self.timeline(source)
            .asc(to_ticks(from), to_ticks(to))
            .count()
    }

    pub(crate) fn timeline(&self, source: SimSource) -> &Timeline {
        match source {
            SimSource::Directory => &self.inner.timelines[0],
            SimSource::Intune => &self.inner.timelines[1],
            SimSource::Unified => &self.inner.timelines[2],
        }
    }

    pub(crate) fn tenant(&self) -> &Tenant {
        &self.inner.tenant
    }

    pub(crate) fn build(&self, source: SimSource, slot: &Slot) -> Value {
        let plant = self.plant_of(source, slot);
        let plant = plant.as_ref();
        match source {
            SimSource::Directory => directory::record(&self.inner.tenant, slot, plant),
            SimSource::Intune => intune::record(&self.inner.tenant, slot, plant),
            SimSource::Unified => {
                unified::record(&self.inner.tenant, &self.inner.tenant_id, slot, plant)
            }
        }
    }

    fn schedule(&self, source: SimSource) -> Option<&Schedule> {
        let i = SimSource::ALL.iter().position(|s| *s == source)?;
        self.inner.schedules.as_ref()?.get(i)
    }

    fn plant_of(&self, source: SimSource, slot: &Slot) -> Option<Plant> {
        self.schedule(source)?.plant_of(self.timeline(source), slot)
    }

    /// Every planted detection positive and near miss with `from <= time <= to`, oldest first
    /// (ties by source and record id). Empty when planting is off.
    ///
    /// Single records: one per window per source, rotating through the catalogue entries of
    /// docs/DETECTIONS.md that the source can carry. Threshold entries (`mass-download`,
    /// `mass-delete`): every record of each burst, with the actor's UPN as `group`.
    pub fn detections_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<PlantedDetection> {
        self.planted_between(to_ticks(from), to_ticks(to))
            .into_iter()
            .map(|(d, _)| d)
            .collect()
    }

    /// [`Generator::detections_between`] with the slot behind each record.
    pub(crate) fn planted_between(&self, lo: Ticks, hi: Ticks) -> Vec<(PlantedDetection, Slot)> {
        let mut out = Vec::new();
        if lo > hi {
            return out;
        }
        for source in SimSource::ALL {
            let Some(schedule) = self.schedule(source) else {
                continue;
            };
            let timeline = self.timeline(source);
            for w in schedule.windows(lo, hi) {
                let Some(slot) = schedule.planted_slot(timeline, w) else {
                    continue;
                };
                if slot.time < lo || slot.time > hi {
                    continue;
                }
                let plant = schedule.plant(w);
                let record = self.build(source, &slot);
                out.push((
                    PlantedDetection {
                        rule_id: plant.entry.rule_id().to_string(),
                        expected: if plant.positive {
                            Expected::Positive
                        } else {
                            Expected::Negative
                        },
                        source,
                        record_id: record_id(source, &record).unwrap_or_default(),
                        time: from_ticks(slot.time),
                        group: None,
                    },
                    slot,
                ));
            }
        }
        out.extend(self.burst_records(lo, hi));
        out.sort_by(|(a, _), (b, _)| {
            (a.time, a.source, &a.record_id).cmp(&(b.time, b.source, &b.record_id))
        });
        out
    }

    /// Burst records in `[lo, hi]`, read off the timeline itself so they are exactly the records
    /// the Management API serves.
    fn burst_records(&self, lo: Ticks, hi: Ticks) -> Vec<(PlantedDetection, Slot)> {
        let timeline = self.timeline(SimSource::Unified);
        let Some(plan) = timeline.bursts() else {
            return Vec::new();
        };
        let first_day = lo.div_euclid(crate::time::TICKS_PER_DAY);
        let last_day = hi.div_euclid(crate::time::TICKS_PER_DAY);
        let mut out = Vec::new();
        for day in first_day..=last_day {
            for burst in plan.of_day(day) {
                let (a, b) = (burst.start.max(lo), (burst.end() - 1).min(hi));
                if a > b {
                    continue;
                }
                let group = unified::burst_actor(&self.inner.tenant, &burst).map(|u| u.upn.clone());
                for slot in timeline
                    .asc(a, b)
                    .filter(|s| s.burst.is_some_and(|m| m.burst == burst))
                {
                    let record = self.build(SimSource::Unified, &slot);
                    out.push((
                        PlantedDetection {
                            rule_id: burst.kind.rule_id().to_string(),
                            expected: if burst.kind.positive() {
                                Expected::Positive
                            } else {
                                Expected::Negative
                            },
                            source: SimSource::Unified,
                            record_id: record_id(SimSource::Unified, &record).unwrap_or_default(),
                            time: from_ticks(slot.time),
                            group: group.clone(),
                        },
                        slot,
                    ));
                }
            }
        }
        out
    }

    /// Newest-first slots in `[from, to]`, continuing below `before`.
    pub(crate) fn slots_desc(
        &self,
        source: SimSource,
        from: Ticks,
        to: Ticks,
        before: Option<i64>,
    ) -> impl Iterator<Item = Slot> + '_ {
        self.timeline(source).desc(from, to, before)
    }

    /// Oldest-first slots in `[from, to]`, continuing above `after` if given.
    pub(crate) fn slots_asc(
        &self,
        source: SimSource,
        from: Ticks,
        to: Ticks,
        after: Option<i64>,
    ) -> impl Iterator<Item = Slot> + '_ {
        let timeline = self.timeline(source);
        // `after` is the last record of the previous page, so its slot is occupied and its time
        // known: starting the scan there keeps every page as cheap as the first.
        let from = after
            .and_then(|a| timeline.at(a))
            .map_or(from, |last| last.time.max(from));
        timeline
            .asc(from, to)
            .filter(move |s| after.is_none_or(|a| s.index > a))
    }
}

/// The id a client keys a record on: `id` for Graph records, `Id` for Management records.
pub fn record_id(source: SimSource, record: &Value) -> Option<String> {
    match source {
        SimSource::Directory => directory::record_id(record),
        SimSource::Intune => intune::record_id(record),
        SimSource::Unified => unified::record_id(record),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_is_deterministic_and_time_ordered() {
        let a: Vec<_> = Generator::new(11).take_mixed(500).collect();
        let b: Vec<_> = Generator::new(11).take_mixed(500).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 500);
        for s in SimSource::ALL {
            assert!(a.iter().any(|(src, _)| *src == s), "{s} missing");
        }
        let c: Vec<_> = Generator::new(12).take_mixed(50).collect();
        assert_ne!(a[..50], c[..]);
    }

    #[test]
    fn ascending_pages_continue_exactly() {
        let g = Generator::new(4);
        let (from, to) = (
            1_000 * crate::time::TICKS_PER_DAY,
            1_002 * crate::time::TICKS_PER_DAY,
        );
        let all: Vec<_> = g.slots_asc(SimSource::Directory, from, to, None).collect();
        let first: Vec<_> = all.iter().take(25).copied().collect();
        let rest: Vec<_> = g
            .slots_asc(
                SimSource::Directory,
                from,
                to,
                first.last().map(|s| s.index),
            )
            .collect();
        assert_eq!(first.len() + rest.len(), all.len());
        assert_eq!(rest.first(), all.get(25));
        let mut down: Vec<_> = g.slots_desc(SimSource::Directory, from, to, None).collect();
        down.reverse();
        assert_eq!(all, down);
    }

    #[test]
    fn every_record_has_an_id() {
        for (s, v) in Generator::new(3).take_mixed(3000) {
            assert!(record_id(s, &v).is_some(), "{s}: {v}");
        }
    }
}
