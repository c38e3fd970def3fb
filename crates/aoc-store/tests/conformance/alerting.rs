//! Conformance checks of the alerting tables: rules, the matches threshold rules count, alerts
//! (raised once per dedupe key, even by racing replicas), saved searches and the outbox.

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use aoc_store::{
    AlertCount, AlertQuery, GroupSpan, NewAlert, NewOutboxItem, RuleMatch, SavedSearch,
};
use chrono::{Duration, SubsecRound, Utc};
use serde_json::json;

use super::{Store, t};

/// Long enough for `Utc::now()` to move on by many microseconds, the stored precision.
async fn tick() {
    tokio::time::sleep(StdDuration::from_millis(5)).await;
}

// --- Rules

pub async fn rules_put_get_list_replace_delete(store: Store) {
    assert!(store.list_rules().await.unwrap().is_empty());
    assert_eq!(store.get_rule("r-b").await.unwrap(), None);
    let first = json!({"name": "Mass delete", "threshold": {"count": 5}, "note": "Zoë ß"});
    let put = store.put_rule("r-b", &first).await.unwrap();
    assert_eq!(put.id, "r-b");
    assert_eq!(put.definition, first);
    assert_eq!(
        put.created_at, put.updated_at,
        "a new rule: one time for both"
    );
    store.put_rule("r-a", &json!({"name": "a"})).await.unwrap();
    assert_eq!(store.get_rule("r-b").await.unwrap(), Some(put.clone()));

    tick().await;
    let second = json!({"name": "Mass delete", "threshold": {"count": 9}});
    let replaced = store.put_rule("r-b", &second).await.unwrap();
    assert_eq!(replaced.definition, second);
    assert_eq!(
        replaced.created_at, put.created_at,
        "replacing keeps created_at"
    );
    assert!(
        replaced.updated_at > put.updated_at,
        "replacing moves updated_at"
    );
    assert_eq!(store.get_rule("r-b").await.unwrap(), Some(replaced.clone()));

    let ids: Vec<String> = store
        .list_rules()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["r-a", "r-b"], "listed by id");

    assert!(store.delete_rule("r-b").await.unwrap());
    assert!(!store.delete_rule("r-b").await.unwrap(), "already gone");
    assert_eq!(store.get_rule("r-b").await.unwrap(), None);
    assert_eq!(store.list_rules().await.unwrap().len(), 1);
}

pub async fn rule_insert_if_absent_never_overwrites(store: Store) {
    let builtin = json!({"name": "built-in", "enabled": true});
    assert!(store.insert_rule_if_absent("b1", &builtin).await.unwrap());
    let user = json!({"name": "built-in", "enabled": false});
    let edited = store.put_rule("b1", &user).await.unwrap();
    // Start-up seeds again: the user's change stays.
    assert!(!store.insert_rule_if_absent("b1", &builtin).await.unwrap());
    assert_eq!(store.get_rule("b1").await.unwrap(), Some(edited));
    // A deleted built-in comes back at the next seeding.
    assert!(store.delete_rule("b1").await.unwrap());
    assert!(store.insert_rule_if_absent("b1", &builtin).await.unwrap());
    assert_eq!(
        store.get_rule("b1").await.unwrap().unwrap().definition,
        builtin
    );
}

// --- Rule matches

fn matched(rule: &str, group: &str, event: &str, secs: i64) -> RuleMatch {
    RuleMatch {
        rule_id: rule.into(),
        group_key: group.into(),
        event_id: event.into(),
        occurred_at: t(secs),
    }
}

