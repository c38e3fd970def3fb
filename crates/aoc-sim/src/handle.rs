//! The running simulator's shared state: clock, switches, counters, subscriptions, and the
//! ground truth tests compare a client against.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::blobs::{Feed, RETENTION};
use crate::config::{Endpoint, FailingSpec, FaultKind, FaultSpec, SimConfig, Target};
use crate::error::SimError;
use crate::generate::unified::ContentType;
use crate::generate::{Generator, SimSource, record_id};
use crate::time::{TICKS_PER_DAY, Ticks, from_ticks, to_ticks};

#[derive(Clone, Copy, Debug)]
enum Clock {
    /// Wall clock shifted by an offset (moved by `set_now`/`advance`).
    Real {
        offset: Ticks,
    },
    Frozen(Ticks),
}

/// Status of a Management Activity API subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    Enabled,
    /// Disabled by an admin (`AF20023` on listing).
    Disabled,
}

/// A fault that fired for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fired {
    Fault {
        kind: FaultKind,
        retry_after_secs: Option<u64>,
    },
    Failing {
        status: u16,
    },
}

struct State {
    clock: Clock,
    faults: Vec<FaultSpec>,
    failing: Vec<FailingSpec>,
    counts: BTreeMap<Endpoint, u64>,
    subscriptions: BTreeMap<ContentType, SubscriptionStatus>,
    token_generation: u64,
}

struct Inner {
    config: SimConfig,
    generator: Generator,
    origin: Ticks,
    token_key: [u8; 32],
    state: Mutex<State>,
}

/// Handle to one simulated tenant. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct SimHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("config", &self.inner.config)
            .finish()
    }
}

/// Snapshot returned by the control endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct SimState {
    pub now: DateTime<Utc>,
    pub origin: DateTime<Utc>,
    pub frozen: bool,
    pub counts: BTreeMap<Endpoint, u64>,
    pub pending_faults: Vec<FaultSpec>,
    pub failing: Vec<FailingSpec>,
    pub subscriptions: BTreeMap<String, SubscriptionStatus>,
}

fn wall_ticks() -> Ticks {
    to_ticks(Utc::now())
}

