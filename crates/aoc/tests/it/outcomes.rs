//! Events an admin can trust at a glance, end to end against the simulated tenant on SQLite
//! and on PostgreSQL: one outcome vocabulary whatever the source wrote, actors in words (a
//! bare id only for an object the tenant itself cannot name), and renormalize keeping every
//! name it knew after the name cache expired.

use std::collections::{HashMap, HashSet};

use aoc_app::Settings;
use aoc_domain::{Event, Normalizer, Outcome, RecordKind, Source};
use aoc_sim::{EventRates, RunningSim, SimConfig, SimSource};
use aoc_store::{CachedName, EventStore};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde_json::Value;

use crate::common::TestApp;
use crate::ingest::{fetch, sim_env, truth};

const VOCABULARY: [&str; 4] = ["success", "failure", "partial", "unknown"];

/// What the simulated tenant says, read from its records (the simulator does not share the
/// normalizer's code: this is a second reading of the same documentation).
#[derive(Debug, Default)]
struct SimTruth {
    /// Failed records per source.
    failures: HashMap<Source, usize>,
    /// Failed Exchange cmdlets (`ResultStatus: False`).
    exchange_failures: usize,
    /// Records whose actor is an object the tenant cannot name (deleted since), by the id
    /// an event may show for it.
    nameless: HashMap<String, usize>,
    deleted: HashSet<String>,
}