pub async fn rule_matches_count_windows_per_group(store: Store) {
    store.record_rule_matches(&[]).await.unwrap();
    // Out of time order, with a (rule, event) repeated in the batch and across batches.
    store
        .record_rule_matches(&[
            matched("r1", "ann", "e3", 20),
            matched("r1", "ann", "e1", 0),
            matched("r1", "ann", "e4", 30),
            matched("r1", "ann", "e3", 25),
            matched("r1", "bob", "e5", 10),
            matched("r2", "ann", "e6", 10),
        ])
        .await
        .unwrap();
    store
        .record_rule_matches(&[
            matched("r1", "ann", "e2", 10),
            matched("r1", "ann", "e1", 15),
        ])
        .await
        .unwrap();
    let window = |rule: &'static str, group: &'static str, from, to, limit| {
        let store = store.clone();
        async move {
            let (n, matches) = store
                .rule_matches_in(rule, group, t(from), t(to), limit)
                .await
                .unwrap();
            (n, matches.into_iter().map(|(id, _)| id).collect::<Vec<_>>())
        }
    };
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        window("r1", "ann", 0, 30, 10).await,
        (4, ids(&["e1", "e2", "e3", "e4"])),
        "oldest first; a repeated (rule, event) keeps its first time"
    );
    assert_eq!(
        window("r1", "ann", 10, 20, 10).await,
        (2, ids(&["e2", "e3"])),
        "both bounds inclusive"
    );
    assert_eq!(window("r1", "ann", 11, 19, 10).await, (0, Vec::new()));
    assert_eq!(
        window("r1", "ann", 0, 30, 2).await,
        (4, ids(&["e1", "e2"])),
        "the count is of all, the ids at most limit"
    );
    assert_eq!(window("r1", "ann", 0, 30, 0).await, (4, Vec::new()));
    assert_eq!(window("r1", "bob", 0, 30, 10).await, (1, ids(&["e5"])));
    assert_eq!(window("r2", "ann", 0, 30, 10).await, (1, ids(&["e6"])));
    assert_eq!(window("r3", "ann", 0, 30, 10).await, (0, Vec::new()));
    let (_, timed) = store
        .rule_matches_in("r1", "ann", t(0), t(30), 10)
        .await
        .unwrap();
    assert_eq!(
        timed,
        vec![
            ("e1".to_string(), t(0)),
            ("e2".to_string(), t(10)),
            ("e3".to_string(), t(20)),
            ("e4".to_string(), t(30)),
        ],
        "each match with the time it was first recorded at"
    );

    // Several groups' windows counted at once, in the order asked, each with its own bounds.
    let span = |group: &str, from, to| GroupSpan {
        group_key: group.into(),
        from: t(from),
        to: t(to),
    };
    assert_eq!(
        store
            .rule_match_counts(
                "r1",
                &[
                    span("ann", 0, 30),
                    span("bob", 0, 30),
                    span("ann", 10, 20),
                    span("carol", 0, 30),
                    span("ann", 11, 19),
                    span("bob", 11, 30),
                ],
            )
            .await
            .unwrap(),
        vec![4, 1, 2, 0, 0, 0]
    );
    assert_eq!(
        store
            .rule_match_counts("r2", &[span("ann", 0, 30), span("bob", 0, 30)])
            .await
            .unwrap(),
        vec![1, 0]
    );
    assert!(store.rule_match_counts("r1", &[]).await.unwrap().is_empty());

    // Pruning forgets what happened before the cutoff, across rules and groups.
    assert_eq!(store.prune_rule_matches(t(10)).await.unwrap(), 1);
    assert_eq!(
        window("r1", "ann", 0, 30, 10).await,
        (3, ids(&["e2", "e3", "e4"]))
    );
    assert_eq!(store.prune_rule_matches(t(10)).await.unwrap(), 0);
    assert_eq!(store.prune_rule_matches(t(31)).await.unwrap(), 5);
    assert_eq!(window("r2", "ann", 0, 30, 10).await, (0, Vec::new()));
}

// --- Alerts

