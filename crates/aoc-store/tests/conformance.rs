//! The store conformance suite: every check runs against SQLite (a temporary file) and, when
//! `AOC_TEST_POSTGRES_URL` is set, against PostgreSQL (a fresh schema per check, dropped
//! afterwards). Each check gets an empty store of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aoc_domain::{Comment, Cursor, Event, EventQuery, FilterOptions, Source};
use aoc_store::{CachedName, EventStore, InFlight, InsertOutcome, SourceHealth, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

#[path = "conformance/activity.rs"]
mod activity;
use activity::*;
#[path = "conformance/alerting.rs"]
mod alerting;
use alerting::*;
#[path = "conformance/jobs.rs"]
mod jobs;
use jobs::*;
#[path = "conformance/sequence.rs"]
mod sequence;
use sequence::*;
#[path = "conformance/summary.rs"]
mod summary;
use summary::*;

// ---------------------------------------------------------------------------------------------
// Harness

type Store = Arc<dyn EventStore>;
type CheckFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Check = (&'static str, fn(Store) -> CheckFuture);

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), |s: Store| -> CheckFuture { Box::pin($name(s)) })),*]
    };
}

const CHECKS: &[Check] = checks![
    backend_answers_ping,
    insert_counts_new_and_duplicates,
    duplicates_within_one_batch,
    overlapping_batches_in_flight_store_each_event_once,
    get_round_trips_every_field,
    each_exact_filter_alone,
    exact_filters_combined,
    result_filter_reads_outcomes_in_any_case,
    time_range_is_inclusive,
    text_matches_actor_case_insensitively,
    text_matches_target_operation_and_summary,
    text_matches_values_deep_in_raw,
    short_text_queries_fall_back,
    hostile_text_never_errors,
    text_combines_with_filters_and_pages,
    common_text_pages_newest_first,
    summaries_match_full_pages,
    pagination_walks_ties_without_gaps,
    page_exactly_full_has_no_cursor,
    cursor_beyond_either_end,
    hidden_services_and_operations,
    hidden_names_ignore_ascii_case,
    hidden_names_still_match_exactly,
    filter_options_sorted_distinct_limited,
    tags_replace,
    comments_append_in_order,
    tags_and_comments_on_unknown_id,
    update_keeps_tags_comments_and_reindexes,
    update_skips_taken_dedupe_key,
    delete_ids_keeps_search_consistent,
    optimize_keeps_search_working,
    delete_before_cutoff,
    scan_ascends_after_key,
    count_matching_applies_filters,
    histogram_buckets_align_to_epoch,
    watermarks_round_trip,
    source_health_round_trips,
    name_cache_expires,
    activity_appends_and_lists_newest_first,
    activity_pages_by_id_cursor,
    activity_keeps_odd_text,
    sequence_delivers_each_event_once_in_order,
    sequence_returns_whole_events,
    sequence_keeps_up_with_concurrent_writers,
    events_behind_counts_and_caps,
    consumer_cursors_only_move_forward,
    rules_put_get_list_replace_delete,
    rule_insert_if_absent_never_overwrites,
    rule_matches_count_windows_per_group,
    raise_alert_is_idempotent,
    raise_alerts_batch_answers_in_order,
    set_tags_many_replaces_each_events_tags,
    sequence_from_memory_matches_the_database,
    concurrent_raises_create_one_alert,
    list_alerts_filters_alone_and_pages,
    list_alerts_by_creation_time,
    update_alert_records_who_and_why,
    alert_counts_group_by_rule_severity_status,
    saved_searches_visible_to_owner_and_shared,
    outbox_dedupes_and_retries_when_due,
    outbox_status_per_channel,
    jobs_queue_claim_progress_and_finish,
    jobs_claim_oldest_first_each_once,
    jobs_cancel_queued_at_once_running_by_flag,
    jobs_list_newest_first_with_filters_and_cursor,
    jobs_stale_running_become_interrupted,
];

