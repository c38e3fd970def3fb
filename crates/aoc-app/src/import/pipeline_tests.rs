//! `import_paths` tests: over a small in-memory store (batching, counting, rejects, progress)
//! and over the real SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use aoc_domain::{Comment, Event, EventQuery, FilterOptions, Normalizer, Page, Source};
use aoc_store::{CachedName, EventStore, InsertOutcome, SourceHealth, StoreError, StoreResult};

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Keeps events in memory, deduplicating as the real stores do, and records batch sizes.
#[derive(Default)]
struct MemoryStore {
    events: Mutex<Vec<Event>>,
    batches: Mutex<Vec<usize>>,
    fail: bool,
}

#[async_trait]
impl EventStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
    async fn insert_batch(&self, events: &[Event]) -> StoreResult<InsertOutcome> {
        if self.fail {
            return Err(StoreError::Corrupt("disk full".into()));
        }
        self.batches.lock().unwrap().push(events.len());
        let mut stored = self.events.lock().unwrap();
        let mut seen: HashSet<String> = stored
            .iter()
            .flat_map(|e| [e.id.clone(), e.dedupe_key.clone()])
            .collect();
        let mut outcome = InsertOutcome::default();
        for event in events {
            if seen.contains(&event.id) || seen.contains(&event.dedupe_key) {
                outcome.duplicates += 1;
            } else {
                seen.insert(event.id.clone());
                seen.insert(event.dedupe_key.clone());
                stored.push(event.clone());
                outcome.new += 1;
            }
        }
        Ok(outcome)
    }
    async fn update_events(&self, _: &[Event]) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn get(&self, _: &str) -> StoreResult<Option<Event>> {
        unimplemented!()
    }
    async fn search(&self, _: &EventQuery) -> StoreResult<Page> {
        unimplemented!()
    }
    async fn filter_options(&self, _: &EventQuery, _: u32) -> StoreResult<FilterOptions> {
        unimplemented!()
    }
    async fn set_tags(&self, _: &str, _: &[String]) -> StoreResult<Option<Event>> {
        unimplemented!()
    }
    async fn add_comment(&self, _: &str, _: &Comment) -> StoreResult<Option<Event>> {
        unimplemented!()
    }
    async fn scan(&self, _: Option<&(DateTime<Utc>, String)>, _: u32) -> StoreResult<Vec<Event>> {
        unimplemented!()
    }
    async fn count(&self) -> StoreResult<u64> {
        Ok(self.events.lock().unwrap().len() as u64)
    }
    async fn count_matching(&self, _: &EventQuery) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn histogram(&self, _: &EventQuery, _: i64) -> StoreResult<Vec<(DateTime<Utc>, u64)>> {
        unimplemented!()
    }
    async fn delete_ids(&self, _: &[String]) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn delete_before(&self, _: DateTime<Utc>) -> StoreResult<u64> {
        unimplemented!()
    }
    async fn get_watermark(&self, _: &str) -> StoreResult<Option<DateTime<Utc>>> {
        unimplemented!()
    }
    async fn set_watermark(&self, _: &str, _: DateTime<Utc>) -> StoreResult<()> {
        unimplemented!()
    }
    async fn source_health(&self) -> StoreResult<Vec<SourceHealth>> {
        unimplemented!()
    }
    async fn put_source_health(&self, _: &SourceHealth) -> StoreResult<()> {
        unimplemented!()
    }
    async fn cached_names(&self, _: &[String], _: DateTime<Utc>) -> StoreResult<Vec<CachedName>> {
        unimplemented!()
    }
    async fn put_cached_names(&self, _: &[CachedName]) -> StoreResult<()> {
        unimplemented!()
    }
}

/// Remembers what the importer reported.
#[derive(Default)]
struct Recorder {
    started: Mutex<Vec<(PathBuf, FileFormat)>>,
    last: Mutex<ImportCounts>,
    updates: Mutex<u64>,
    rejects: Mutex<Vec<String>>,
}

impl ImportProgress for Recorder {
    fn file_started(&self, file: &Path, format: FileFormat) {
        self.started
            .lock()
            .unwrap()
            .push((file.to_path_buf(), format));
    }
    fn update(&self, counts: &ImportCounts) {
        *self.last.lock().unwrap() = *counts;
        *self.updates.lock().unwrap() += 1;
    }
    fn rejected(&self, reject: &Reject) {
        self.rejects.lock().unwrap().push(reject.to_string());
    }
}

fn normalizer() -> Arc<Normalizer> {
    Arc::new(Normalizer::default())
}