fn new_alert(key: &str, rule: &str, severity: &str) -> NewAlert {
    NewAlert {
        rule_id: rule.into(),
        rule_name: format!("Rule {rule} – Zoë"),
        severity: severity.into(),
        dedupe_key: key.into(),
        group_key: Some("ann@contoso.com".into()),
        first_seen: t(10) + Duration::microseconds(7),
        last_seen: t(70),
        event_ids: vec!["e1".into(), "e2".into()],
        services: vec!["Exchange".into(), "AzureActiveDirectory".into()],
        summary: format!("{key}: 2 events"),
    }
}

pub async fn raise_alert_is_idempotent(store: Store) {
    let new = new_alert("r1|e1", "r1", "high");
    let (alert, created) = store.raise_alert(&new).await.unwrap();
    assert!(created);
    assert_eq!(
        (
            &alert.rule_id,
            &alert.rule_name,
            &alert.severity,
            &alert.dedupe_key,
            &alert.group_key,
        ),
        (
            &new.rule_id,
            &new.rule_name,
            &new.severity,
            &new.dedupe_key,
            &new.group_key,
        )
    );
    assert_eq!(
        (alert.first_seen, alert.last_seen),
        (new.first_seen, new.last_seen)
    );
    assert_eq!(
        (&alert.event_ids, &alert.services),
        (&new.event_ids, &new.services)
    );
    assert_eq!(alert.summary, new.summary);
    assert_eq!(alert.status, "open");
    assert_eq!((&alert.updated_by, &alert.note), (&None, &None));
    assert_eq!(alert.created_at, alert.updated_at);

    // The same key again, even with other details: the stored alert, unchanged.
    let mut again = new_alert("r1|e1", "r1", "low");
    again.summary = "different".into();
    let (same, created) = store.raise_alert(&again).await.unwrap();
    assert!(!created);
    assert_eq!(same, alert);
    assert_eq!(
        store.get_alert(alert.id).await.unwrap(),
        Some(alert.clone())
    );

    let mut single = new_alert("r2|e9", "r2", "low");
    single.group_key = None;
    single.event_ids = vec!["e9".into()];
    let (other, created) = store.raise_alert(&single).await.unwrap();
    assert!(created);
    assert!(other.id > alert.id);
    assert_eq!(other.group_key, None);
    assert_eq!(store.get_alert(other.id + 1000).await.unwrap(), None);
}

