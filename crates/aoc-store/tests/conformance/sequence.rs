//! Conformance checks of the event sequence and consumer cursors: every stored event reaches a
//! consumer once, in order, whatever else is written meanwhile; cursors only move forward.
//! The PostgreSQL gap (an insert still uncommitted while a later one commits) and reopening a
//! store need a second connection or a second store, so they are tests of their own below
//! the harness checks.

use std::collections::HashSet;

use aoc_domain::Event;
use aoc_store::{EventStore, SequencePosition, StoreError};

use std::sync::Arc;

use super::{Store, event, insert};

/// Read everything after `from` in batches of `limit`; the ids and the position to go on from.
/// On PostgreSQL a transaction still open elsewhere on the server (another test, another
/// schema) may hold committed events back for a moment: an empty read while events lie
/// beyond the position waits and reads again.
pub async fn drain(
    store: &dyn EventStore,
    from: Option<SequencePosition>,
    limit: u32,
) -> (Vec<String>, Option<SequencePosition>) {
    let mut ids = Vec::new();
    let mut at = from;
    loop {
        let batch = store.events_after(at.as_ref(), limit).await.unwrap();
        assert!(batch.events.len() <= limit as usize);
        if batch.events.is_empty() {
            assert_eq!(batch.next, at, "an empty read keeps the position");
            if store.events_behind(at.as_ref(), 1).await.unwrap() == 0 {
                return (ids, at);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            continue;
        }
        ids.extend(batch.events.into_iter().map(|e| e.id));
        at = batch.next;
    }
}

fn named(prefix: &str, range: std::ops::Range<i64>) -> Vec<Event> {
    range.map(|i| event(&format!("{prefix}{i}"), i)).collect()
}

fn id_list(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

/// A consumer reading after each batch sees each new event once, in the order stored:
/// re-delivered duplicates, renormalized events, tags and comments never show up again, and
/// an event stored after the newest ones were deleted is not hidden behind the cursor.
pub async fn sequence_delivers_each_event_once_in_order(store: Store) {
    let empty = store.events_after(None, 10).await.unwrap();
    assert!(empty.events.is_empty());
    assert_eq!(empty.next, None);

    // Timestamps out of order: the sequence follows storing, not event time.
    let first = vec![event("s3", 30), event("s1", 10), event("s2", 20)];
    insert(&store, &first).await;
    let (got, at) = drain(&*store, None, 2).await;
    assert_eq!(got, ["s3", "s1", "s2"]);

    // Duplicates of stored events beside new ones: only the new ones are delivered.
    let mut second = named("n", 0..5);
    second.insert(2, event("s1", 10));
    second.push(event("s3", 30));
    let outcome = insert(&store, &second).await;
    assert_eq!((outcome.new, outcome.duplicates), (5, 2));
    let (got, at) = drain(&*store, at, 3).await;
    assert_eq!(got, ["n0", "n1", "n2", "n3", "n4"]);

    // Renormalizing, tagging and commenting change stored events, not their place.
    let mut renormalized = event("s2", 20);
    renormalized.operation = "Renamed".into();
    assert_eq!(store.update_events(&[renormalized]).await.unwrap(), 1);
    store.set_tags("n1", &["x".to_string()]).await.unwrap();
    let (got, at) = drain(&*store, at, 10).await;
    assert!(got.is_empty(), "changed events came back: {got:?}");

    // The newest events deleted, then new ones stored: these still come after the cursor.
    store
        .delete_ids(&["n3".to_string(), "n4".to_string()])
        .await
        .unwrap();
    insert(&store, &named("m", 0..3)).await;
    let (got, at) = drain(&*store, at, 10).await;
    assert_eq!(got, ["m0", "m1", "m2"]);

    // From the start: every stored event once, in storing order.
    let (all, end) = drain(&*store, None, 4).await;
    assert_eq!(all, ["s3", "s1", "s2", "n0", "n1", "n2", "m0", "m1", "m2"]);
    assert_eq!(end, at);
}

/// Every field of a delivered event is the stored event.
pub async fn sequence_returns_whole_events(store: Store) {
    let stored = event("whole", 5);
    insert(&store, std::slice::from_ref(&stored)).await;
    let batch = store.events_after(None, 1).await.unwrap();
    assert_eq!(
        batch.events,
        vec![store.get("whole").await.unwrap().unwrap()]
    );
    assert_eq!(batch.events[0].raw, stored.raw);
}

/// Writers racing a consumer: batches committed concurrently (several PostgreSQL transactions
/// at once) while the consumer reads in small steps. It ends with every event exactly once.
pub async fn sequence_keeps_up_with_concurrent_writers(store: Store) {
    const WRITERS: i64 = 4;
    const BATCHES: i64 = 15;
    const SIZE: i64 = 20;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for b in 0..BATCHES {
                let start = (w * BATCHES + b) * SIZE;
                let mut batch = named("c", start..start + SIZE);
                // Its previous batch again: skipped, never delivered twice. (Not another
                // writer's uncommitted rows: four writers waiting on each other in a ring
                // deadlock beyond the store's retries.)
                if b > 0 {
                    let again = start - SIZE;
                    batch.push(event(&format!("c{again}"), again));
                }
                store.insert_batch(&batch).await.unwrap();
            }
        }));
    }
    let mut seen = Vec::new();
    let mut at = None;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let batch = store.events_after(at.as_ref(), 7).await.unwrap();
        let empty = batch.events.is_empty();
        seen.extend(batch.events.into_iter().map(|e| e.id));
        at = batch.next;
        // Finished before this read began, and nothing left: the consumer has caught up.
        if done && empty && store.events_behind(at.as_ref(), 1).await.unwrap() == 0 {
            break;
        }
        if empty {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an event was delivered twice");
    let total = usize::try_from(WRITERS * BATCHES * SIZE).unwrap();
    assert_eq!(seen.len(), total, "an event was skipped");
    assert_eq!(store.events_behind(at.as_ref(), 1000).await.unwrap(), 0);
}

