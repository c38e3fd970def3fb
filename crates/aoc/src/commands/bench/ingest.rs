//! The ingest half of `aoc bench`: simulated raw records -> normalize -> `insert_batch`, as the
//! importer does it (a blocking thread generates and normalizes, the async side stores batches),
//! so the figure is what a real fetch or import would see, minus the network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc;

use aoc_domain::{Event, NoResolver, Normalizer, RecordKind};
use aoc_sim::SimSource;
use aoc_store::{EventStore, InFlight, InsertOutcome};

/// Events per `insert_batch` call: the importer's batch size.
pub const BATCH: usize = aoc_app::import::INSERT_BATCH;
/// Batches in flight between the normalizing thread and the store (as in the importer).
const CHANNEL_BATCHES: usize = 4;
/// Events remembered for query parameters.
const SAMPLES: usize = 256;
/// Recent records kept for re-delivery in the second round.
const RECENT: usize = 4096;

/// The record stream both rounds draw from, handed from one round's thread to the next.
pub type Records = Box<dyn Iterator<Item = (SimSource, Value)> + Send>;

/// What one ingest round measured.
#[derive(Debug, Clone, Default)]
pub struct IngestRound {
    /// Records delivered to the pipeline (including re-delivered duplicates).
    pub delivered: u64,
    pub new: u64,
    pub duplicates: u64,
    /// Records that did not normalize (none are expected from the simulator).
    pub rejected: u64,
    pub elapsed: Duration,
    /// Time the producing thread spent generating records (not part of ingest proper, but it
    /// shares the two cores) and normalizing them.
    pub generate: Duration,
    pub normalize: Duration,
    /// Time the storing side spent waiting for the store (for a free slot, with two batches
    /// in flight, and for the last ones at the end).
    pub store: Duration,
}

impl IngestRound {
    fn add(&mut self, stored: InsertOutcome) {
        self.new += stored.new;
        self.duplicates += stored.duplicates;
    }

    pub fn events_per_second(&self) -> f64 {
        rate(self.delivered, self.elapsed)
    }
}

