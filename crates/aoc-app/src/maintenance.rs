//! `aoc maintenance`: renormalize stored raw records (which also moves events stored before
//! the outcome vocabulary and readable actors onto them), and merge events that share a
//! dedupe key.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use aoc_domain::{Event, NameResolver, Normalizer, RecordKind, Source};
use aoc_store::EventStore;

use crate::error::AppResult;

const SCAN_BATCH: u32 = 1000;

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct RenormalizeReport {
    pub scanned: u64,
    pub updated: u64,
    pub failed: u64,
}

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct DedupeReport {
    pub scanned: u64,
    /// Events removed because an older event has the same dedupe key (their tags and comments
    /// are merged into the kept event first).
    pub removed: u64,
    /// Kept events whose stored dedupe key changed to the current rule's key.
    pub rekeyed: u64,
}

fn kind_of(event: &Event) -> Option<RecordKind> {
    match event.source {
        Source::Directory => Some(RecordKind::Directory),
        Source::Unified => Some(RecordKind::Unified),
        Source::Intune => Some(RecordKind::Intune),
        Source::Import => RecordKind::detect(&event.raw),
    }
}

/// Normalize a stored event again, keeping its identity, tags and comments.
fn renormalized(
    normalizer: &Normalizer,
    cached: &HashMap<String, String>,
    stored: &Event,
) -> Option<Event> {
    let kind = kind_of(stored)?;
    let resolver = KnownNames {
        cached,
        on_event: Normalizer::names_on(kind, stored)
            .into_iter()
            .map(|(id, name)| (id.to_ascii_lowercase(), name))
            .collect(),
    };
    let mut fresh = normalizer
        .normalize(kind, stored.source, stored.raw.clone(), &resolver)
        .ok()?;
    fresh.id = stored.id.clone();
    fresh.tags = stored.tags.clone();
    fresh.comments = stored.comments.clone();
    Some(fresh)
}

/// Every name renormalize knows for an id: the name cache's, expired or not, then the name
/// the stored event already showed for it. A name resolved once is never turned back into
/// an id because the cache expired or Graph forgot a deleted object.
struct KnownNames<'a> {
    /// Lower-case id -> name.
    cached: &'a HashMap<String, String>,
    /// Lower-case id -> name, read back from the event being renormalized.
    on_event: HashMap<String, String>,
}

impl NameResolver for KnownNames<'_> {
    fn resolve(&self, object_id: &str) -> Option<String> {
        let id = object_id.to_ascii_lowercase();
        self.cached
            .get(&id)
            .or_else(|| self.on_event.get(&id))
            .cloned()
    }
}

/// Lower-case id -> cached name for every id the batch needs, whatever the entry's expiry
/// (misses, cached as "", are left out).
async fn cached_names_for(
    store: &Arc<dyn EventStore>,
    batch: &[Event],
) -> AppResult<HashMap<String, String>> {
    let mut ids: Vec<String> = batch
        .iter()
        .filter_map(|e| kind_of(e).map(|k| Normalizer::ids_to_resolve(k, &e.raw)))
        .flatten()
        .map(|id| id.to_ascii_lowercase())
        .collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let names = store.all_cached_names(&ids).await?;
    Ok(names
        .into_iter()
        .filter(|n| !n.display_name.trim().is_empty())
        .map(|n| (n.object_id.to_ascii_lowercase(), n.display_name))
        .collect())
}

pub async fn renormalize(
    store: &Arc<dyn EventStore>,
    normalizer: &Normalizer,
    limit: Option<u64>,
    // Sync so the future is Send: the job worker runs it on a spawned task.
    progress: &(dyn Fn(u64) + Sync),
) -> AppResult<RenormalizeReport> {
    let mut report = RenormalizeReport::default();
    let mut after: Option<(DateTime<Utc>, String)> = None;
    loop {
        let batch = store.scan(after.as_ref(), SCAN_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some((last.timestamp, last.id.clone()));
        let cached = cached_names_for(store, &batch).await?;
        let mut updates = Vec::with_capacity(batch.len());
        for stored in &batch {
            if limit.is_some_and(|l| report.scanned >= l) {
                break;
            }
            report.scanned += 1;
            match renormalized(normalizer, &cached, stored) {
                // The dedupe key stays as stored: changing keys is `dedupe`'s job, which can
                // merge the events a new key would make collide.
                Some(mut fresh) => {
                    fresh.dedupe_key = stored.dedupe_key.clone();
                    if &fresh != stored {
                        updates.push(fresh);
                    }
                }
                None => report.failed += 1,
            }
        }
        report.updated += store.update_events(&updates).await?;
        progress(report.scanned);
        if limit.is_some_and(|l| report.scanned >= l) {
            break;
        }
    }
    Ok(report)
}

pub async fn dedupe(
    store: &Arc<dyn EventStore>,
    normalizer: &Normalizer,
    progress: &dyn Fn(u64),
) -> AppResult<DedupeReport> {
    let mut report = DedupeReport::default();
    // current key -> (kept id, whether the kept event needs its stored key changed)
    let mut kept: HashMap<String, String> = HashMap::new();
    let mut merges: Vec<(String, Event)> = Vec::new();
    let mut rekeys: Vec<Event> = Vec::new();
    let mut after: Option<(DateTime<Utc>, String)> = None;
    loop {
        let batch = store.scan(after.as_ref(), SCAN_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some((last.timestamp, last.id.clone()));
        for stored in batch {
            report.scanned += 1;
            let key = kind_of(&stored)
                .and_then(|k| {
                    normalizer
                        .normalize(
                            k,
                            stored.source,
                            stored.raw.clone(),
                            &aoc_domain::NoResolver,
                        )
                        .ok()
                })
                .map(|e| e.dedupe_key)
                .unwrap_or_else(|| stored.dedupe_key.clone());
            match kept.get(&key) {
                Some(kept_id) => merges.push((kept_id.clone(), stored)),
                None => {
                    kept.insert(key.clone(), stored.id.clone());
                    if key != stored.dedupe_key {
                        let mut e = stored;
                        e.dedupe_key = key;
                        rekeys.push(e);
                    }
                }
            }
        }
        progress(report.scanned);
    }
    for (kept_id, dup) in &merges {
        if let Some(target) = store.get(kept_id).await? {
            let mut tags = target.tags.clone();
            for t in &dup.tags {
                if !tags.contains(t) {
                    tags.push(t.clone());
                }
            }
            if tags != target.tags {
                store.set_tags(kept_id, &tags).await?;
            }
            for c in &dup.comments {
                store.add_comment(kept_id, c).await?;
            }
        }
    }
    let ids: Vec<String> = merges.iter().map(|(_, d)| d.id.clone()).collect();
    for chunk in ids.chunks(SCAN_BATCH as usize) {
        report.removed += store.delete_ids(chunk).await?;
    }
    for chunk in rekeys.chunks(SCAN_BATCH as usize) {
        // Refresh tags/comments merged above before writing the new key.
        let mut fresh = Vec::with_capacity(chunk.len());
        for e in chunk {
            if let Some(mut cur) = store.get(&e.id).await? {
                cur.dedupe_key = e.dedupe_key.clone();
                fresh.push(cur);
            }
        }
        report.rekeyed += store.update_events(&fresh).await?;
    }
    Ok(report)
}