/// Lag: events after a position, capped.
pub async fn events_behind_counts_and_caps(store: Store) {
    assert_eq!(store.events_behind(None, 100).await.unwrap(), 0);
    insert(&store, &named("l", 0..10)).await;
    assert_eq!(store.events_behind(None, 100).await.unwrap(), 10);
    assert_eq!(store.events_behind(None, 4).await.unwrap(), 4);
    let batch = store.events_after(None, 3).await.unwrap();
    assert_eq!(id_list(&batch.events), ["l0", "l1", "l2"]);
    assert_eq!(
        store.events_behind(batch.next.as_ref(), 100).await.unwrap(),
        7
    );
}

/// Cursors: none before the first save, saved per consumer, only ever forward, and a
/// position no store issued is refused.
pub async fn consumer_cursors_only_move_forward(store: Store) {
    assert_eq!(store.get_consumer_cursor("alerts").await.unwrap(), None);
    insert(&store, &named("k", 0..6)).await;
    let b1 = store.events_after(None, 2).await.unwrap();
    let p1 = b1.next.unwrap();
    let b2 = store.events_after(Some(&p1), 2).await.unwrap();
    let p2 = b2.next.unwrap();

    assert!(store.set_consumer_cursor("alerts", &p1).await.unwrap());
    assert_eq!(
        store.get_consumer_cursor("alerts").await.unwrap(),
        Some(p1.clone())
    );
    assert!(store.set_consumer_cursor("alerts", &p2).await.unwrap());
    // A slower replica saving an older position, or the same one again: nothing moves.
    assert!(!store.set_consumer_cursor("alerts", &p1).await.unwrap());
    assert!(!store.set_consumer_cursor("alerts", &p2).await.unwrap());
    assert_eq!(
        store.get_consumer_cursor("alerts").await.unwrap(),
        Some(p2.clone())
    );
    // Reading on from the saved cursor continues where the consumer stopped.
    let rest = store.events_after(Some(&p2), 10).await.unwrap();
    assert_eq!(id_list(&rest.events), ["k4", "k5"]);

    // Consumers are independent; names are taken as given.
    assert_eq!(store.get_consumer_cursor("siem").await.unwrap(), None);
    assert!(store.set_consumer_cursor("siem ü'\"", &p1).await.unwrap());
    assert_eq!(
        store.get_consumer_cursor("siem ü'\"").await.unwrap(),
        Some(p1)
    );
    assert_eq!(store.get_consumer_cursor("alerts").await.unwrap(), Some(p2));

    for bad in ["", "nope", "-5", "1/x", "9999999999999999999999/1"] {
        let bad = SequencePosition::new(bad);
        assert!(
            matches!(
                store.events_after(Some(&bad), 1).await,
                Err(StoreError::InvalidPosition(_))
            ),
            "{bad}"
        );
        assert!(
            matches!(
                store.set_consumer_cursor("alerts", &bad).await,
                Err(StoreError::InvalidPosition(_))
            ),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tests that need a second connection or a second store

/// A fresh schema on the test server, its store, a plain pool on the same schema, and the
/// schema's name (to drop). None when no server is configured.
async fn postgres_schema(
    tag: &str,
) -> Option<(aoc_store::PgStore, sqlx::PgPool, sqlx::PgPool, String)> {
    use sqlx::postgres::PgConnectOptions;
    let Ok(base) = std::env::var("AOC_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but AOC_TEST_POSTGRES_URL is not"
        );
        eprintln!("{tag}: skipped (AOC_TEST_POSTGRES_URL not set)");
        return None;
    };
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        .execute(&admin)
        .await;
    let schema = format!(
        "aoc_seq_{tag}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros() % 1_000_000_000
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .unwrap();
    let options: PgConnectOptions = base.parse().unwrap();
    let options = options.options([("search_path", format!("{schema},public"))]);
    let store = aoc_store::PgStore::connect_with(options.clone(), 4)
        .await
        .unwrap();
    let raw = sqlx::PgPool::connect_with(options).await.unwrap();
    Some((store, raw, admin, schema))
}

async fn drop_schema(admin: &sqlx::PgPool, schema: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(admin)
    .await
    .unwrap();
}

/// The gap: transaction A inserts `early` and stays open; B inserts `late` and commits. A
/// consumer reading now must not return `late` (it would move its cursor past `early`, which
/// becomes visible only when A commits). A plain `seq > cursor` read fails here: `early`
/// took the lower seq, so the read returns `late`, the cursor passes `early`, and the read
/// after A's commit finds nothing. After A commits, `early` and then `late` arrive, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sequence_never_passes_an_uncommitted_insert() {
    let Some((store, raw, admin, schema)) = postgres_schema("gap").await else {
        return;
    };
    insert_one(&store, "before").await;
    let (got, cursor) = drain(&store, None, 10).await;
    assert_eq!(got, ["before"]);

    let mut a = raw.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (id, dedupe_key, source, ts, service, operation, result, \
         actor_display, actor, target_displays, targets, display_summary, raw, search_short, \
         raw_words) VALUES ('early', 'key-early', 'unified', now(), 'Exchange', 'Set-Mailbox', \
         'success', 'a', '{}', '[]', '[]', 's', '{}', 's', '')",
    )
    .execute(&mut *a)
    .await
    .unwrap();
    insert_one(&store, "late").await;

    // Both are in the database, `late` committed: the read holds it back.
    let held = store.events_after(cursor.as_ref(), 10).await.unwrap();
    assert_eq!(id_list(&held.events), Vec::<String>::new());
    assert_eq!(held.next, cursor);
    assert_eq!(store.events_behind(cursor.as_ref(), 10).await.unwrap(), 1);
    // The gap holds whatever the batch size.
    assert!(
        store
            .events_after(cursor.as_ref(), 1)
            .await
            .unwrap()
            .events
            .is_empty()
    );

    a.commit().await.unwrap();
    let (got, cursor) = drain(&store, cursor, 1).await;
    assert_eq!(got, ["early", "late"]);
    let again = store.events_after(cursor.as_ref(), 10).await.unwrap();
    assert!(
        again.events.is_empty(),
        "delivered twice: {:?}",
        id_list(&again.events)
    );

    // An aborted insert leaves no trace and holds nothing back once it has ended.
    let mut aborted = raw.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (id, dedupe_key, source, ts, service, operation, result, \
         actor_display, actor, target_displays, targets, display_summary, raw, search_short, \
         raw_words) VALUES ('ghost', 'key-ghost', 'unified', now(), 'Exchange', 'Set-Mailbox', \
         'success', 'a', '{}', '[]', '[]', 's', '{}', 's', '')",
    )
    .execute(&mut *aborted)
    .await
    .unwrap();
    insert_one(&store, "after").await;
    aborted.rollback().await.unwrap();
    let (got, _) = drain(&store, cursor, 10).await;
    assert_eq!(got, ["after"]);

    store.pool().close().await;
    raw.close().await;
    drop_schema(&admin, &schema).await;
}