pub fn rate(n: u64, d: Duration) -> f64 {
    let secs = d.as_secs_f64();
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// One stored event's fields, for building realistic query parameters.
#[derive(Debug, Clone)]
pub struct Sample {
    pub actor: String,
    pub service: String,
    pub operation: String,
    pub timestamp: DateTime<Utc>,
    /// The record's own id as it appears in the raw JSON: a word found only through the raw
    /// word index, and (nearly) unique.
    pub raw_token: Option<String>,
}

/// How a round draws its records.
pub struct RoundPlan {
    pub records: u64,
    /// Fraction (per mille) of records that are re-deliveries of earlier ones.
    pub duplicate_per_mille: u64,
    /// `insert_batch` calls running at once.
    pub in_flight: usize,
}

/// Run one round; returns the measurements, the samples taken (first round only) and the
/// record stream for the next round.
pub async fn run_round(
    store: Arc<dyn EventStore>,
    normalizer: Arc<Normalizer>,
    records: Records,
    plan: RoundPlan,
    collect_samples: bool,
) -> anyhow::Result<(IngestRound, Vec<Sample>, Records)> {
    let (tx, mut rx) = mpsc::channel::<Vec<Event>>(CHANNEL_BATCHES);
    let total = plan.records;
    let in_flight = plan.in_flight;
    let start = Instant::now();
    let producer = std::thread::Builder::new()
        .name("bench-normalize".into())
        .spawn(move || produce(records, &normalizer, &plan, collect_samples, &tx))?;

    let mut round = IngestRound::default();
    let progress_every = (total / 10).max(1);
    let mut next_progress = progress_every;
    let mut result: anyhow::Result<()> = Ok(());
    // As the importer stores (two batches in flight, unless told otherwise).
    let mut writes = InFlight::new(store.clone(), in_flight);
    while let Some(batch) = rx.recv().await {
        let t = Instant::now();
        match writes.submit(batch).await {
            Ok(Some(outcome)) => round.add(outcome),
            Ok(None) => {}
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
        round.store += t.elapsed();
        let done = round.new + round.duplicates;
        if done >= next_progress {
            next_progress += progress_every;
            eprintln!(
                "    {done:>9} / {total} events  {:>8.0} events/s",
                rate(done, start.elapsed())
            );
        }
    }
    let t = Instant::now();
    match writes.finish().await {
        Ok(outcome) => round.add(outcome),
        Err(e) => result = result.and(Err(e.into())),
    }
    round.store += t.elapsed();
    // After a store error this ends the producer: its next send fails.
    drop(rx);
    let produced = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the normalizing thread panicked"))?;
    result?;
    round.elapsed = start.elapsed();
    let (stats, samples, records) = produced;
    round.delivered = stats.delivered;
    round.rejected = stats.rejected;
    round.generate = stats.generate;
    round.normalize = stats.normalize;
    Ok((round, samples, records))
}

#[derive(Default)]
struct ProducerStats {
    delivered: u64,
    rejected: u64,
    generate: Duration,
    normalize: Duration,
}

/// The producing thread: draw (or re-deliver) records, normalize, send batches.
fn produce(
    mut records: Records,
    normalizer: &Normalizer,
    plan: &RoundPlan,
    collect_samples: bool,
    tx: &mpsc::Sender<Vec<Event>>,
) -> (ProducerStats, Vec<Sample>, Records) {
    let mut stats = ProducerStats::default();
    let mut samples = Vec::new();
    let sample_every = (plan.records / SAMPLES as u64).max(1);
    let mut recent: Vec<Value> = Vec::new();
    let mut rng = SplitMix(0x5eed_0000_0000_0001 ^ plan.records);
    let mut batch = Vec::with_capacity(BATCH);
    let resolver = NoResolver;
    for i in 0..plan.records {
        let t = Instant::now();
        let redeliver = plan.duplicate_per_mille > 0
            && !recent.is_empty()
            && rng.next() % 1000 < plan.duplicate_per_mille;
        let raw = if redeliver {
            let pick = usize::try_from(rng.next() % recent.len() as u64).unwrap_or(0);
            recent.get(pick).cloned()
        } else {
            records.next().map(|(_, raw)| raw)
        };
        let Some(raw) = raw else { break };
        // Remember some records for re-delivery: a Management API content blob or a Graph
        // page fetched again re-delivers records from the recent past.
        if plan.duplicate_per_mille > 0 && !redeliver && i % 8 == 0 {
            if recent.len() < RECENT {
                recent.push(raw.clone());
            } else {
                let slot = usize::try_from(rng.next() % RECENT as u64).unwrap_or(0);
                if let Some(r) = recent.get_mut(slot) {
                    *r = raw.clone();
                }
            }
        }
        let raw_token = if collect_samples && i % sample_every == 0 {
            ["id", "Id"]
                .iter()
                .find_map(|k| raw.get(*k).and_then(Value::as_str))
                .map(str::to_string)
        } else {
            None
        };
        let t2 = Instant::now();
        stats.generate += t2 - t;
        stats.delivered += 1;
        let event = RecordKind::detect(&raw).ok_or(()).and_then(|kind| {
            normalizer
                .normalize(kind, kind.fetched_source(), raw, &resolver)
                .map_err(|_| ())
        });
        stats.normalize += t2.elapsed();
        match event {
            Ok(event) => {
                if collect_samples && i % sample_every == 0 {
                    samples.push(Sample {
                        actor: event.actor_display.clone(),
                        service: event.service.clone(),
                        operation: event.operation.clone(),
                        timestamp: event.timestamp,
                        raw_token,
                    });
                }
                batch.push(event);
            }
            Err(()) => stats.rejected += 1,
        }
        if batch.len() >= BATCH && tx.blocking_send(std::mem::take(&mut batch)).is_err() {
            return (stats, samples, records);
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    (stats, samples, records)
}

/// A tiny deterministic generator for picking duplicates, so runs are comparable.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