pub async fn concurrent_raises_create_one_alert(store: Store) {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .raise_alert(&new_alert("r1|ann|window-7", "r1", "critical"))
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    let mut ids = BTreeSet::new();
    for task in tasks {
        let (alert, new) = task.await.unwrap();
        created += usize::from(new);
        ids.insert(alert.id);
    }
    assert_eq!(created, 1, "exactly one raise creates the alert");
    assert_eq!(ids.len(), 1, "every raise returns the same alert");
    let all = store
        .list_alerts(&AlertQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

/// Alerts a..g over three rules and severities, statuses set: ids in raising order.
async fn seven_alerts(store: &Store) -> Vec<i64> {
    let plan = [
        ("a", "r1", "high", "open"),
        ("b", "r2", "low", "acknowledged"),
        ("c", "r1", "low", "resolved"),
        ("d", "r3", "critical", "open"),
        ("e", "r1", "high", "acknowledged"),
        ("f", "r2", "high", "open"),
        ("g", "r1", "high", "open"),
    ];
    let mut ids = Vec::new();
    for (key, rule, severity, status) in plan {
        let (alert, _) = store
            .raise_alert(&new_alert(key, rule, severity))
            .await
            .unwrap();
        if status != "open" {
            store
                .update_alert(alert.id, status, "ann", None)
                .await
                .unwrap()
                .unwrap();
        }
        ids.push(alert.id);
    }
    ids
}

async fn listed(store: &Store, query: AlertQuery) -> Vec<String> {
    store
        .list_alerts(&AlertQuery {
            limit: if query.limit == 0 { 100 } else { query.limit },
            ..query
        })
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.dedupe_key)
        .collect()
}

pub async fn list_alerts_filters_alone_and_pages(store: Store) {
    let ids = seven_alerts(&store).await;
    let all = listed(&store, AlertQuery::default()).await;
    assert_eq!(all, ["g", "f", "e", "d", "c", "b", "a"], "newest first");
    let by_status = |s: &str| AlertQuery {
        status: Some(s.into()),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, by_status("open")).await,
        ["g", "f", "d", "a"]
    );
    assert_eq!(listed(&store, by_status("acknowledged")).await, ["e", "b"]);
    assert_eq!(listed(&store, by_status("resolved")).await, ["c"]);
    let by_severity = |s: &str| AlertQuery {
        severity: Some(s.into()),
        ..Default::default()
    };
    assert_eq!(
        listed(&store, by_severity("high")).await,
        ["g", "f", "e", "a"]
    );
    assert_eq!(listed(&store, by_severity("critical")).await, ["d"]);
    assert_eq!(
        listed(
            &store,
            AlertQuery {
                rule_id: Some("r1".into()),
                ..Default::default()
            }
        )
        .await,
        ["g", "e", "c", "a"]
    );
    assert_eq!(
        listed(
            &store,
            AlertQuery {
                rule_id: Some("r1".into()),
                severity: Some("high".into()),
                status: Some("open".into()),
                ..Default::default()
            }
        )
        .await,
        ["g", "a"],
        "filters combine"
    );
    assert_eq!(
        listed(
            &store,
            AlertQuery {
                before_id: Some(ids[3]),
                ..Default::default()
            }
        )
        .await,
        ["c", "b", "a"],
        "before_id is exclusive"
    );

    // Paging with before_id walks every alert once.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_alerts(&AlertQuery {
                before_id: before,
                limit: 3,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        seen.extend(page.into_iter().map(|a| a.dedupe_key));
    }
    assert_eq!(seen, all);
    assert!(
        store
            .list_alerts(&AlertQuery::default())
            .await
            .unwrap()
            .is_empty(),
        "limit 0 lists nothing"
    );
}

pub async fn list_alerts_by_creation_time(store: Store) {
    let (early, _) = store
        .raise_alert(&new_alert("early", "r1", "low"))
        .await
        .unwrap();
    tick().await;
    let middle = Utc::now();
    tick().await;
    let (late, _) = store
        .raise_alert(&new_alert("late", "r1", "low"))
        .await
        .unwrap();
    let since = |at| AlertQuery {
        since: Some(at),
        ..Default::default()
    };
    let until = |at| AlertQuery {
        until: Some(at),
        ..Default::default()
    };
    assert_eq!(listed(&store, since(middle)).await, ["late"]);
    assert_eq!(listed(&store, until(middle)).await, ["early"]);
    assert_eq!(
        listed(&store, since(late.created_at)).await,
        ["late"],
        "inclusive"
    );
    assert_eq!(
        listed(&store, until(early.created_at)).await,
        ["early"],
        "inclusive"
    );
    assert_eq!(
        listed(
            &store,
            AlertQuery {
                since: Some(early.created_at),
                until: Some(late.created_at),
                ..Default::default()
            }
        )
        .await,
        ["late", "early"]
    );
}

pub async fn update_alert_records_who_and_why(store: Store) {
    let (raised, _) = store
        .raise_alert(&new_alert("k", "r1", "high"))
        .await
        .unwrap();
    tick().await;
    let acked = store
        .update_alert(
            raised.id,
            "acknowledged",
            "Zoë Admin",
            Some("looking ' \"; --"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acked.status, "acknowledged");
    assert_eq!(acked.updated_by.as_deref(), Some("Zoë Admin"));
    assert_eq!(acked.note.as_deref(), Some("looking ' \"; --"));
    assert_eq!(acked.created_at, raised.created_at);
    assert!(acked.updated_at > raised.updated_at);
    assert_eq!(
        (&acked.event_ids, &acked.summary),
        (&raised.event_ids, &raised.summary),
        "the rest is untouched"
    );
    assert_eq!(
        store.get_alert(raised.id).await.unwrap(),
        Some(acked.clone())
    );

    // The next change carries its own note, or none.
    let resolved = store
        .update_alert(raised.id, "resolved", "bob", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            resolved.status.as_str(),
            resolved.updated_by.as_deref(),
            resolved.note
        ),
        ("resolved", Some("bob"), None)
    );
    assert_eq!(
        store
            .update_alert(raised.id + 1000, "resolved", "bob", None)
            .await
            .unwrap(),
        None
    );
}