/// Run every check on fresh stores from `make`, each in its own task so one failure does not
/// hide the others.
async fn run_checks<F, Fut>(backend: &str, make: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = (Store, Box<dyn FnOnce() -> CheckFuture + Send>)>,
{
    let mut failed = Vec::new();
    for (name, check) in CHECKS {
        let (store, cleanup) = make(name).await;
        assert_eq!(store.backend(), backend);
        let outcome = tokio::spawn(check(store)).await;
        cleanup().await;
        if let Err(e) = outcome {
            eprintln!("conformance: {backend}: {name} FAILED: {e}");
            failed.push(*name);
        }
    }
    eprintln!(
        "conformance: {backend} ran {} checks, {} failed",
        CHECKS.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "{backend} failed: {failed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_conformance() {
    run_checks("sqlite", |_name| async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("aoc.db").display());
        let store = aoc_store::open(&url).await.unwrap();
        let cleanup: Box<dyn FnOnce() -> CheckFuture + Send> =
            Box::new(move || Box::pin(async move { drop(dir) }));
        (store, cleanup)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conformance() {
    let Ok(base) = std::env::var("AOC_TEST_POSTGRES_URL") else {
        // In CI a skipped backend would pass unseen: there, a missing URL is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but AOC_TEST_POSTGRES_URL is not: the PostgreSQL conformance run would be skipped"
        );
        eprintln!("conformance: postgres skipped (AOC_TEST_POSTGRES_URL not set)");
        return;
    };
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    // The extension lives in `public` so every test schema can use it; two runs racing to
    // create it is harmless (one of them fails, the extension exists either way).
    let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        .execute(&admin)
        .await;
    static RUN: AtomicU64 = AtomicU64::new(0);
    let run_id = format!(
        "{}_{}",
        std::process::id(),
        Utc::now().timestamp_micros() % 1_000_000_000
    );
    run_checks("postgres", |name| {
        let admin = admin.clone();
        let base = base.clone();
        let schema = format!(
            "aoc_test_{run_id}_{}_{}",
            RUN.fetch_add(1, Ordering::Relaxed),
            &name[..name.len().min(20)]
        );
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
                .execute(&admin)
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}%2Cpublic");
            let store = aoc_store::open(&url).await.unwrap();
            let cleanup: Box<dyn FnOnce() -> CheckFuture + Send> = Box::new(move || {
                Box::pin(async move {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA \"{schema}\" CASCADE"
                    )))
                    .execute(&admin)
                    .await
                    .unwrap();
                })
            });
            (store, cleanup)
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_urls_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("nested/dir/aoc.db");
    let store = aoc_store::open(nested.to_str().unwrap()).await.unwrap();
    store.insert_batch(&[event("a", 0)]).await.unwrap();
    drop(store);
    // Reopening runs migrations again (a no-op) and keeps the data.
    for url in [
        format!("sqlite://{}", nested.display()),
        format!("sqlite:{}", nested.display()),
    ] {
        let store = aoc_store::open(&url).await.unwrap();
        assert_eq!(store.count().await.unwrap(), 1, "{url}");
    }
    for bad in ["sqlite::memory:", "mysql://u:p@h/db", ""] {
        assert!(
            matches!(
                aoc_store::open(bad).await,
                Err(StoreError::UnsupportedUrl(_))
            ),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::seconds(secs)
}

fn event(id: &str, secs: i64) -> Event {
    Event {
        id: id.to_string(),
        source: Source::Unified,
        timestamp: t(secs),
        service: "Exchange".into(),
        operation: "Set-Mailbox".into(),
        result: "success".into(),
        result_detail: "Succeeded".into(),
        actor_display: "admin@contoso.com".into(),
        actor: json!({"UserId": "admin@contoso.com"}),
        target_displays: vec![format!("mailbox {id}")],
        targets: vec![json!({"ID": format!("mailbox {id}")})],
        display_summary: format!("admin@contoso.com changed mailbox {id}"),
        dedupe_key: format!("key-{id}"),
        raw: json!({"Id": id, "Workload": "Exchange"}),
        tags: Vec::new(),
        comments: Vec::new(),
    }
}

fn q() -> EventQuery {
    EventQuery {
        page_size: 500,
        ..Default::default()
    }
}

fn text(s: &str) -> EventQuery {
    EventQuery {
        search: Some(s.to_string()),
        ..q()
    }
}

async fn ids(store: &Store, query: &EventQuery) -> Vec<String> {
    let page = store.search(query).await.unwrap();
    page.items.into_iter().map(|e| e.id).collect()
}

async fn sorted_ids(store: &Store, query: &EventQuery) -> Vec<String> {
    let mut v = ids(store, query).await;
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn insert(store: &Store, events: &[Event]) -> InsertOutcome {
    store.insert_batch(events).await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// Checks

async fn backend_answers_ping(store: Store) {
    store.ping().await.unwrap();
    assert_eq!(store.count().await.unwrap(), 0);
    let page = store.search(&q()).await.unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor, None);
    assert_eq!(insert(&store, &[]).await, InsertOutcome::default());
}

/// Batches in flight together that re-deliver each other's events, in opposite orders (which
/// can make two PostgreSQL transactions wait on each other): every event is stored once and
/// the outcomes add up.
async fn overlapping_batches_in_flight_store_each_event_once(store: Store) {
    const BATCHES: i64 = 12;
    const FRESH: i64 = 40;
    let mut writes = InFlight::new(store.clone(), 4);
    let mut early = InsertOutcome::default();
    for b in 0..BATCHES {
        let mut batch: Vec<Event> = (0..FRESH)
            .map(|i| event(&format!("e{}", b * FRESH + i), b * FRESH + i))
            .collect();
        if b > 0 {
            // The previous batch's events again, newest first.
            batch.extend(
                ((b - 1) * FRESH..b * FRESH)
                    .rev()
                    .map(|i| event(&format!("e{i}"), i)),
            );
        }
        if let Some(o) = writes.submit(batch).await.unwrap() {
            early.new += o.new;
            early.duplicates += o.duplicates;
        }
    }
    let rest = writes.finish().await.unwrap();
    let unique = u64::try_from(BATCHES * FRESH).unwrap();
    assert_eq!(early.new + rest.new, unique);
    assert_eq!(
        early.duplicates + rest.duplicates,
        u64::try_from((BATCHES - 1) * FRESH).unwrap()
    );
    assert_eq!(store.count().await.unwrap(), unique);
    assert_eq!(ids(&store, &text("e0")).await, strs(&["e0"]));
}

async fn insert_counts_new_and_duplicates(store: Store) {
    let batch = [event("a", 1), event("b", 2), event("c", 3)];
    assert_eq!(
        insert(&store, &batch).await,
        InsertOutcome {
            new: 3,
            duplicates: 0
        }
    );
    assert_eq!(
        insert(&store, &batch).await,
        InsertOutcome {
            new: 0,
            duplicates: 3
        }
    );

    // Same dedupe key under a new id: a duplicate.
    let mut same_key = event("a2", 4);
    same_key.dedupe_key = "key-a".into();
    // Same id under a new dedupe key: a duplicate too.
    let mut same_id = event("b", 5);
    same_id.dedupe_key = "key-b-other".into();
    let outcome = insert(&store, &[same_key, same_id, event("d", 6)]).await;
    assert_eq!(
        outcome,
        InsertOutcome {
            new: 1,
            duplicates: 2
        }
    );
    assert_eq!(store.count().await.unwrap(), 4);
    assert!(store.get("a2").await.unwrap().is_none());
    assert_eq!(store.get("b").await.unwrap().unwrap().dedupe_key, "key-b");

    // A large batch spans several statements and stays one transaction.
    let many: Vec<Event> = (0..1500)
        .map(|i| event(&format!("m{i:05}"), 100 + i))
        .collect();
    assert_eq!(
        insert(&store, &many).await,
        InsertOutcome {
            new: 1500,
            duplicates: 0
        }
    );
    assert_eq!(store.count().await.unwrap(), 1504);
}

async fn duplicates_within_one_batch(store: Store) {
    let first = event("x", 1);
    let mut same_key = event("y", 2);
    same_key.dedupe_key = first.dedupe_key.clone();
    let mut same_id = event("x", 3);
    same_id.dedupe_key = "key-other".into();
    let exact_copy = first.clone();
    let outcome = insert(&store, &[first.clone(), same_key, same_id, exact_copy]).await;
    assert_eq!(
        outcome,
        InsertOutcome {
            new: 1,
            duplicates: 3
        }
    );
    assert_eq!(store.get("x").await.unwrap().unwrap(), first);
    assert!(store.get("y").await.unwrap().is_none());
}

async fn get_round_trips_every_field(store: Store) {
    let mut e = event("full", 0);
    e.source = Source::Directory;
    e.timestamp = t(0) + Duration::microseconds(123_456);
    e.actor_display = "Örjan Ström 🚀".into();
    e.actor = json!({"user": {"id": "u-1", "userPrincipalName": "orjan@contoso.com"}, "app": null});
    e.target_displays = vec!["Tärget \"One\"".into(), "two".into()];
    e.targets = vec![json!({"id": 1, "type": "User"}), json!("plain")];
    e.display_summary = "Summary with 'quotes' and \\ backslash".into();
    e.raw =
        json!({"nested": {"list": [1, 2.5, true, null, "x"]}, "big": 9_007_199_254_740_993_u64});
    e.tags = vec!["b".into(), "a".into()];
    e.comments = vec![Comment {
        author: "ana".into(),
        text: "first".into(),
        created_at: t(10),
    }];
    insert(&store, std::slice::from_ref(&e)).await;
    assert_eq!(store.get("full").await.unwrap(), Some(e.clone()));
    assert_eq!(store.get("missing").await.unwrap(), None);
    let page = store.search(&q()).await.unwrap();
    assert_eq!(page.items, vec![e]);
}

/// Eight events over two values of each exact field.
fn matrix() -> Vec<Event> {
    (0..8)
        .map(|i| {
            let mut e = event(&format!("e{i}"), i64::from(i));
            e.service = if i & 1 == 0 { "Exchange" } else { "SharePoint" }.into();
            e.actor_display = if i & 2 == 0 {
                "alice@contoso.com"
            } else {
                "bob@contoso.com"
            }
            .into();
            e.operation = if i & 4 == 0 {
                "FileAccessed"
            } else {
                "Set-Mailbox"
            }
            .into();
            (e.result, e.result_detail) = if i % 3 == 0 {
                ("failure".into(), "Failed".into())
            } else {
                ("success".into(), "Succeeded".into())
            };
            e
        })
        .collect()
}

async fn each_exact_filter_alone(store: Store) {
    insert(&store, &matrix()).await;
    let cases: [(EventQuery, &[&str]); 6] = [
        (
            EventQuery {
                service: Some("SharePoint".into()),
                ..q()
            },
            &["e1", "e3", "e5", "e7"],
        ),
        (
            EventQuery {
                actor: Some("bob@contoso.com".into()),
                ..q()
            },
            &["e2", "e3", "e6", "e7"],
        ),
        (
            EventQuery {
                operation: Some("Set-Mailbox".into()),
                ..q()
            },
            &["e4", "e5", "e6", "e7"],
        ),
        (
            EventQuery {
                result: Some("Failed".into()),
                ..q()
            },
            &["e0", "e3", "e6"],
        ),
        // Exact means exact: no case folding, no substring.
        (
            EventQuery {
                service: Some("exchange".into()),
                ..q()
            },
            &[],
        ),
        (
            EventQuery {
                actor: Some("bob".into()),
                ..q()
            },
            &[],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            sorted_ids(&store, &query).await,
            strs(expected),
            "{query:?}"
        );
    }
}

async fn result_filter_reads_outcomes_in_any_case(store: Store) {
    let mut events = Vec::new();
    for (i, (result, detail)) in [
        ("success", "True"),
        ("failure", "False"),
        ("failure", "timeout"),
        ("partial", "PartiallySucceeded"),
        ("unknown", ""),
        // Written by something that did not normalize: the dropdown still lists outcomes.
        ("Weird", "Weird"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = event(&format!("r{i}"), i as i64);
        e.result = result.into();
        e.result_detail = detail.into();
        events.push(e);
    }
    insert(&store, &events).await;
    let by = |result: &str| EventQuery {
        result: Some(result.into()),
        ..q()
    };
    for (written, expected) in [
        ("failure", &["r1", "r2"][..]),
        ("FAILURE", &["r1", "r2"]),
        ("Failed", &["r1", "r2"]),
        ("False", &["r1", "r2"]),
        ("Success", &["r0"]),
        ("partial", &["r3"]),
        ("Unknown", &["r4"]),
        ("bogus", &[]),
        ("weird", &[]),
    ] {
        assert_eq!(
            sorted_ids(&store, &by(written)).await,
            strs(expected),
            "{written}"
        );
        assert_eq!(
            store.count_matching(&by(written)).await.unwrap(),
            expected.len() as u64,
            "{written}"
        );
    }
    assert_eq!(
        store.filter_options(&q(), 100).await.unwrap().results,
        strs(&["failure", "partial", "success", "unknown"])
    );
    let stored = store.get("r2").await.unwrap().unwrap();
    assert_eq!(
        (stored.result.as_str(), stored.result_detail.as_str()),
        ("failure", "timeout")
    );
}

async fn exact_filters_combined(store: Store) {
    insert(&store, &matrix()).await;
    let query = EventQuery {
        service: Some("SharePoint".into()),
        actor: Some("bob@contoso.com".into()),
        ..q()
    };
    assert_eq!(sorted_ids(&store, &query).await, strs(&["e3", "e7"]));
    let query = EventQuery {
        operation: Some("Set-Mailbox".into()),
        result: Some("Failed".into()),
        ..query
    };
    assert_eq!(sorted_ids(&store, &query).await, Vec::<String>::new());
    let query = EventQuery {
        service: Some("Exchange".into()),
        operation: Some("Set-Mailbox".into()),
        result: Some("Failed".into()),
        start: Some(t(1)),
        end: Some(t(6)),
        ..q()
    };
    assert_eq!(sorted_ids(&store, &query).await, strs(&["e6"]));
}

async fn time_range_is_inclusive(store: Store) {
    let mut events: Vec<Event> = (0..5).map(|i| event(&format!("t{i}"), i * 60)).collect();
    let mut micro = event("micro", 120);
    micro.timestamp += Duration::microseconds(1);
    events.push(micro);
    insert(&store, &events).await;
    let range = |start: Option<i64>, end: Option<i64>| EventQuery {
        start: start.map(t),
        end: end.map(t),
        ..q()
    };
    assert_eq!(
        ids(&store, &range(Some(60), Some(180))).await,
        strs(&["t3", "micro", "t2", "t1"])
    );
    assert_eq!(
        ids(&store, &range(Some(120), Some(120))).await,
        strs(&["t2"])
    );
    assert_eq!(ids(&store, &range(None, Some(0))).await, strs(&["t0"]));
    assert_eq!(ids(&store, &range(Some(240), None)).await, strs(&["t4"]));
    assert!(ids(&store, &range(Some(180), Some(60))).await.is_empty());
}

/// Events whose free-text fields are distinct, with the raw record carrying hidden values.
fn text_fixture() -> Vec<Event> {
    let mut a = event("actor", 1);
    a.actor_display = "Örjan Ström".into();
    a.display_summary = "a plain summary".into();
    a.target_displays = vec![];
    let mut b = event("target", 2);
    b.target_displays = vec!["Finance Team Site".into(), "Ledger.xlsx".into()];
    b.display_summary = "another plain summary".into();
    let mut c = event("operation", 3);
    c.operation = "MailboxLogin".into();
    c.display_summary = "a third plain summary".into();
    let mut d = event("summary", 4);
    d.display_summary = "Quarantined a suspicious attachment".into();
    let mut e = event("raw", 5);
    e.display_summary = "nothing special".into();
    e.raw = json!({
        "Workload": "AzureActiveDirectory",
        "ExtendedProperties": [
            {"Name": "RequestId", "Value": "7f3c2a1e-9b4d-4c8e-a1f2-3d4e5f607182"},
            {"Name": "Client", "Value": {"Address": "203.0.113.77", "Port": 443}},
            {"Name": "On behalf of", "Value": "carol.danvers@fabrikam.example"}
        ]
    });
    vec![a, b, c, d, e]
}

async fn text_matches_actor_case_insensitively(store: Store) {
    insert(&store, &text_fixture()).await;
    for needle in ["Örjan", "örjan", "ÖRJAN STRÖM", "jan str", "ström"] {
        assert_eq!(
            ids(&store, &text(needle)).await,
            strs(&["actor"]),
            "{needle}"
        );
    }
    // Whitespace around the query is not part of it.
    assert_eq!(ids(&store, &text("  rjan ")).await, strs(&["actor"]));
    assert!(ids(&store, &text("Orjan")).await.is_empty());
}

async fn text_matches_target_operation_and_summary(store: Store) {
    insert(&store, &text_fixture()).await;
    let cases: [(&str, &[&str]); 6] = [
        ("finance team", &["target"]),
        ("LEDGER.XL", &["target"]),
        ("mailboxlog", &["operation"]),
        ("suspicious attach", &["summary"]),
        ("quarantined", &["summary"]),
        ("plain summary", &["actor", "operation", "target"]),
    ];
    for (needle, expected) in cases {
        assert_eq!(
            sorted_ids(&store, &text(needle)).await,
            strs(expected),
            "{needle}"
        );
    }
    // A substring must not run across two fields.
    assert!(ids(&store, &text("summary\nfinance")).await.is_empty());
}

async fn text_matches_values_deep_in_raw(store: Store) {
    insert(&store, &text_fixture()).await;
    for needle in [
        "7f3c2a1e-9b4d-4c8e-a1f2-3d4e5f607182",
        "7F3C2A1E-9B4D-4C8E-A1F2-3D4E5F607182",
        "203.0.113.77",
        "carol.danvers@fabrikam.example",
        "Carol.Danvers@Fabrikam.Example.",
        "AzureActiveDirectory",
        "443",
        "behalf of",
        "RequestId 7f3c2a1e-9b4d-4c8e-a1f2-3d4e5f607182",
    ] {
        assert_eq!(ids(&store, &text(needle)).await, strs(&["raw"]), "{needle}");
    }
    // Keys are not values; a word must be whole (a GUID, IP address or UPN is one word);
    // words must be consecutive.
    for needle in [
        "ExtendedProperties",
        "fabrik",
        "fabrikam.example",
        "203.0.113",
        "203.0.113.78",
        "9b4d",
        "behalf on",
    ] {
        assert!(ids(&store, &text(needle)).await.is_empty(), "{needle}");
    }
}

async fn short_text_queries_fall_back(store: Store) {
    let mut a = event("a", 1);
    a.actor_display = "Zq Ω".into();
    let mut b = event("b", 2);
    b.target_displays = vec!["x-ω".into()];
    insert(&store, &[a, b]).await;
    assert_eq!(ids(&store, &text("zq")).await, strs(&["a"]));
    assert_eq!(ids(&store, &text("Q")).await, strs(&["a"]));
    assert_eq!(ids(&store, &text("Ω")).await, strs(&["b", "a"]));
    assert_eq!(ids(&store, &text("-ω")).await, strs(&["b"]));
    assert!(ids(&store, &text("qz")).await.is_empty());
}

async fn hostile_text_never_errors(store: Store) {
    let mut e = event("odd", 1);
    e.display_summary = "O'Brien said \"quoted\" (x) 50% a_b c\\d NEAR(e f) -g * AND".into();
    insert(&store, &[e, event("plain", 2)]).await;
    for needle in [
        "\"",
        "\"\"",
        "'",
        "*",
        "-",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        "NEAR(a b)",
        "a AND b",
        "x OR y",
        "-foo",
        "foo*",
        "^start",
        "col:value",
        "{a b}",
        "a\"b",
        "%",
        "_",
        "\\",
        "'; DROP TABLE events; --",
        "\u{0}",
        "\"unterminated",
        "((((",
        "* OR *",
    ] {
        let query = text(needle);
        store
            .search(&query)
            .await
            .unwrap_or_else(|e| panic!("search {needle:?}: {e}"));
        store
            .count_matching(&query)
            .await
            .unwrap_or_else(|e| panic!("count {needle:?}: {e}"));
    }
    for needle in [
        "\"quoted\"",
        "(x)",
        "50%",
        "O'Brien",
        "a_b",
        "c\\d",
        "NEAR(e f)",
        "-g * AND",
        "\"",
        "'",
        "%",
        "_",
        "\\",
    ] {
        assert_eq!(ids(&store, &text(needle)).await, strs(&["odd"]), "{needle}");
    }
    assert_eq!(store.count().await.unwrap(), 2);
}

async fn text_combines_with_filters_and_pages(store: Store) {
    let events: Vec<Event> = (0..12)
        .map(|i| {
            let mut e = event(&format!("p{i:02}"), i);
            if i % 2 == 0 {
                e.display_summary = format!("needle number {i}");
            }
            if i % 4 == 0 {
                e.service = "Teams".into();
            }
            e
        })
        .collect();
    insert(&store, &events).await;
    let mut query = EventQuery {
        page_size: 2,
        ..text("NEEDLE")
    };
    let mut seen = Vec::new();
    loop {
        let page = store.search(&query).await.unwrap();
        seen.extend(page.items.into_iter().map(|e| e.id));
        match page.next_cursor {
            Some(c) => query.cursor = Some(Cursor::decode(&c).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, strs(&["p10", "p08", "p06", "p04", "p02", "p00"]));
    let query = EventQuery {
        service: Some("Teams".into()),
        ..text("needle")
    };
    assert_eq!(ids(&store, &query).await, strs(&["p08", "p04", "p00"]));
}

/// Text matching thousands of events (a store may plan such queries differently).
async fn common_text_pages_newest_first(store: Store) {
    let events: Vec<Event> = (0..2500)
        .map(|i| {
            let mut e = event(&format!("c{i:04}"), i / 3);
            e.display_summary = format!("Common thing number {i}");
            e.raw = json!({"Marker": "sharedword", "N": i});
            if i % 10 == 0 {
                e.service = "Teams".into();
            }
            e
        })
        .collect();
    for chunk in events.chunks(1000) {
        insert(&store, chunk).await;
    }
    let mut newest_first: Vec<&Event> = events.iter().collect();
    newest_first.sort_by(|a, b| (b.timestamp, &b.id).cmp(&(a.timestamp, &a.id)));
    let expect = |keep: &dyn Fn(&Event) -> bool| -> Vec<String> {
        newest_first
            .iter()
            .filter(|e| keep(e))
            .map(|e| e.id.clone())
            .collect()
    };
    let walk = |query: EventQuery| {
        let store = store.clone();
        async move {
            let mut query = EventQuery {
                page_size: 500,
                ..query
            };
            let mut seen = Vec::new();
            loop {
                let page = store.search(&query).await.unwrap();
                seen.extend(page.items.into_iter().map(|e| e.id));
                match page.next_cursor {
                    Some(c) => query.cursor = Some(Cursor::decode(&c).unwrap()),
                    None => return seen,
                }
            }
        }
    };
    assert_eq!(walk(text("common thing")).await, expect(&|_| true));
    assert_eq!(walk(text("SHAREDWORD")).await, expect(&|_| true));
    let teams = EventQuery {
        service: Some("Teams".into()),
        ..text("common")
    };
    assert_eq!(walk(teams.clone()).await, expect(&|e| e.service == "Teams"));
    assert_eq!(store.count_matching(&teams).await.unwrap(), 250);
    // Common trigrams, rare substring: the candidates must still be confirmed.
    assert_eq!(walk(text("number 1234")).await, strs(&["c1234"]));
    assert_eq!(
        walk(text("thing number 7")).await,
        expect(&|e| e.display_summary.contains("thing number 7"))
    );
}

async fn pagination_walks_ties_without_gaps(store: Store) {
    // 17 events share one timestamp (the id breaks the tie), with others around them.
    let mut events: Vec<Event> = (0..17)
        .map(|i| event(&format!("tie-{i:02}"), 100))
        .collect();
    events.extend((0..6).map(|i| event(&format!("early-{i}"), i)));
    events.extend((0..4).map(|i| event(&format!("late-{i}"), 200 + i)));
    insert(&store, &events).await;
    let mut expected: Vec<(DateTime<Utc>, String)> =
        events.iter().map(|e| (e.timestamp, e.id.clone())).collect();
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    let mut query = EventQuery {
        page_size: 4,
        ..q()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.search(&query).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 4);
        seen.extend(page.items.iter().map(|e| e.id.clone()));
        match page.next_cursor {
            Some(c) => {
                let cursor = Cursor::decode(&c).unwrap();
                let last = page.items.last().unwrap();
                assert_eq!(
                    (cursor.timestamp, cursor.id.as_str()),
                    (last.timestamp, last.id.as_str())
                );
                query.cursor = Some(cursor);
            }
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, 7);
}

async fn page_exactly_full_has_no_cursor(store: Store) {
    let events: Vec<Event> = (0..6).map(|i| event(&format!("f{i}"), i)).collect();
    insert(&store, &events).await;
    let first = store
        .search(&EventQuery {
            page_size: 3,
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    let cursor = Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
    let second = store
        .search(&EventQuery {
            page_size: 3,
            cursor: Some(cursor),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(second.items.len(), 3);
    assert_eq!(second.next_cursor, None);
    let all = store
        .search(&EventQuery {
            page_size: 6,
            ..q()
        })
        .await
        .unwrap();
    assert_eq!((all.items.len(), all.next_cursor), (6, None));
}

async fn cursor_beyond_either_end(store: Store) {
    insert(&store, &[event("a", 10), event("b", 20)]).await;
    let past = EventQuery {
        cursor: Some(Cursor::new(t(-1_000_000), "zzz")),
        ..q()
    };
    let page = store.search(&past).await.unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor, None);
    let future = EventQuery {
        cursor: Some(Cursor::new(t(1_000_000), "")),
        ..q()
    };
    assert_eq!(ids(&store, &future).await, strs(&["b", "a"]));
    // A cursor at an existing key continues strictly after it.
    let at_b = EventQuery {
        cursor: Some(Cursor::new(t(20), "b")),
        ..q()
    };
    assert_eq!(ids(&store, &at_b).await, strs(&["a"]));
    // Same timestamp, id between: only smaller ids follow.
    let between = EventQuery {
        cursor: Some(Cursor::new(t(20), "c")),
        ..q()
    };
    assert_eq!(ids(&store, &between).await, strs(&["b", "a"]));
}

async fn hidden_services_and_operations(store: Store) {
    insert(&store, &matrix()).await;
    let hidden = EventQuery {
        hidden_services: vec!["SharePoint".into(), "Nonexistent".into()],
        hidden_operations: vec!["FileAccessed".into()],
        ..q()
    };
    assert_eq!(sorted_ids(&store, &hidden).await, strs(&["e4", "e6"]));
    assert_eq!(store.count_matching(&hidden).await.unwrap(), 2);
    let buckets = store.histogram(&hidden, 3600).await.unwrap();
    assert_eq!(buckets, vec![(t(0), 2)]);
    let options = store.filter_options(&hidden, 100).await.unwrap();
    assert_eq!(
        options,
        FilterOptions {
            services: strs(&["Exchange"]),
            operations: strs(&["Set-Mailbox"]),
            results: strs(&["failure", "success"]),
            actors: strs(&["alice@contoso.com", "bob@contoso.com"]),
        }
    );
    // An exact filter naming a hidden service still finds nothing.
    let sneaky = EventQuery {
        service: Some("SharePoint".into()),
        ..hidden.clone()
    };
    assert!(ids(&store, &sneaky).await.is_empty());
    // Free text cannot reach hidden events either.
    let mut secret = event("secret", 50);
    secret.service = "SharePoint".into();
    secret.display_summary = "top secret thing".into();
    insert(&store, &[secret]).await;
    let search = EventQuery {
        search: Some("top secret".into()),
        ..hidden
    };
    assert!(ids(&store, &search).await.is_empty());
    assert_eq!(ids(&store, &text("top secret")).await, strs(&["secret"]));
    // get is by id and not gated here.
    assert!(store.get("secret").await.unwrap().is_some());
}

/// The matrix (Exchange / SharePoint, FileAccessed / Set-Mailbox, in the first hour), two
/// Teams events stored in different cases an hour later and one with non-ASCII capitals two
/// hours later.
fn case_matrix() -> Vec<Event> {
    let mut events = matrix();
    for (id, secs, service, operation) in [
        ("m0", 3610, "MicrosoftTeams", "MessageSent"),
        ("m1", 3611, "MICROSOFTTEAMS", "TeamCreated"),
        ("u0", 7212, "Äpp", "Öffnen"),
    ] {
        let mut e = event(id, secs);
        e.service = service.into();
        e.operation = operation.into();
        events.push(e);
    }
    events
}

/// What a gated reader sees, through every read that honours the hidden lists.
async fn assert_gated(
    store: &Store,
    hidden: &EventQuery,
    visible: &[&str],
    buckets: &[(i64, u64)],
    options: FilterOptions,
) {
    assert_eq!(sorted_ids(store, hidden).await, strs(visible), "search");
    assert_eq!(
        store.count_matching(hidden).await.unwrap(),
        u64::try_from(visible.len()).unwrap(),
        "count_matching"
    );
    let expected: Vec<(DateTime<Utc>, u64)> = buckets.iter().map(|(s, n)| (t(*s), *n)).collect();
    assert_eq!(
        store.histogram(hidden, 3600).await.unwrap(),
        expected,
        "histogram"
    );
    assert_eq!(
        store.filter_options(hidden, 100).await.unwrap(),
        options,
        "filter_options"
    );
}

async fn hidden_names_ignore_ascii_case(store: Store) {
    insert(&store, &case_matrix()).await;
    assert_eq!(store.count_matching(&q()).await.unwrap(), 11);
    // Services in any ASCII case; `äpp` is not `Äpp` (only ASCII letters fold).
    let services = EventQuery {
        hidden_services: strs(&["eXcHaNgE", "microsoftteams", "äpp"]),
        ..q()
    };
    assert_gated(
        &store,
        &services,
        &["e1", "e3", "e5", "e7", "u0"],
        &[(0, 4), (7200, 1)],
        FilterOptions {
            services: strs(&["SharePoint", "Äpp"]),
            operations: strs(&["FileAccessed", "Set-Mailbox", "Öffnen"]),
            results: strs(&["failure", "success"]),
            actors: strs(&["admin@contoso.com", "alice@contoso.com", "bob@contoso.com"]),
        },
    )
    .await;
    // Neither an exact filter nor free text reaches an event hidden through another case.
    let sneaky = EventQuery {
        service: Some("Exchange".into()),
        ..services.clone()
    };
    assert!(ids(&store, &sneaky).await.is_empty());
    assert_eq!(ids(&store, &text("mailbox e0")).await, strs(&["e0"]));
    let search = EventQuery {
        search: Some("mailbox e0".into()),
        ..services
    };
    assert!(ids(&store, &search).await.is_empty());

    // Operations written in lower (and upper) case.
    let operations = EventQuery {
        hidden_operations: strs(&["fileaccessed", "SET-MAILBOX", "messagesent"]),
        ..q()
    };
    assert_gated(
        &store,
        &operations,
        &["m1", "u0"],
        &[(3600, 1), (7200, 1)],
        FilterOptions {
            services: strs(&["MICROSOFTTEAMS", "Äpp"]),
            operations: strs(&["TeamCreated", "Öffnen"]),
            results: strs(&["success"]),
            actors: strs(&["admin@contoso.com"]),
        },
    )
    .await;
}

async fn hidden_names_still_match_exactly(store: Store) {
    insert(&store, &case_matrix()).await;
    let hidden = EventQuery {
        hidden_services: strs(&["Exchange", "Äpp"]),
        hidden_operations: strs(&["TeamCreated"]),
        ..q()
    };
    assert_gated(
        &store,
        &hidden,
        &["e1", "e3", "e5", "e7", "m0"],
        &[(0, 4), (3600, 1)],
        FilterOptions {
            services: strs(&["MicrosoftTeams", "SharePoint"]),
            operations: strs(&["FileAccessed", "MessageSent", "Set-Mailbox"]),
            results: strs(&["failure", "success"]),
            actors: strs(&["admin@contoso.com", "alice@contoso.com", "bob@contoso.com"]),
        },
    )
    .await;
}

async fn filter_options_sorted_distinct_limited(store: Store) {
    let mut events = matrix();
    for (i, actor) in ["zed", "Ann", "émile", "ann", "Bob"].iter().enumerate() {
        let mut e = event(&format!("x{i}"), 100 + i as i64);
        e.actor_display = (*actor).into();
        e.service = "AzureActiveDirectory".into();
        events.push(e);
    }
    insert(&store, &events).await;
    let options = store.filter_options(&q(), 100).await.unwrap();
    assert_eq!(
        options.services,
        strs(&["AzureActiveDirectory", "Exchange", "SharePoint"])
    );
    assert_eq!(options.operations, strs(&["FileAccessed", "Set-Mailbox"]));
    assert_eq!(options.results, strs(&["failure", "success"]));
    // Bytewise order on both backends.
    assert_eq!(
        options.actors,
        strs(&[
            "Ann",
            "Bob",
            "alice@contoso.com",
            "ann",
            "bob@contoso.com",
            "zed",
            "émile"
        ])
    );
    let limited = store.filter_options(&q(), 2).await.unwrap();
    assert_eq!(
        limited.services,
        strs(&["AzureActiveDirectory", "Exchange"])
    );
    assert_eq!(limited.actors, strs(&["Ann", "Bob"]));
    let none = store.filter_options(&q(), 0).await.unwrap();
    assert_eq!(none, FilterOptions::default());
    // Other query fields are ignored.
    let filtered = EventQuery {
        service: Some("Exchange".into()),
        search: Some("nothing matches this".into()),
        ..q()
    };
    assert_eq!(store.filter_options(&filtered, 100).await.unwrap(), options);
}

async fn tags_replace(store: Store) {
    insert(&store, &[event("a", 1)]).await;
    let tagged = store
        .set_tags("a", &strs(&["suspicious", "reviewed"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tagged.tags, strs(&["suspicious", "reviewed"]));
    let retagged = store.set_tags("a", &strs(&["ok"])).await.unwrap().unwrap();
    assert_eq!(retagged.tags, strs(&["ok"]));
    assert_eq!(store.get("a").await.unwrap().unwrap().tags, strs(&["ok"]));
    let cleared = store.set_tags("a", &[]).await.unwrap().unwrap();
    assert!(cleared.tags.is_empty());
}

async fn comments_append_in_order(store: Store) {
    insert(&store, &[event("a", 1)]).await;
    let comment = |n: i64| Comment {
        author: format!("user{n}"),
        text: format!("note {n} with \"quotes\" and ünïcode"),
        created_at: t(n) + Duration::microseconds(n),
    };
    for n in 0..3 {
        let e = store.add_comment("a", &comment(n)).await.unwrap().unwrap();
        assert_eq!(e.comments.len(), usize::try_from(n + 1).unwrap());
    }
    let stored = store.get("a").await.unwrap().unwrap();
    assert_eq!(stored.comments, vec![comment(0), comment(1), comment(2)]);
    // Concurrent appends all land.
    let tasks: Vec<_> = (10..20)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.add_comment("a", &comment(n)).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stored = store.get("a").await.unwrap().unwrap();
    assert_eq!(stored.comments.len(), 13);
    assert_eq!(stored.comments[..3], [comment(0), comment(1), comment(2)]);
}

async fn tags_and_comments_on_unknown_id(store: Store) {
    insert(&store, &[event("a", 1)]).await;
    assert_eq!(store.set_tags("nope", &strs(&["x"])).await.unwrap(), None);
    let c = Comment {
        author: "a".into(),
        text: "b".into(),
        created_at: t(0),
    };
    assert_eq!(store.add_comment("nope", &c).await.unwrap(), None);
}

async fn update_keeps_tags_comments_and_reindexes(store: Store) {
    let mut original = event("u", 10);
    original.display_summary = "oldsummaryword here".into();
    original.raw = json!({"Old": "5e0c9d1b-0000-4000-8000-00000000aaaa"});
    insert(&store, &[original.clone(), event("other", 11)]).await;
    store.set_tags("u", &strs(&["keep"])).await.unwrap();
    let note = Comment {
        author: "ana".into(),
        text: "keep me".into(),
        created_at: t(1),
    };
    store.add_comment("u", &note).await.unwrap();

    let mut renormalized = original.clone();
    renormalized.timestamp = t(5);
    renormalized.service = "AzureActiveDirectory".into();
    renormalized.operation = "Update user".into();
    renormalized.result = "failure".into();
    renormalized.result_detail = "False".into();
    renormalized.actor_display = "Renamed Actor".into();
    renormalized.target_displays = vec!["newtarget".into()];
    renormalized.display_summary = "freshsummaryword here".into();
    renormalized.dedupe_key = "key-u-v2".into();
    renormalized.raw = json!({"New": "9a8b7c6d-1111-4222-8333-44445555ffff"});
    // Tags and comments passed in are ignored: the stored ones stay.
    renormalized.tags = strs(&["ignored"]);
    let missing = event("not-stored", 1);
    assert_eq!(
        store
            .update_events(&[renormalized.clone(), missing])
            .await
            .unwrap(),
        1
    );

    let stored = store.get("u").await.unwrap().unwrap();
    let mut expected = renormalized.clone();
    expected.tags = strs(&["keep"]);
    expected.comments = vec![note];
    assert_eq!(stored, expected);
    assert!(store.get("not-stored").await.unwrap().is_none());

    for old in [
        "oldsummaryword",
        "5e0c9d1b-0000-4000-8000-00000000aaaa",
        "admin@contoso",
    ] {
        assert!(
            ids(&store, &text(old)).await.iter().all(|id| id != "u"),
            "{old}"
        );
    }
    for new in [
        "freshsummaryword",
        "9a8b7c6d-1111-4222-8333-44445555ffff",
        "renamed act",
        "newtarget",
    ] {
        assert_eq!(ids(&store, &text(new)).await, strs(&["u"]), "{new}");
    }
    let by_service = EventQuery {
        service: Some("AzureActiveDirectory".into()),
        ..q()
    };
    assert_eq!(ids(&store, &by_service).await, strs(&["u"]));
    // The new dedupe key is what duplicates are now checked against.
    let mut dup = event("u-again", 99);
    dup.dedupe_key = "key-u-v2".into();
    assert_eq!(insert(&store, &[dup]).await.duplicates, 1);
    let mut old_key = event("u-old-key", 99);
    old_key.dedupe_key = "key-u".into();
    assert_eq!(insert(&store, &[old_key]).await.new, 1);
}

async fn update_skips_taken_dedupe_key(store: Store) {
    insert(&store, &[event("a", 1), event("b", 2)]).await;
    let mut a = event("a", 1);
    a.dedupe_key = "key-b".into();
    a.display_summary = "changed".into();
    assert_eq!(store.update_events(&[a]).await.unwrap(), 0);
    assert_eq!(store.get("a").await.unwrap().unwrap(), event("a", 1));
    // Unchanged content still counts as updated.
    assert_eq!(store.update_events(&[event("b", 2)]).await.unwrap(), 1);
}

async fn delete_ids_keeps_search_consistent(store: Store) {
    let mut events = text_fixture();
    events.push(event("plain", 9));
    insert(&store, &events).await;
    let deleted = store
        .delete_ids(&strs(&["raw", "actor", "nope"]))
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(store.count().await.unwrap(), 4);
    assert!(store.get("raw").await.unwrap().is_none());
    assert!(ids(&store, &text("203.0.113.77")).await.is_empty());
    assert!(ids(&store, &text("Örjan")).await.is_empty());
    assert_eq!(ids(&store, &text("finance team")).await, strs(&["target"]));
    assert_eq!(store.delete_ids(&[]).await.unwrap(), 0);
    // The ids and keys are free again.
    let outcome = insert(&store, &text_fixture()).await;
    assert_eq!(
        outcome,
        InsertOutcome {
            new: 2,
            duplicates: 3
        }
    );
    assert_eq!(ids(&store, &text("203.0.113.77")).await, strs(&["raw"]));
    assert_eq!(ids(&store, &text("örjan")).await, strs(&["actor"]));
}

async fn optimize_keeps_search_working(store: Store) {
    insert(&store, &text_fixture()).await;
    store.delete_ids(&strs(&["summary"])).await.unwrap();
    store.optimize().await.unwrap();
    assert_eq!(ids(&store, &text("203.0.113.77")).await, strs(&["raw"]));
    assert_eq!(ids(&store, &text("finance team")).await, strs(&["target"]));
    assert!(ids(&store, &text("quarantined")).await.is_empty());
    assert_eq!(store.count().await.unwrap(), 4);
}

async fn delete_before_cutoff(store: Store) {
    let events: Vec<Event> = (0..10).map(|i| event(&format!("d{i}"), i * 10)).collect();
    insert(&store, &events).await;
    assert_eq!(store.delete_before(t(50)).await.unwrap(), 5);
    assert_eq!(
        ids(&store, &q()).await,
        strs(&["d9", "d8", "d7", "d6", "d5"])
    );
    assert!(ids(&store, &text("mailbox d1")).await.is_empty());
    assert_eq!(ids(&store, &text("mailbox d5")).await, strs(&["d5"]));
    assert_eq!(store.delete_before(t(0)).await.unwrap(), 0);
    assert_eq!(store.delete_before(t(1000)).await.unwrap(), 5);
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(ids(&store, &text("mailbox")).await.is_empty());
}

async fn scan_ascends_after_key(store: Store) {
    let events = [event("b", 5), event("a", 5), event("c", 1), event("d", 9)];
    insert(&store, &events).await;
    let all: Vec<String> = store
        .scan(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all, strs(&["c", "a", "b", "d"]));
    let after: Vec<String> = store
        .scan(Some(&(t(5), "a".to_string())), 2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(after, strs(&["b", "d"]));
    assert!(
        store
            .scan(Some(&(t(9), "d".to_string())), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn count_matching_applies_filters(store: Store) {
    insert(&store, &matrix()).await;
    assert_eq!(store.count_matching(&q()).await.unwrap(), 8);
    let query = EventQuery {
        service: Some("Exchange".into()),
        start: Some(t(2)),
        // Cursor and page size are ignored.
        page_size: 1,
        cursor: Some(Cursor::new(t(0), "a")),
        ..q()
    };
    assert_eq!(store.count_matching(&query).await.unwrap(), 3);
    assert_eq!(store.count_matching(&text("mailbox e3")).await.unwrap(), 1);
    assert_eq!(
        store.count_matching(&text("no such text")).await.unwrap(),
        0
    );
}

async fn histogram_buckets_align_to_epoch(store: Store) {
    let base = t(0); // on an hour boundary
    let at = |mins: i64| base + Duration::minutes(mins);
    let events: Vec<Event> = [10, 50, 65, 180, 181]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut e = event(&format!("h{i}"), 0);
            e.timestamp = at(*m);
            if i == 4 {
                e.service = "Teams".into();
            }
            e
        })
        .collect();
    insert(&store, &events).await;
    let hourly = store.histogram(&q(), 3600).await.unwrap();
    assert_eq!(hourly, vec![(at(0), 2), (at(60), 1), (at(180), 2)]);
    let quarter = store.histogram(&q(), 900).await.unwrap();
    assert_eq!(
        quarter,
        vec![(at(0), 1), (at(45), 1), (at(60), 1), (at(180), 2)]
    );
    // Buckets align to the epoch, not to the first event.
    let odd = store.histogram(&q(), 7 * 60).await.unwrap();
    let first = odd.first().unwrap().0;
    assert_eq!(first.timestamp() % (7 * 60), 0);
    assert_eq!(odd.iter().map(|(_, n)| n).sum::<u64>(), 5);
    let filtered = EventQuery {
        service: Some("Teams".into()),
        ..q()
    };
    assert_eq!(
        store.histogram(&filtered, 3600).await.unwrap(),
        vec![(at(180), 1)]
    );
    assert!(
        store
            .histogram(&text("no such"), 3600)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn watermarks_round_trip(store: Store) {
    assert_eq!(store.get_watermark("unified").await.unwrap(), None);
    let at = t(0) + Duration::microseconds(42);
    store.set_watermark("unified", at).await.unwrap();
    store.set_watermark("directory", t(5)).await.unwrap();
    assert_eq!(store.get_watermark("unified").await.unwrap(), Some(at));
    store.set_watermark("unified", t(99)).await.unwrap();
    assert_eq!(store.get_watermark("unified").await.unwrap(), Some(t(99)));
    assert_eq!(store.get_watermark("directory").await.unwrap(), Some(t(5)));
}

async fn source_health_round_trips(store: Store) {
    assert!(store.source_health().await.unwrap().is_empty());
    let unified = SourceHealth {
        source: "unified".into(),
        last_attempt: Some(t(10)),
        last_success: None,
        last_error: Some("HTTP 429: throttled".into()),
        last_count: 0,
    };
    let directory = SourceHealth {
        source: "directory".into(),
        last_attempt: Some(t(20)),
        last_success: Some(t(20)),
        last_error: None,
        last_count: 1234,
    };
    store.put_source_health(&unified).await.unwrap();
    store.put_source_health(&directory).await.unwrap();
    assert_eq!(
        store.source_health().await.unwrap(),
        vec![directory.clone(), unified.clone()]
    );
    let recovered = SourceHealth {
        last_success: Some(t(30)),
        last_error: None,
        last_count: 7,
        ..unified
    };
    store.put_source_health(&recovered).await.unwrap();
    assert_eq!(
        store.source_health().await.unwrap(),
        vec![directory, recovered]
    );
}

async fn name_cache_expires(store: Store) {
    let name = |id: &str, display: &str, expires: i64| CachedName {
        object_id: id.into(),
        display_name: display.into(),
        expires_at: t(expires),
    };
    store
        .put_cached_names(&[name("o1", "Alice", 100), name("o2", "Bob", 50)])
        .await
        .unwrap();
    let ids = strs(&["o1", "o2", "o3"]);
    assert_eq!(
        store.cached_names(&ids, t(10)).await.unwrap(),
        vec![name("o1", "Alice", 100), name("o2", "Bob", 50)]
    );
    assert_eq!(
        store.cached_names(&ids, t(50)).await.unwrap(),
        vec![name("o1", "Alice", 100)]
    );
    // Refreshing replaces the name and the expiry.
    store
        .put_cached_names(&[name("o2", "Robert", 500)])
        .await
        .unwrap();
    assert_eq!(
        store.cached_names(&ids, t(200)).await.unwrap(),
        vec![name("o2", "Robert", 500)]
    );
    assert!(store.cached_names(&[], t(0)).await.unwrap().is_empty());
    // Expired or not, every entry is still there for whoever needs the last known name.
    store.put_cached_names(&[name("o3", "", 20)]).await.unwrap();
    assert_eq!(
        store.all_cached_names(&ids).await.unwrap(),
        vec![
            name("o1", "Alice", 100),
            name("o2", "Robert", 500),
            name("o3", "", 20)
        ]
    );
}
