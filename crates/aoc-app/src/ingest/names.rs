//! Directory object names for ids that records carry without a name: looked up once through
//! Graph's getByIds and cached in the store with an expiry, so a fetch resolves each id once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{TimeDelta, Utc};
use serde_json::Value;

use aoc_domain::{MapResolver, Normalizer, RecordKind};
use aoc_m365::M365Client;
use aoc_store::{CachedName, EventStore};

/// A resolved name is trusted this long (people and groups get renamed).
const NAME_TTL: TimeDelta = TimeDelta::hours(24);
/// An id Graph did not know (deleted objects) is asked about again after this.
const MISS_TTL: TimeDelta = TimeDelta::hours(1);

pub(super) struct Names {
    store: Arc<dyn EventStore>,
    client: M365Client,
    /// Lower-case id -> name; "" for ids Graph does not know.
    known: Mutex<HashMap<String, String>>,
    /// Set after getByIds fails (typically a missing permission): not asked again this run.
    off: AtomicBool,
    warning: Mutex<Option<String>>,
}

impl Names {
    pub fn new(store: Arc<dyn EventStore>, client: M365Client) -> Self {
        Self {
            store,
            client,
            known: Mutex::default(),
            off: AtomicBool::new(false),
            warning: Mutex::default(),
        }
    }

    /// A resolver with the names of every id these records need, looked up in this run's
    /// memory, then the store's cache, then Graph. An id Graph cannot name now (deleted, or
    /// getByIds not allowed) keeps the last name the cache ever held for it.
    pub async fn resolver_for(&self, kind: RecordKind, records: &[Value]) -> MapResolver {
        let wanted: Vec<String> = records
            .iter()
            .flat_map(|r| Normalizer::ids_to_resolve(kind, r))
            .collect();
        if wanted.is_empty() {
            return MapResolver::default();
        }
        let mut unknown = self.missing(&wanted);
        if !unknown.is_empty() {
            let now = Utc::now();
            match self.store.cached_names(&unknown, now).await {
                Ok(cached) => {
                    self.remember(cached.into_iter().map(|c| (c.object_id, c.display_name)))
                }
                Err(e) => tracing::warn!(error = %e, "cannot read cached names"),
            }
            unknown = self.missing(&unknown);
        }
        if !unknown.is_empty() {
            let last_known = self.last_known(&unknown).await;
            if !self.off.load(Ordering::Relaxed) {
                self.ask_graph(&unknown, &last_known).await;
            }
            let still = self.missing(&unknown);
            self.remember(
                still
                    .into_iter()
                    .filter_map(|id| last_known.get(&id).map(|name| (id, name.clone()))),
            );
        }
        let Ok(known) = self.known.lock() else {
            return MapResolver::default();
        };
        MapResolver(
            wanted
                .into_iter()
                .filter_map(|id| {
                    let name = known.get(&id.to_ascii_lowercase())?;
                    (!name.is_empty()).then(|| (id, name.clone()))
                })
                .collect(),
        )
    }

    /// Lower-case id -> the name the cache last held, expired or not (never "").
    async fn last_known(&self, ids: &[String]) -> HashMap<String, String> {
        match self.store.all_cached_names(ids).await {
            Ok(entries) => entries
                .into_iter()
                .filter(|c| !c.display_name.trim().is_empty())
                .map(|c| (c.object_id.to_ascii_lowercase(), c.display_name))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read cached names");
                HashMap::new()
            }
        }
    }

    /// The warning to put in the fetch result, once.
    pub fn take_warning(&self) -> Option<String> {
        self.warning.lock().ok().and_then(|mut w| w.take())
    }

    fn missing(&self, ids: &[String]) -> Vec<String> {
        let Ok(known) = self.known.lock() else {
            return Vec::new();
        };
        let mut out: Vec<String> = ids
            .iter()
            .map(|id| id.to_ascii_lowercase())
            .filter(|id| !known.contains_key(id))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn remember(&self, names: impl Iterator<Item = (String, String)>) {
        if let Ok(mut known) = self.known.lock() {
            for (id, name) in names {
                known.insert(id.to_ascii_lowercase(), name);
            }
        }
    }

    /// `last_known` keeps a name through a miss: Graph forgets deleted objects, the events
    /// that named them should not.
    async fn ask_graph(&self, ids: &[String], last_known: &HashMap<String, String>) {
        match self.client.get_by_ids(ids).await {
            Ok(found) => {
                let found: HashMap<String, String> = found
                    .into_iter()
                    .map(|(id, name)| (id.to_ascii_lowercase(), name))
                    .collect();
                let now = Utc::now();
                let rows: Vec<CachedName> = ids
                    .iter()
                    .map(|id| match found.get(id) {
                        Some(name) => CachedName {
                            object_id: id.clone(),
                            display_name: name.clone(),
                            expires_at: now + NAME_TTL,
                        },
                        None => CachedName {
                            object_id: id.clone(),
                            display_name: last_known.get(id).cloned().unwrap_or_default(),
                            expires_at: now + MISS_TTL,
                        },
                    })
                    .collect();
                if let Err(e) = self.store.put_cached_names(&rows).await {
                    tracing::warn!(error = %e, "cannot cache resolved names");
                }
                self.remember(rows.into_iter().map(|r| (r.object_id, r.display_name)));
            }
            Err(e) => {
                self.off.store(true, Ordering::Relaxed);
                let message = format!(
                    "names of directory objects could not be looked up (getByIds: {e}); events \
                     show ids instead. The app registration needs Directory.Read.All for names"
                );
                tracing::warn!("{message}");
                if let Ok(mut w) = self.warning.lock() {
                    *w = Some(message);
                }
            }
        }
    }
}