pub async fn alert_counts_group_by_rule_severity_status(store: Store) {
    assert!(store.alert_counts().await.unwrap().is_empty());
    seven_alerts(&store).await;
    let mut got = store.alert_counts().await.unwrap();
    got.sort_by(|a, b| {
        (&a.rule_id, &a.severity, &a.status).cmp(&(&b.rule_id, &b.severity, &b.status))
    });
    let count = |rule: &str, severity: &str, status: &str, count| AlertCount {
        rule_id: rule.into(),
        severity: severity.into(),
        status: status.into(),
        count,
    };
    assert_eq!(
        got,
        vec![
            count("r1", "high", "acknowledged", 1),
            count("r1", "high", "open", 2),
            count("r1", "low", "resolved", 1),
            count("r2", "high", "open", 1),
            count("r2", "low", "acknowledged", 1),
            count("r3", "critical", "open", 1),
        ]
    );
}

// --- Saved searches

fn search(id: &str, owner: &str, name: &str, shared: bool) -> SavedSearch {
    SavedSearch {
        id: id.into(),
        owner: owner.into(),
        name: name.into(),
        shared,
        filters: json!({"service": "Exchange", "q": "Zoë ' \"", "hidden": ["a", "b"]}),
        created_at: t(100) + Duration::microseconds(3),
        updated_at: t(100) + Duration::microseconds(3),
    }
}

pub async fn saved_searches_visible_to_owner_and_shared(store: Store) {
    assert!(store.list_saved_searches("ann").await.unwrap().is_empty());
    for s in [
        search("s1", "ann", "mine", false),
        search("s2", "ann", "alpha", true),
        search("s4", "bob", "alpha", true),
        search("s3", "bob", "bob only", false),
    ] {
        assert_eq!(store.put_saved_search(&s).await.unwrap(), s, "round trip");
    }
    let names =
        |list: Vec<SavedSearch>| -> Vec<String> { list.into_iter().map(|s| s.id).collect() };
    assert_eq!(
        names(store.list_saved_searches("ann").await.unwrap()),
        ["s2", "s4", "s1"],
        "own and shared, by name then id"
    );
    assert_eq!(
        names(store.list_saved_searches("bob").await.unwrap()),
        ["s2", "s4", "s3"]
    );
    assert_eq!(
        names(store.list_saved_searches("carol").await.unwrap()),
        ["s2", "s4"]
    );
    assert_eq!(
        store.get_saved_search("s3").await.unwrap(),
        Some(search("s3", "bob", "bob only", false))
    );
    assert_eq!(store.get_saved_search("nope").await.unwrap(), None);

    // Replacing keeps created_at and takes everything else.
    let mut changed = search("s1", "ann", "zulu", true);
    changed.filters = json!({"actor": "bob"});
    changed.created_at = t(500);
    changed.updated_at = t(600);
    let stored = store.put_saved_search(&changed).await.unwrap();
    assert_eq!(
        stored,
        SavedSearch {
            created_at: search("s1", "ann", "mine", false).created_at,
            ..changed.clone()
        }
    );
    assert_eq!(store.get_saved_search("s1").await.unwrap(), Some(stored));
    assert_eq!(
        names(store.list_saved_searches("carol").await.unwrap()),
        ["s2", "s4", "s1"],
        "now shared"
    );

    assert!(store.delete_saved_search("s1").await.unwrap());
    assert!(!store.delete_saved_search("s1").await.unwrap());
    assert_eq!(store.get_saved_search("s1").await.unwrap(), None);
}

