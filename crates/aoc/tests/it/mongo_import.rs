//! Coming over from the original service: `aoc import` (the real binary) of a `mongoexport` of
//! its `events` collection, then a fetch from the simulated tenant that must meet the imported
//! events instead of storing the same records twice.

use std::path::{Path, PathBuf};
use std::process::Command;

use aoc_app::Settings;
use aoc_sim::{RunningSim, SimSource};
use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::ingest::{fetch, sim_env, small_sim, truth};

/// The five documents written by hand from the original README's shape (canonical Extended
/// JSON, JSON lines): records the simulated tenant does not have.
fn hand_written_export() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aoc-app/tests/fixtures/import/mongoexport-events.jsonl")
}
const HAND_WRITTEN: u64 = 5;

/// Runs `aoc import` on `files` over the SQLite file `db`; returns stdout, after checking the
/// command succeeded.
async fn import(db: &Path, files: &[&Path]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aoc"));
    command
        .arg("import")
        .args(files)
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("TENANT_ID")
        .env("AOC_LOG", "warn");
    // Blocking, off the runtime that serves the simulated tenant.
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout
}

/// A document of the original service around one of the simulated tenant's own records, in
/// relaxed Extended JSON. Its `dedupe_key` is the original's spelling, not AOC's.
fn document(n: usize, source: SimSource, raw: Value) -> Value {
    let (id, time) = match source {
        SimSource::Unified => (
            raw["Id"].as_str().unwrap().to_string(),
            format!("{}Z", raw["CreationTime"].as_str().unwrap()),
        ),
        _ => (
            raw["id"].as_str().unwrap().to_string(),
            raw["activityDateTime"].as_str().unwrap().to_string(),
        ),
    };
    let mut doc = json!({
        "_id": {"$oid": format!("65b000000000000000000{n:03}")},
        "id": id,
        "timestamp": {"$date": time},
        "service": "from the original",
        "operation": "from the original",
        "result": "",
        "actor_display": "",
        "target_displays": [],
        "display_summary": "",
        "dedupe_key": format!("{}|{id}", source.as_str()),
        "actor": {},
        "targets": [],
        "raw_text": raw.to_string(),
        "raw": raw,
        "tags": [format!("case-{n}"), "migrated"],
        "comments": [
            {"text": format!("note {n}"), "author": "Adele Vance", "created_at": {"$date": "2026-01-02T03:04:05Z"}},
            {"text": format!("unsigned note {n}"), "created_at": {"$date": {"$numberLong": "1767323045000"}}},
        ],
    });
    if n.is_multiple_of(2) {
        // Some documents never had tags.
        doc.as_object_mut().unwrap().remove("tags");
    }
    doc
}

/// Documents for a few of the records the simulated tenant serves (and a fetch will bring).
fn documents_of_the_tenant(sim: &RunningSim) -> Vec<Value> {
    let h = &sim.handle;
    let g = h.generator();
    let (from, to) = (h.origin(), h.now());
    let mut raws: Vec<(SimSource, Value)> = Vec::new();
    for (source, n) in [(SimSource::Directory, 3), (SimSource::Intune, 2)] {
        raws.extend(
            g.records_between(source, from, to)
                .step_by(17)
                .take(n)
                .map(|r| (source, r)),
        );
    }
    // Unified records reach a client only once their blob is out: take ones that have.
    let delivered = h.unique_record_ids(SimSource::Unified, from - TimeDelta::days(30), to);
    raws.extend(
        g.records_between(SimSource::Unified, from, to)
            .filter(|r| delivered.contains(&aoc_sim::record_id(SimSource::Unified, r).unwrap()))
            .step_by(29)
            .take(3)
            .map(|r| (SimSource::Unified, r)),
    );
    assert_eq!(raws.len(), 8);
    raws.into_iter()
        .enumerate()
        .map(|(n, (source, raw))| document(n, source, raw))
        .collect()
}

#[tokio::test]
async fn a_mongoexport_imports_once_and_a_later_fetch_stores_no_duplicate() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aoc.db");

    let from_tenant = documents_of_the_tenant(&sim);
    let overlap = from_tenant.len() as u64;
    let tenant_export = dir.path().join("events.json");
    // `mongoexport --jsonArray`, relaxed mode.
    std::fs::write(
        &tenant_export,
        Value::Array(from_tenant.clone()).to_string(),
    )
    .unwrap();
    let hand_written = hand_written_export();
    let files = [hand_written.as_path(), tenant_export.as_path()];
    let total = HAND_WRITTEN + overlap;

    let first = import(&db, &files).await;
    assert!(first.contains(&format!("{total} new")), "{first}");
    assert!(first.contains("0 rejected"), "{first}");
    let second = import(&db, &files).await;
    assert!(
        second.contains("0 new") && second.contains(&format!("{total} duplicates")),
        "{second}"
    );

    // The server on the same database, fetching from the simulated tenant.
    let settings = Settings::from_map(&sim_env(&sim, &db)).unwrap();
    let app = TestApp::start_with_settings(dir, settings).await;
    let truth: u64 = truth(&sim).values().sum();
    let report = fetch(&app, "?hours=168").await;
    assert_eq!(
        report["stored"],
        truth - overlap,
        "the imported records are not stored again: {report}"
    );
    assert!(
        report["duplicates"].as_u64().unwrap() >= overlap,
        "{report}"
    );
    assert_eq!(app.ctx.store().count().await.unwrap(), truth + HAND_WRITTEN);

    // The imported events kept their ids, tags and comments through the fetch.
    for doc in &from_tenant {
        let id = doc["id"].as_str().unwrap();
        let (status, event) = app.get_json(&format!("/api/events/{id}")).await;
        assert_eq!(status, 200, "{id}: {event}");
        assert_eq!(event["source"], "import");
        let tags: Vec<&str> = event["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let expected: Vec<&str> = doc
            .get("tags")
            .map(|t| {
                t.as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(tags, expected, "{id}");
        let comments = event["comments"].as_array().unwrap();
        assert_eq!(comments.len(), 2, "{id}: {event}");
        assert_eq!(comments[0]["author"], "Adele Vance");
        assert_eq!(comments[1]["author"], aoc_app::import::UNKNOWN_AUTHOR);
        assert_eq!(comments[0]["created_at"], comments[1]["created_at"]);
        // Renormalized: the event's fields are AOC's, not the original's placeholders.
        assert_ne!(event["operation"], "from the original", "{id}");
    }
}