impl SimHandle {
    pub fn new(config: SimConfig) -> Result<SimHandle, SimError> {
        if uuid::Uuid::parse_str(&config.tenant_id).is_err() {
            return Err(SimError::Config(format!(
                "tenant_id {:?} is not a GUID",
                config.tenant_id
            )));
        }
        if config.client_id.is_empty() || config.client_secret.is_empty() {
            return Err(SimError::Config(
                "client_id and client_secret must not be empty".into(),
            ));
        }
        if config.page_size == 0 || config.max_page_size == 0 || config.content_page_size == 0 {
            return Err(SimError::Config("page sizes must be at least 1".into()));
        }
        if config.blob_minutes == 0 || config.blob_minutes > 24 * 60 {
            return Err(SimError::Config("blob_minutes must be 1..=1440".into()));
        }
        let mut subscriptions = BTreeMap::new();
        for name in &config.subscriptions {
            let ct = ContentType::parse(name)
                .ok_or_else(|| SimError::Config(format!("unknown content type {name:?}")))?;
            subscriptions.insert(ct, SubscriptionStatus::Enabled);
        }
        let clock = match config.now {
            Some(t) => Clock::Frozen(to_ticks(t)),
            None => Clock::Real { offset: 0 },
        };
        let start = match clock {
            Clock::Frozen(t) => t,
            Clock::Real { .. } => wall_ticks(),
        };
        let origin = start - i64::from(config.days) * TICKS_PER_DAY;
        let generator = Generator::with_planting(
            config.seed,
            config.events_per_day,
            &config.tenant_id,
            config.plant_detections,
        );
        let mut key = Sha256::new();
        key.update(b"aoc-sim token key");
        key.update(config.seed.to_le_bytes());
        key.update(config.tenant_id.as_bytes());
        key.update(config.client_secret.as_bytes());
        let state = State {
            clock,
            faults: config.faults.clone(),
            failing: config.failing.clone(),
            counts: BTreeMap::new(),
            subscriptions,
            token_generation: 0,
        };
        Ok(SimHandle {
            inner: Arc::new(Inner {
                token_key: key.finalize().into(),
                origin,
                generator,
                config,
                state: Mutex::new(state),
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-updated in a way that
        // matters for a simulator, so recover from poisoning instead of propagating it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    pub fn generator(&self) -> &Generator {
        &self.inner.generator
    }

    /// Absolute base URL if configured.
    pub fn base_url(&self) -> Option<&str> {
        self.inner.config.base_url.as_deref()
    }

    pub(crate) fn now_ticks(&self) -> Ticks {
        match self.state().clock {
            Clock::Frozen(t) => t,
            Clock::Real { offset } => wall_ticks() + offset,
        }
    }

    pub(crate) fn origin_ticks(&self) -> Ticks {
        self.inner.origin
    }

    /// The simulator's current time.
    pub fn now(&self) -> DateTime<Utc> {
        from_ticks(self.now_ticks())
    }

    /// Oldest instant records exist at (`now - days` when the handle was made).
    pub fn origin(&self) -> DateTime<Utc> {
        from_ticks(self.inner.origin)
    }

    /// Moves the clock to `t`. A frozen clock stays frozen; a running one keeps running from `t`.
    pub fn set_now(&self, t: DateTime<Utc>) {
        let mut s = self.state();
        s.clock = match s.clock {
            Clock::Frozen(_) => Clock::Frozen(to_ticks(t)),
            Clock::Real { .. } => Clock::Real {
                offset: to_ticks(t) - wall_ticks(),
            },
        };
    }

    /// Moves the clock forward (or back, for a negative duration).
    pub fn advance(&self, by: Duration) {
        let d = by
            .num_microseconds()
            .map_or(i64::MAX / 4, |us| us.saturating_mul(10));
        let mut s = self.state();
        s.clock = match s.clock {
            Clock::Frozen(t) => Clock::Frozen(t.saturating_add(d)),
            Clock::Real { offset } => Clock::Real {
                offset: offset.saturating_add(d),
            },
        };
    }

    /// The next `count` requests matching `target` are throttled. `retry_after_secs: None`
    /// omits the `Retry-After` header.
    pub fn throttle(&self, target: Target, count: u32, retry_after_secs: Option<u64>) {
        self.add_fault(FaultSpec {
            kind: FaultKind::Throttle,
            target,
            count,
            retry_after_secs,
        });
    }

    /// The next `count` requests matching `target` get 503 Service Unavailable.
    pub fn unavailable(&self, target: Target, count: u32, retry_after_secs: Option<u64>) {
        self.add_fault(FaultSpec {
            kind: FaultKind::Unavailable,
            target,
            count,
            retry_after_secs,
        });
    }

    /// Arms a one-shot fault; faults fire in the order they were armed.
    pub fn add_fault(&self, fault: FaultSpec) {
        if fault.count > 0 {
            self.state().faults.push(fault);
        }
    }

    /// Every request matching `target` fails with `status` until [`SimHandle::clear_failure`].
    pub fn fail(&self, target: Target, status: u16) {
        let mut s = self.state();
        s.failing.retain(|f| f.target != target);
        s.failing.push(FailingSpec { target, status });
    }

    pub fn clear_failure(&self, target: Target) {
        self.state().failing.retain(|f| f.target != target);
    }

    /// Disarms every pending fault and persistent failure.
    pub fn clear_faults(&self) {
        let mut s = self.state();
        s.faults.clear();
        s.failing.clear();
    }

    /// Counts the request and decides whether a switch makes it fail.
    pub(crate) fn on_request(&self, endpoint: Endpoint) -> Option<Fired> {
        let mut s = self.state();
        *s.counts.entry(endpoint).or_insert(0) += 1;
        if let Some(pos) = s
            .faults
            .iter()
            .position(|f| f.count > 0 && endpoint.matches(f.target))
        {
            let fired = s.faults.get_mut(pos).map(|f| {
                f.count -= 1;
                Fired::Fault {
                    kind: f.kind,
                    retry_after_secs: f.retry_after_secs,
                }
            });
            s.faults.retain(|f| f.count > 0);
            return fired;
        }
        s.failing
            .iter()
            .find(|f| endpoint.matches(f.target))
            .map(|f| Fired::Failing { status: f.status })
    }

    pub fn request_count(&self, endpoint: Endpoint) -> u64 {
        self.state().counts.get(&endpoint).copied().unwrap_or(0)
    }

    pub fn request_counts(&self) -> BTreeMap<Endpoint, u64> {
        self.state().counts.clone()
    }

    pub fn reset_counts(&self) {
        self.state().counts.clear();
    }

    /// Invalidates every token issued so far (clients then get 401 and must fetch a new one).
    pub fn revoke_tokens(&self) {
        self.state().token_generation += 1;
    }

    pub(crate) fn token_generation(&self) -> u64 {
        self.state().token_generation
    }

    pub(crate) fn token_key(&self) -> &[u8; 32] {
        &self.inner.token_key
    }

    pub(crate) fn subscription(&self, ct: ContentType) -> Option<SubscriptionStatus> {
        self.state().subscriptions.get(&ct).copied()
    }

    /// Starts (or re-enables) a subscription. Returns `false` if it was already enabled.
    pub fn start_subscription(&self, ct: ContentType) -> bool {
        let mut s = self.state();
        let previous = s.subscriptions.insert(ct, SubscriptionStatus::Enabled);
        previous != Some(SubscriptionStatus::Enabled)
    }

    /// Stops a subscription: it disappears, as if never started. Returns whether it existed.
    pub fn stop_subscription(&self, ct: ContentType) -> bool {
        self.state().subscriptions.remove(&ct).is_some()
    }

    /// Marks a subscription disabled by an admin (listing answers `AF20023`).
    pub fn disable_subscription(&self, ct: ContentType) {
        self.state()
            .subscriptions
            .insert(ct, SubscriptionStatus::Disabled);
    }

    pub(crate) fn subscriptions(&self) -> BTreeMap<ContentType, SubscriptionStatus> {
        self.state().subscriptions.clone()
    }

    pub fn state_snapshot(&self) -> SimState {
        let now = self.now();
        let s = self.state();
        SimState {
            now,
            origin: from_ticks(self.inner.origin),
            frozen: matches!(s.clock, Clock::Frozen(_)),
            counts: s.counts.clone(),
            pending_faults: s.faults.clone(),
            failing: s.failing.clone(),
            subscriptions: s
                .subscriptions
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), *v))
                .collect(),
        }
    }

    pub(crate) fn feed(&self) -> Feed<'_> {
        Feed::new(&self.inner.generator, self.inner.config.blob_minutes)
    }