fn sim_truth(sim: &RunningSim) -> SimTruth {
    let h = &sim.handle;
    let (from, to) = (
        h.origin() - TimeDelta::days(30),
        h.now() + TimeDelta::days(1),
    );
    let deleted: HashSet<String> = h
        .deleted_object_ids()
        .iter()
        .map(|id| id.to_ascii_lowercase())
        .collect();
    let is_deleted = |id: &Value| {
        id.as_str()
            .is_some_and(|id| deleted.contains(&id.to_ascii_lowercase()))
    };
    let mut t = SimTruth::default();
    for record in h.unique_record_values(SimSource::Directory, from, to) {
        if matches!(record["result"].as_str(), Some("failure" | "timeout")) {
            *t.failures.entry(Source::Directory).or_default() += 1;
        }
        let by = &record["initiatedBy"];
        for id in [&by["user"]["id"], &by["app"]["servicePrincipalId"]] {
            if is_deleted(id) {
                *t.nameless
                    .entry(id.as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    for record in h.unique_record_values(SimSource::Intune, from, to) {
        if record["activityResult"] == "Failure" {
            *t.failures.entry(Source::Intune).or_default() += 1;
        }
        if is_deleted(&record["actor"]["userId"]) {
            let id = record["actor"]["userId"].as_str().unwrap().to_owned();
            *t.nameless.entry(id).or_default() += 1;
        }
    }
    for record in h.unique_record_values(SimSource::Unified, from, to) {
        if matches!(
            record["ResultStatus"].as_str(),
            Some("False" | "Failed" | "Failure")
        ) {
            *t.failures.entry(Source::Unified).or_default() += 1;
            if record["Workload"] == "Exchange" {
                t.exchange_failures += 1;
            }
        }
        let user_id = record["UserId"].as_str().unwrap_or_default();
        let names_itself = record["Actor"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["Type"] == 1));
        if let Some(id) = user_id.strip_prefix("ServicePrincipal_")
            && deleted.contains(&id.to_ascii_lowercase())
            && !names_itself
        {
            *t.nameless.entry(user_id.to_owned()).or_default() += 1;
        }
    }
    t.deleted = deleted;
    t
}

/// Two days of a tenant busy enough that every source has failures (Intune fails about one
/// action in thirty), on a frozen clock so the truth cannot move.
async fn busy_sim() -> RunningSim {
    aoc_sim::start(SimConfig {
        days: 2,
        now: Some(Utc::now().trunc_subsecs(0)),
        events_per_day: EventRates {
            directory: 300,
            intune: 400,
            unified: 500,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// The server over the simulator, on SQLite or on the PostgreSQL database `database_url`.
async fn app_on(sim: &RunningSim, database_url: Option<String>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(sim, &dir.path().join("aoc.db"));
    if let Some(url) = database_url {
        env.insert("DATABASE_URL".into(), url);
    }
    TestApp::start_with_settings(dir, Settings::from_map(&env).unwrap()).await
}

async fn all_events(store: &std::sync::Arc<dyn EventStore>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    let mut after: Option<(DateTime<Utc>, String)> = None;
    loop {
        let batch = store.scan(after.as_ref(), 1000).await.unwrap();
        let Some(last) = batch.last() else {
            return out;
        };
        after = Some((last.timestamp, last.id.clone()));
        out.extend(batch);
    }
}

/// Every event `query` lists through the API, page by page.
async fn listed(app: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = format!("/api/events?page_size=500&{query}");
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/events?page_size=500&{query}&cursor={c}"),
            None => return items,
        }
    }
}

/// The id an actor display is, when it is one: a GUID or a `<Type>_<GUID>` form.
fn shown_id(actor: &str) -> Option<&str> {
    let guid = actor.rsplit('_').next().unwrap_or(actor);
    let hex = guid.chars().filter(char::is_ascii_hexdigit).count();
    (guid.len() == 36 && hex == 32 && guid.matches('-').count() == 4).then_some(guid)
}

fn kind_of(event: &Event) -> RecordKind {
    match event.source {
        Source::Directory => RecordKind::Directory,
        Source::Intune => RecordKind::Intune,
        _ => RecordKind::Unified,
    }
}

async fn outcomes_and_actors_are_trustworthy(app: &TestApp, sim: &RunningSim) {
    let truth_counts = truth(sim);
    let t = sim_truth(sim);
    for source in [Source::Directory, Source::Intune, Source::Unified] {
        assert!(
            t.failures.get(&source).copied().unwrap_or(0) > 0,
            "a tenant with {source} failures: {t:?}"
        );
    }
    assert!(t.exchange_failures > 0 && !t.nameless.is_empty(), "{t:?}");

    let report = fetch(app, "?hours=168").await;
    for (source, expected) in &truth_counts {
        assert_eq!(report["sources"][source]["stored"], *expected, "{report}");
    }

    // The Result dropdown offers the vocabulary and nothing else.
    let (status, options) = app.get_json("/api/filter-options").await;
    assert_eq!(status, 200, "{options}");
    let results: Vec<&str> = options["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        results.iter().all(|r| VOCABULARY.contains(r)),
        "{results:?}"
    );
    assert!(results.contains(&"failure") && results.contains(&"success"));

    // `failure`, in any case or as a source spells it, finds every failure of every source.
    let total: usize = t.failures.values().sum();
    for written in ["failure", "FAILURE", "Failure", "False"] {
        let (status, body) = app
            .get_json(&format!("/api/events/count?result={written}"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], total, "{written}");
    }
    let failed = listed(app, "result=FAILURE").await;
    let mut per_source: HashMap<Source, usize> = HashMap::new();
    for e in &failed {
        assert_eq!(e["result"], "failure", "{e}");
        let detail = e["result_detail"].as_str().unwrap();
        assert!(
            Outcome::parse(detail) == Some(Outcome::Failure),
            "the source's word stays: {e}"
        );
        let source: Source = e["source"].as_str().unwrap().parse().unwrap();
        *per_source.entry(source).or_default() += 1;
    }
    assert_eq!(per_source, t.failures);
    let (_, exchange) = app
        .get_json("/api/events/count?result=failure&service=Exchange")
        .await;
    assert_eq!(exchange["count"], t.exchange_failures);
    let (_, bogus) = app.get_json("/api/events/count?result=bogus").await;
    assert_eq!(bogus["count"], 0);

    // Every event names who acted; an id only for an object the tenant cannot name.
    let events = all_events(app.ctx.store()).await;
    let mut nameless: HashMap<String, usize> = HashMap::new();
    for e in &events {
        assert!(!e.actor_display.trim().is_empty(), "{}", e.raw);
        assert_ne!(e.actor_display, aoc_domain::UNKNOWN_ACTOR, "{}", e.raw);
        assert!(VOCABULARY.contains(&e.result.as_str()), "{}", e.result);
        if let Some(id) = shown_id(&e.actor_display) {
            assert!(
                t.deleted.contains(&id.to_ascii_lowercase()),
                "{} shows an id the tenant can name: {}",
                e.actor_display,
                e.raw
            );
            *nameless.entry(e.actor_display.clone()).or_default() += 1;
        }
    }
    assert_eq!(nameless, t.nameless);
    let actors = options["actors"].as_array().unwrap();
    assert!(
        actors
            .iter()
            .filter_map(|a| a.as_str())
            .filter_map(shown_id)
            .all(|id| t.deleted.contains(&id.to_ascii_lowercase())),
        "{actors:?}"
    );
    assert!(
        actors
            .iter()
            .all(|a| a.as_str().is_some_and(|a| !a.is_empty()))
    );
    // A system account reads as one.
    assert!(
        actors.iter().any(|a| a == "Exchange Online (system)"),
        "{actors:?}"
    );
}

/// Renormalize after the name cache expired (and some of it forgot deleted objects): every
/// resolved name stays, while the outcomes of events stored the old way are migrated.
async fn renormalize_keeps_every_resolved_name(app: &TestApp) {
    let store = app.ctx.store();
    let before = all_events(store).await;
    // The names came from lookups: without them, these events would show ids.
    let looked_up = before
        .iter()
        .filter(|e| {
            let bare = app
                .ctx
                .normalizer
                .normalize(kind_of(e), e.source, e.raw.clone(), &aoc_domain::NoResolver)
                .unwrap();
            bare.actor_display != e.actor_display || bare.target_displays != e.target_displays
        })
        .count();
    assert!(looked_up > 10, "{looked_up} events with looked-up names");

    // The clock moves on past every expiry; and half of the entries meanwhile became misses
    // (Graph no longer names a deleted object).
    let mut ids: Vec<String> = before
        .iter()
        .flat_map(|e| Normalizer::ids_to_resolve(kind_of(e), &e.raw))
        .map(|id| id.to_ascii_lowercase())
        .collect();
    ids.sort();
    ids.dedup();
    let cached = store.all_cached_names(&ids).await.unwrap();
    assert!(cached.iter().any(|c| !c.display_name.is_empty()));
    let later = Utc::now() + TimeDelta::hours(25);
    let moved: Vec<CachedName> = cached
        .into_iter()
        .enumerate()
        .map(|(i, c)| CachedName {
            display_name: if i % 2 == 0 {
                String::new()
            } else {
                c.display_name
            },
            expires_at: later - TimeDelta::hours(26),
            ..c
        })
        .collect();
    store.put_cached_names(&moved).await.unwrap();
    assert!(store.cached_names(&ids, later).await.unwrap().is_empty());

    // Some events as an older AOC stored them: the source's word as the result.
    // Every seventh, and every failed Exchange cmdlet (`False`), whichever hour the tenant's
    // clock shows (a sample alone may hold none).
    let legacy: Vec<Event> = before
        .iter()
        .filter(|e| !e.result_detail.is_empty())
        .enumerate()
        .filter(|(i, e)| i % 7 == 0 || e.result_detail == "False")
        .map(|(_, e)| Event {
            result: e.result_detail.clone(),
            result_detail: String::new(),
            ..e.clone()
        })
        .collect();
    assert!(legacy.iter().any(|e| e.result == "False"));
    store.update_events(&legacy).await.unwrap();

    let report = aoc_app::maintenance::renormalize(store, &app.ctx.normalizer, None, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(report.updated >= legacy.len() as u64, "{report:?}");

    let after: HashMap<String, Event> = all_events(store)
        .await
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    assert_eq!(after.len(), before.len());
    for e in &before {
        let now = &after[&e.id];
        assert_eq!(now.actor_display, e.actor_display, "{}", e.raw);
        assert_eq!(now.target_displays, e.target_displays, "{}", e.raw);
        assert_eq!(now.display_summary, e.display_summary, "{}", e.raw);
        assert_eq!(
            (&now.result, &now.result_detail),
            (&e.result, &e.result_detail),
            "{}",
            e.raw
        );
    }
}

#[tokio::test]
async fn outcomes_and_actors_on_sqlite() {
    let sim = busy_sim().await;
    let app = app_on(&sim, None).await;
    outcomes_and_actors_are_trustworthy(&app, &sim).await;
    renormalize_keeps_every_resolved_name(&app).await;
}

#[tokio::test]
async fn outcomes_and_actors_on_postgres() {
    let Some(url) = crate::privacy::fresh_postgres("outcomes").await else {
        return;
    };
    let sim = busy_sim().await;
    let app = app_on(&sim, Some(url)).await;
    outcomes_and_actors_are_trustworthy(&app, &sim).await;
    renormalize_keeps_every_resolved_name(&app).await;
}