async fn insert_one(store: &dyn EventStore, id: &str) {
    let outcome = store.insert_batch(&[event(id, 0)]).await.unwrap();
    assert_eq!(outcome.new, 1);
}

/// What a consumer saved is there after a restart, and reading on from it continues the
/// sequence: new events after the reopen come after the old ones.
async fn cursor_survives_reopen(first: Store, reopen: impl AsyncFnOnce() -> Store) {
    insert_one(&*first, "r1").await;
    insert_one(&*first, "r2").await;
    // On PostgreSQL a transaction of another test on the same server can hold the committed
    // rows back for a moment (they wait for the oldest open transaction): read until they come.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let batch = loop {
        let batch = first.events_after(None, 1).await.unwrap();
        if !batch.events.is_empty() || std::time::Instant::now() > deadline {
            break batch;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(id_list(&batch.events), ["r1"]);
    let saved = batch.next.unwrap();
    assert!(first.set_consumer_cursor("forward", &saved).await.unwrap());
    drop(first);

    let second = reopen().await;
    assert_eq!(
        second.get_consumer_cursor("forward").await.unwrap(),
        Some(saved.clone())
    );
    insert_one(&*second, "r3").await;
    let (got, _) = drain(&*second, Some(saved), 10).await;
    assert_eq!(got, ["r2", "r3"]);
}

#[tokio::test]
async fn sqlite_sequence_and_cursors_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aoc.db").display());
    let first = aoc_store::open(&url).await.unwrap();
    cursor_survives_reopen(first, async || aoc_store::open(&url).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sequence_and_cursors_survive_reopen() {
    let Some((store, raw, admin, schema)) = postgres_schema("reopen").await else {
        return;
    };
    let options = raw.connect_options().as_ref().clone();
    let reopened = cursor_survives_reopen(Arc::new(store), async || {
        Arc::new(aoc_store::PgStore::connect_with(options, 2).await.unwrap()) as Store
    });
    reopened.await;
    raw.close().await;
    drop_schema(&admin, &schema).await;
}

/// Tags written for many events at once replace each event's tags; unknown ids are skipped.
pub async fn set_tags_many_replaces_each_events_tags(store: Store) {
    insert(&store, &named("g", 0..3)).await;
    store.set_tags("g1", &["keep".to_string()]).await.unwrap();
    let changed = store
        .set_tags_many(&[
            ("g0".into(), vec!["rule:a".into(), "rule:b".into()]),
            ("missing".into(), vec!["x".into()]),
            ("g2".into(), vec!["rule:c".into()]),
        ])
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let tags = |id: &'static str| {
        let store = store.clone();
        async move { store.get(id).await.unwrap().unwrap().tags }
    };
    assert_eq!(tags("g0").await, ["rule:a", "rule:b"]);
    assert_eq!(tags("g1").await, ["keep"]);
    assert_eq!(tags("g2").await, ["rule:c"]);
    assert_eq!(store.set_tags_many(&[]).await.unwrap(), 0);
}

/// With the recent-events cache on (a consumer runs in this process), the sequence hands out
/// exactly what the database holds: the stored record when a re-delivered copy that was not
/// stored differs from it, tags and comments as stored now, the renormalized version after an
/// update, and events stored without passing through the cache.
pub async fn sequence_from_memory_matches_the_database(store: Store) {
    let Some(recent) = store.recent_events() else {
        return;
    };
    recent.keep(1000);
    let first = named("m", 0..4);
    insert(&store, &first).await;
    // The stored m1 was renormalized, m2 tagged, and a different record with m3's id was
    // handed over after an insert that (as a duplicate) did not store it.
    let mut renormalized = event("m1", 1);
    renormalized.operation = "Renamed".into();
    renormalized.display_summary = "renamed".into();
    let mut impostor = event("m3", 3);
    impostor.dedupe_key = "another-key".into();
    impostor.operation = "Impostor".into();
    recent.remember(vec![impostor]);
    recent.remember(first);
    store.update_events(&[renormalized]).await.unwrap();
    store.set_tags("m2", &["vip".to_string()]).await.unwrap();
    // Stored by someone else (no hand-over): read from the database.
    insert(&store, &named("other", 0..2)).await;

    let (from_memory, at) = read_all(&store, None, 2).await;
    let ids: Vec<&str> = from_memory.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["m0", "m1", "m2", "m3", "other0", "other1"]);
    for got in &from_memory {
        let stored = store.get(&got.id).await.unwrap().unwrap();
        assert_eq!(got, &stored, "{}", got.id);
    }
    assert_eq!(from_memory[1].operation, "Renamed");
    assert_eq!(from_memory[2].tags, ["vip"]);
    assert_eq!(from_memory[3].operation, "Set-Mailbox");
    // However the reads were cut (PostgreSQL may hold rows back a moment), the batches
    // holding m1, m3, other0 and other1 were read in full: at least three.
    assert!(recent.hits_and_misses().1 >= 3);

    // Handed over after storing, then tagged and commented: served from memory, with the
    // tags and comments as stored now.
    let fresh = named("h", 0..3);
    insert(&store, &fresh).await;
    recent.remember(fresh);
    store.set_tags("h1", &["later".to_string()]).await.unwrap();
    let comment = aoc_domain::Comment {
        author: "ann".into(),
        text: "seen".into(),
        created_at: super::t(50),
    };
    store.add_comment("h2", &comment).await.unwrap();
    let (hits, misses) = recent.hits_and_misses();
    let (got, _) = read_all(&store, at, 10).await;
    let (hits_after, misses_after) = recent.hits_and_misses();
    assert!(hits_after > hits, "served from memory");
    assert_eq!(misses_after, misses);
    assert_eq!(got.len(), 3);
    for got in &got {
        assert_eq!(
            got,
            &store.get(&got.id).await.unwrap().unwrap(),
            "{}",
            got.id
        );
    }
    assert_eq!(got[1].tags, ["later"]);
    assert_eq!(got[2].comments, [comment]);
}

/// Whole events after `from`, `limit` at a time, until the sequence is read to its end (on
/// PostgreSQL an empty read while events lie beyond waits: see `drain`).
async fn read_all(
    store: &Store,
    from: Option<SequencePosition>,
    limit: u32,
) -> (Vec<Event>, Option<SequencePosition>) {
    let mut events = Vec::new();
    let mut at = from;
    loop {
        let batch = store.events_after(at.as_ref(), limit).await.unwrap();
        if batch.events.is_empty() {
            if store.events_behind(at.as_ref(), 1).await.unwrap() == 0 {
                return (events, at);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            continue;
        }
        events.extend(batch.events);
        at = batch.next;
    }
}