    /// How many distinct records a correct client would hold for `source` with record time in
    /// `[from, to]` (both inclusive), asking at the simulator's current `now`.
    ///
    /// Graph sources: every record in the window that exists (`origin <= time <= now`).
    /// Unified: distinct `(OrganizationId, Id)` among those records that sit in at least one
    /// content blob available now (`now - 7 days <= contentCreated <= now`); duplicates count
    /// once, late records count only once their late blob is published.
    pub fn unique_records(
        &self,
        source: SimSource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> usize {
        self.truth_slots(source, from, to).len()
    }

    /// The ids behind [`SimHandle::unique_records`] (`id` for Graph, `Id` for Management),
    /// oldest record first.
    pub fn unique_record_ids(
        &self,
        source: SimSource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<String> {
        self.truth_slots(source, from, to)
            .iter()
            .filter_map(|s| record_id(source, &self.inner.generator.build(source, s)))
            .collect()
    }

    /// The records behind [`SimHandle::unique_records`], oldest first, for tests that check
    /// what a client made of each one.
    pub fn unique_record_values(
        &self,
        source: SimSource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<serde_json::Value> {
        self.truth_slots(source, from, to)
            .iter()
            .map(|s| self.inner.generator.build(source, s))
            .collect()
    }

    /// Directory object ids that records carry but `getByIds` cannot name: users and service
    /// principals deleted since they acted. Every other actor id in a record resolves.
    pub fn deleted_object_ids(&self) -> Vec<String> {
        self.inner.generator.tenant().deleted_ids.clone()
    }

    /// Planted detection positives and near misses (see [`Generator::detections_between`]) among
    /// the records clients can fetch now: inside the window (`origin <= time <= now`) and, for
    /// Management records, in a content blob available now.
    pub fn planted_detections(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<crate::PlantedDetection> {
        let now = self.now_ticks();
        let lo = to_ticks(from).max(self.inner.origin);
        let hi = to_ticks(to).min(now);
        let feed = self.feed();
        self.inner
            .generator
            .planted_between(lo, hi)
            .into_iter()
            .filter(|(d, slot)| {
                d.source != SimSource::Unified
                    || feed
                        .carriers(slot)
                        .iter()
                        .any(|&c| c <= now && c >= now - RETENTION)
            })
            .map(|(d, _)| d)
            .collect()
    }

    fn truth_slots(
        &self,
        source: SimSource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<crate::timeline::Slot> {
        let now = self.now_ticks();
        let lo = to_ticks(from).max(self.inner.origin);
        let hi = to_ticks(to).min(now);
        let slots = self.inner.generator.timeline(source).asc(lo, hi);
        if source != SimSource::Unified {
            return slots.collect();
        }
        let feed = self.feed();
        slots
            .filter(|s| {
                feed.carriers(s)
                    .iter()
                    .any(|&c| c <= now && c >= now - RETENTION)
            })
            .collect()
    }
}