// --- Outbox

fn message(channel: &str, key: &str) -> NewOutboxItem {
    NewOutboxItem {
        channel: channel.into(),
        dedupe_key: key.into(),
        payload: json!({"alert": key, "text": "Zoë – \"quoted\"", "n": [1, 2.5, null]}),
    }
}

pub async fn outbox_dedupes_and_retries_when_due(store: Store) {
    let before = Utc::now() - Duration::seconds(1);
    assert_eq!(store.enqueue_outbox(&[]).await.unwrap(), 0);
    let queued = store
        .enqueue_outbox(&[
            message("mail", "k1"),
            message("hook", "k2"),
            message("mail", "k3"),
            message("mail", "k1"),
        ])
        .await
        .unwrap();
    assert_eq!(queued, 3, "a key repeated in the batch is queued once");
    assert_eq!(
        store
            .enqueue_outbox(&[message("hook", "k2"), message("mail", "k4")])
            .await
            .unwrap(),
        1,
        "a key queued before is ignored"
    );
    // Stored times have microsecond precision.
    let now = (Utc::now() + Duration::seconds(1)).trunc_subsecs(6);
    let due = store.due_outbox(now, 10).await.unwrap();
    let keys: Vec<&str> = due.iter().map(|i| i.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["k1", "k2", "k3", "k4"], "oldest first");
    assert!(due.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(due[0].payload, message("mail", "k1").payload);
    assert_eq!(due[1].channel, "hook");
    assert_eq!(
        (due[0].attempts, &due[0].last_error, due[0].delivered_at),
        (0, &None, None)
    );
    assert!(due[0].next_attempt_at > before && due[0].next_attempt_at <= now);
    assert!(
        store.due_outbox(before, 10).await.unwrap().is_empty(),
        "not due before queued"
    );
    assert_eq!(
        store.due_outbox(now, 2).await.unwrap().len(),
        2,
        "at most limit"
    );

    // A failure waits for its retry time, counting attempts and keeping the error.
    let retry_at = now + Duration::hours(1);
    store
        .outbox_failed(due[0].id, "timeout ' \"", retry_at)
        .await
        .unwrap();
    let keys = |items: Vec<aoc_store::OutboxItem>| -> Vec<String> {
        items.into_iter().map(|i| i.dedupe_key).collect()
    };
    assert_eq!(
        keys(store.due_outbox(now, 10).await.unwrap()),
        ["k2", "k3", "k4"]
    );
    let later = store.due_outbox(retry_at, 10).await.unwrap();
    assert_eq!(later[0].dedupe_key, "k1");
    assert_eq!(
        (
            later[0].attempts,
            later[0].last_error.as_deref(),
            later[0].next_attempt_at
        ),
        (1, Some("timeout ' \""), retry_at)
    );
    store
        .outbox_failed(due[0].id, "HTTP 503", retry_at + Duration::minutes(5))
        .await
        .unwrap();
    let again = store
        .due_outbox(retry_at + Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(
        (again[0].attempts, again[0].last_error.as_deref()),
        (2, Some("HTTP 503"))
    );

    // Delivered items are never due again.
    let delivered_at = now + Duration::microseconds(17);
    store
        .outbox_delivered(due[1].id, delivered_at)
        .await
        .unwrap();
    store
        .outbox_delivered(due[0].id, delivered_at)
        .await
        .unwrap();
    let far = now + Duration::days(30);
    assert_eq!(keys(store.due_outbox(far, 10).await.unwrap()), ["k3", "k4"]);
    // Re-queueing a delivered key does not send it again.
    assert_eq!(
        store
            .enqueue_outbox(&[message("hook", "k2")])
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.due_outbox(far, 10).await.unwrap().len(), 2);
}

pub async fn outbox_status_per_channel(store: Store) {
    assert!(store.outbox_status().await.unwrap().is_empty());
    store
        .enqueue_outbox(&[
            message("mail", "m1"),
            message("mail", "m2"),
            message("mail", "m3"),
            message("hook", "h1"),
            message("hook", "h2"),
        ])
        .await
        .unwrap();
    let due = store
        .due_outbox(Utc::now() + Duration::seconds(1), 10)
        .await
        .unwrap();
    let id = |key: &str| due.iter().find(|i| i.dedupe_key == key).unwrap().id;
    let retry = Utc::now() + Duration::hours(1);
    store.outbox_failed(id("m2"), "first", retry).await.unwrap();
    tick().await;
    store
        .outbox_failed(id("m3"), "second", retry)
        .await
        .unwrap();
    store.outbox_delivered(id("m1"), t(10)).await.unwrap();
    store.outbox_delivered(id("h1"), t(20)).await.unwrap();
    store.outbox_delivered(id("h2"), t(30)).await.unwrap();

    let status = store.outbox_status().await.unwrap();
    let of = |channel: &str| {
        status
            .iter()
            .find(|s| s.channel == channel)
            .unwrap()
            .clone()
    };
    assert_eq!(status.len(), 2);
    let mail = of("mail");
    assert_eq!((mail.pending, mail.delivered), (2, 1));
    assert_eq!(mail.last_delivered_at, Some(t(10)));
    assert_eq!(
        mail.last_error.as_deref(),
        Some("second"),
        "the latest failure"
    );
    let hook = of("hook");
    assert_eq!((hook.pending, hook.delivered), (0, 2));
    assert_eq!(hook.last_delivered_at, Some(t(30)), "the latest delivery");
    assert_eq!(hook.last_error, None);

    // Once delivered, a failed item's error no longer stands for the channel.
    store.outbox_delivered(id("m3"), t(40)).await.unwrap();
    let mail = store
        .outbox_status()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.channel == "mail")
        .unwrap();
    assert_eq!((mail.pending, mail.delivered), (1, 2));
    assert_eq!(mail.last_delivered_at, Some(t(40)));
    assert_eq!(mail.last_error.as_deref(), Some("first"));
    store.outbox_delivered(id("m2"), t(50)).await.unwrap();
    let mail = store
        .outbox_status()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.channel == "mail")
        .unwrap();
    assert_eq!((mail.pending, mail.last_error), (0, None));
}