/// A JSON lines file of `n` distinct unified audit records.
fn unified_lines(dir: &Path, name: &str, n: usize) -> PathBuf {
    let mut text = String::new();
    for i in 0..n {
        writeln!(
            text,
            r#"{{"CreationTime":"2024-03-05T14:{:02}:{:02}","Id":"00000000-0000-4000-8000-{i:012}","Operation":"FileAccessed","RecordType":6,"Workload":"SharePoint","UserId":"user{i}@contoso.com","ObjectId":"https://contoso.sharepoint.com/f{i}.docx"}}"#,
            (i / 60) % 60,
            i % 60
        )
        .unwrap();
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_import_future_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::default());
    let future = import_paths(store, normalizer(), &[], &NoProgress);
    assert_send(&future);
}

#[tokio::test]
async fn imports_every_format_counts_and_reports_rejects() {
    let store = Arc::new(MemoryStore::default());
    let progress = Recorder::default();
    let paths = [
        fixture("mixed-array.json"),
        fixture("records-with-bad-line.jsonl"),
        fixture("purview-classic.csv"),
        fixture("purview-current.csv"),
        fixture("graph-directory-audits.json"),
    ];
    let report = import_paths(store.clone(), normalizer(), &paths, &progress)
        .await
        .unwrap();

    // 3 + 5 + 3 + 3 + 3 records; the bad JSON line and the cut AuditData are rejected.
    assert_eq!(report.files, 5);
    assert_eq!(report.records, 17);
    assert_eq!(report.rejected, 2);
    // Several fixtures share records (the same Set-Mailbox, file deletion, ...).
    assert_eq!(report.new + report.duplicates, 15);
    assert_eq!(report.new, store.count().await.unwrap());
    assert!(report.duplicates > 0);
    assert!(
        store
            .events
            .lock()
            .unwrap()
            .iter()
            .all(|e| e.source == Source::Import)
    );

    let rejects: Vec<String> = report.rejects.iter().map(ToString::to_string).collect();
    assert_eq!(rejects.len(), 2);
    assert!(
        rejects[0].contains("records-with-bad-line.jsonl: line 4: invalid JSON"),
        "{rejects:?}"
    );
    assert!(
        rejects[1].contains("purview-current.csv: row 2 (line 3): AuditData: invalid JSON"),
        "{rejects:?}"
    );
    assert_eq!(*progress.rejects.lock().unwrap(), rejects);

    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("graph-directory-audits.json")
            && report.warnings[0].contains("nextLink")
    );

    let started = progress.started.lock().unwrap().clone();
    assert_eq!(started.len(), 5);
    assert_eq!(
        started[2],
        (paths[2].clone(), FileFormat::PurviewCsv(CsvLayout::Classic))
    );
    let last = *progress.last.lock().unwrap();
    let total: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(
        last,
        ImportCounts {
            files_done: 5,
            files_total: 5,
            records: 17,
            bytes_read: total,
            total_bytes: total,
            new: report.new,
            duplicates: report.duplicates,
            rejected: 2,
        }
    );

    // Importing again stores nothing new.
    let again = import_paths(store.clone(), normalizer(), &paths, &NoProgress)
        .await
        .unwrap();
    assert_eq!((again.new, again.duplicates, again.rejected), (0, 15, 2));
}

#[tokio::test]
async fn records_of_unknown_shape_are_rejected_with_their_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.json");
    std::fs::write(
        &path,
        br#"[{"hello":"world"}, 42, {"CreationTime":"not a time","Operation":"x","Workload":"Exchange"}]"#,
    )
    .unwrap();
    let store = Arc::new(MemoryStore::default());
    let report = import_paths(store.clone(), normalizer(), &[path], &NoProgress)
        .await
        .unwrap();
    assert_eq!((report.records, report.new, report.rejected), (3, 0, 3));
    let reasons: Vec<String> = report
        .rejects
        .iter()
        .map(|r| format!("{}: {}", r.location, r.reason))
        .collect();
    assert!(
        reasons[0].starts_with("element 1 (line 1): not an audit record AOC knows"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[1],
        "element 2 (line 1): not a record: a JSON object was expected, found a number"
    );
    assert!(
        reasons[2].starts_with("element 3 (line 1): unified audit log record: invalid timestamp"),
        "{reasons:?}"
    );
    assert!(
        store.batches.lock().unwrap().is_empty(),
        "nothing to store, no empty batches"
    );
}

#[tokio::test]
async fn events_are_stored_in_batches_of_a_thousand_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = unified_lines(dir.path(), "a.jsonl", 1500);
    let b = unified_lines(dir.path(), "b.jsonl", 1000); // the first 1000 of a again
    let store = Arc::new(MemoryStore::default());
    let report = import_paths(store.clone(), normalizer(), &[a, b], &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        (report.records, report.new, report.duplicates),
        (2500, 1500, 1000)
    );
    assert_eq!(*store.batches.lock().unwrap(), [1000, 1000, 500]);
}