/// A batch of alerts raised at once answers as one-by-one raising would, in the order given:
/// a key already stored and a key twice in the batch are found, not raised again.
pub async fn raise_alerts_batch_answers_in_order(store: Store) {
    let (existing, _) = store
        .raise_alert(&new_alert("b|1", "r1", "high"))
        .await
        .unwrap();
    let batch = [
        new_alert("b|3", "r1", "low"),
        new_alert("b|1", "r1", "low"),
        new_alert("b|2", "r2", "medium"),
        new_alert("b|3", "r1", "critical"),
    ];
    let raised = store.raise_alerts(&batch).await.unwrap();
    let keys: Vec<(&str, bool)> = raised
        .iter()
        .map(|(a, created)| (a.dedupe_key.as_str(), *created))
        .collect();
    assert_eq!(
        keys,
        [("b|3", true), ("b|1", false), ("b|2", true), ("b|3", false)]
    );
    assert_eq!(raised[1].0, existing);
    // The second b|3 found the first, with the first's details.
    assert_eq!(raised[3].0, raised[0].0);
    assert_eq!(raised[0].0.severity, "low");
    for (alert, _) in &raised {
        assert_eq!(
            store.get_alert(alert.id).await.unwrap().as_ref(),
            Some(alert)
        );
    }
    assert!(store.raise_alerts(&[]).await.unwrap().is_empty());
}