#[tokio::test]
async fn reject_details_are_capped_but_all_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, "{not json}\n".repeat(MAX_REJECT_DETAILS + 5)).unwrap();
    let progress = Recorder::default();
    let report = import_paths(
        Arc::new(MemoryStore::default()),
        normalizer(),
        &[path],
        &progress,
    )
    .await
    .unwrap();
    assert_eq!(report.rejected, MAX_REJECT_DETAILS as u64 + 5);
    assert_eq!(report.rejects.len(), MAX_REJECT_DETAILS);
    assert_eq!(
        progress.rejects.lock().unwrap().len(),
        MAX_REJECT_DETAILS + 5
    );
    assert_eq!(
        report.rejects.last().unwrap().location,
        Location::Line {
            line: MAX_REJECT_DETAILS as u64
        }
    );
}

#[tokio::test]
async fn every_file_is_checked_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let good = unified_lines(dir.path(), "good.jsonl", 3);
    let unknown = dir.path().join("notes.txt");
    std::fs::write(&unknown, "just some notes\n").unwrap();
    let store = Arc::new(MemoryStore::default());

    let missing = dir.path().join("missing.json");
    let err = import_paths(
        store.clone(),
        normalizer(),
        &[good.clone(), missing],
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ImportError::Io { .. }) && err.to_string().contains("missing.json"),
        "{err}"
    );

    let err = import_paths(store.clone(), normalizer(), &[good, unknown], &NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImportError::UnknownFormat { .. }) && err.to_string().contains("notes.txt"),
        "{err}"
    );
    assert!(store.batches.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_store_failure_ends_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let path = unified_lines(dir.path(), "a.jsonl", 3000);
    let store = Arc::new(MemoryStore {
        fail: true,
        ..MemoryStore::default()
    });
    let err = import_paths(store, normalizer(), &[path], &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::Store(_)), "{err}");
}

#[tokio::test]
async fn imports_into_sqlite_and_dedupes_on_the_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = aoc_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let paths = [
        fixture("records-with-bad-line.jsonl"),
        fixture("purview-classic.csv"),
    ];
    let first = import_paths(store.clone(), normalizer(), &paths, &NoProgress)
        .await
        .unwrap();
    assert_eq!((first.records, first.rejected), (8, 1));
    assert_eq!(first.new + first.duplicates, 7);
    assert_eq!(store.count().await.unwrap(), first.new);
    let event = store
        .get(&store.scan(None, 1).await.unwrap()[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.source, Source::Import);

    let second = import_paths(store.clone(), normalizer(), &paths, &NoProgress)
        .await
        .unwrap();
    assert_eq!((second.new, second.duplicates, second.rejected), (0, 7, 1));
    assert_eq!(store.count().await.unwrap(), first.new);
}

/// The original service's documents: JSON lines in canonical Extended JSON, and the same five
/// documents as a `--jsonArray` in relaxed Extended JSON.
const MONGO_LINES: &str = "mongoexport-events.jsonl";
const MONGO_ARRAY: &str = "mongoexport-events-array.json";

fn by_id(events: &[Event]) -> std::collections::BTreeMap<String, Event> {
    events.iter().map(|e| (e.id.clone(), e.clone())).collect()
}

#[tokio::test]
async fn mongoexport_documents_keep_their_ids_tags_and_comments() {
    let store = Arc::new(MemoryStore::default());
    let progress = Recorder::default();
    let report = import_paths(
        store.clone(),
        normalizer(),
        &[fixture(MONGO_LINES)],
        &progress,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.records,
            report.new,
            report.duplicates,
            report.rejected
        ),
        (5, 5, 0, 0),
        "{:?}",
        report.rejects
    );
    assert_eq!(progress.started.lock().unwrap()[0].1, FileFormat::JsonLines);

    let events = by_id(&store.events.lock().unwrap());
    let tags = |id: &str| events[id].tags.clone();
    let comments = |id: &str| -> Vec<(String, String, String)> {
        events[id]
            .comments
            .iter()
            .map(|c| (c.author.clone(), c.text.clone(), c.created_at.to_rfc3339()))
            .collect()
    };
    let c = |a: &str, t: &str, at: &str| (a.to_string(), t.to_string(), at.to_string());

    // Every document's tags, exactly; missing, null and empty lists are no tags.
    assert_eq!(tags("Directory_mongo-fixture-0001"), ["investigating"]);
    assert_eq!(
        tags("6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f"),
        ["reviewed", "false_positive"]
    );
    for id in [
        "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b",
        "8f9a0b1c-2d3e-4f4a-9b5c-6d7e8f9a0b1c",
    ] {
        assert!(tags(id).is_empty(), "{id}");
    }

    // Every comment, with and without author, its time from $date (either form), a plain
    // string, `timestamp`, or the event's own time.
    assert_eq!(
        comments("Directory_mongo-fixture-0001"),
        [
            c(
                "Adele Vance",
                "Was this hire approved?",
                "2026-01-02T09:00:00+00:00"
            ),
            c(
                UNKNOWN_AUTHOR,
                "Approved by HR ticket 4711",
                "2026-01-02T10:30:00+00:00"
            ),
        ]
    );
    assert_eq!(
        comments("6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f"),
        [c(
            "Megan Bowen",
            "Lost laptop, wipe requested by the owner",
            "2026-01-06T15:00:00+00:00"
        )]
    );
    assert_eq!(
        comments("7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"),
        [c(
            UNKNOWN_AUTHOR,
            "Forwarding to a private address: follow up",
            "2026-01-07T09:10:11+00:00"
        )]
    );
    assert_eq!(
        comments("8f9a0b1c-2d3e-4f4a-9b5c-6d7e8f9a0b1c"),
        [
            c(
                "José Müller",
                "Restored from the recycle bin",
                "2026-01-09T08:00:00+00:00"
            ),
            c(
                UNKNOWN_AUTHOR,
                "Second opinion: expected clean-up",
                "2026-01-09T09:30:00.250+00:00"
            ),
        ]
    );

    // The raw record was normalized again: fields and dedupe keys are AOC's. The record
    // without a Microsoft id (whose original key was the old service's own) gets AOC's hash
    // key and id.
    let unkeyed: Vec<&Event> = events
        .values()
        .filter(|e| e.raw.get("id").is_none() && e.raw.get("Id").is_none())
        .collect();
    assert_eq!(unkeyed.len(), 1);
    assert!(unkeyed[0].dedupe_key.starts_with("dir:h:"));
    assert_eq!(unkeyed[0].id, unkeyed[0].dedupe_key);
    for event in events.values() {
        assert_eq!(event.source, Source::Import);
        let kind = aoc_domain::RecordKind::detect(&event.raw).unwrap();
        let fresh = Normalizer::default()
            .normalize(
                kind,
                Source::Import,
                event.raw.clone(),
                &aoc_domain::NoResolver,
            )
            .unwrap();
        assert_eq!(event.dedupe_key, fresh.dedupe_key, "{}", event.id);
        assert_eq!(
            (&event.operation, &event.display_summary),
            (&fresh.operation, &fresh.display_summary)
        );
    }
    // Canonical numbers inside the raw record are plain JSON numbers again.
    let sharepoint = &events["8f9a0b1c-2d3e-4f4a-9b5c-6d7e8f9a0b1c"].raw;
    assert_eq!(sharepoint["RecordType"], 6);
    assert_eq!(sharepoint["FileSizeBytes"], 9_007_199_254_740_993_i64);

    // A second import, in either export mode, adds nothing.
    let again = import_paths(
        store.clone(),
        normalizer(),
        &[fixture(MONGO_LINES), fixture(MONGO_ARRAY)],
        &progress,
    )
    .await
    .unwrap();
    assert_eq!(
        (again.records, again.new, again.duplicates, again.rejected),
        (10, 0, 10, 0)
    );
    assert_eq!(
        progress.started.lock().unwrap()[2].1,
        FileFormat::JsonArray,
        "a --jsonArray export"
    );
}

#[tokio::test]
async fn canonical_and_relaxed_exports_give_the_same_events() {
    let mut imported = Vec::new();
    for name in [MONGO_LINES, MONGO_ARRAY] {
        let store = Arc::new(MemoryStore::default());
        let report = import_paths(store.clone(), normalizer(), &[fixture(name)], &NoProgress)
            .await
            .unwrap();
        assert_eq!((report.new, report.rejected), (5, 0), "{name}");
        imported.push(by_id(&store.events.lock().unwrap()));
    }
    assert_eq!(imported[0], imported[1]);
}

#[tokio::test]
async fn mongoexport_tags_and_comments_survive_sqlite_and_a_second_import() {
    let dir = tempfile::tempdir().unwrap();
    let store = aoc_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let memory = Arc::new(MemoryStore::default());
    import_paths(
        memory.clone(),
        normalizer(),
        &[fixture(MONGO_LINES)],
        &NoProgress,
    )
    .await
    .unwrap();
    let first = import_paths(
        store.clone(),
        normalizer(),
        &[fixture(MONGO_LINES)],
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((first.new, first.rejected), (5, 0));
    let expected_events = memory.events.lock().unwrap().clone();
    for expected in &expected_events {
        let stored = store.get(&expected.id).await.unwrap().unwrap();
        assert_eq!(stored.tags, expected.tags, "{}", expected.id);
        assert_eq!(stored.comments, expected.comments, "{}", expected.id);
        assert_eq!(stored.dedupe_key, expected.dedupe_key);
    }
    let second = import_paths(
        store.clone(),
        normalizer(),
        &[fixture(MONGO_ARRAY)],
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((second.new, second.duplicates), (0, 5));
    assert_eq!(store.count().await.unwrap(), 5);
}
