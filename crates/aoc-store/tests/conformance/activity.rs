//! Conformance checks of the activity log (append, newest first, id cursor, limits).

use aoc_store::{NewActivity, StoreError};
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use super::Store;

fn entry(n: i64, action: &str, target: Option<&str>) -> NewActivity {
    NewActivity {
        at: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + Duration::microseconds(n * 1001),
        actor: format!("Zoë {n}"),
        subject: (n % 2 == 0).then(|| format!("sub-{n}")),
        action: action.to_string(),
        target: target.map(str::to_string),
        detail: json!({ "n": n, "tags": ["a", "ß"], "text": "x\u{0}y" }),
    }
}

pub async fn activity_appends_and_lists_newest_first(store: Store) {
    assert!(store.list_activity(None, 10).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for n in 0..5 {
        let target = format!("ev-{n}");
        let e = entry(n, "tags.set", Some(&target));
        let id = store.append_activity(&e).await.unwrap();
        if let Some(last) = ids.last() {
            assert!(id > *last, "ids increase");
        }
        ids.push(id);
    }
    let all = store.list_activity(None, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    let got: Vec<i64> = all.iter().map(|a| a.id).collect();
    let mut want = ids.clone();
    want.reverse();
    assert_eq!(got, want, "newest first");
    // Every field round-trips, times to the microsecond.
    assert_eq!(all[0], entry(4, "tags.set", Some("ev-4")).with_id(ids[4]));
    assert_eq!(all[4], entry(0, "tags.set", Some("ev-0")).with_id(ids[0]));
}

pub async fn activity_pages_by_id_cursor(store: Store) {
    for n in 0..7 {
        let action = if n % 3 == 0 { "fetch" } else { "comment.add" };
        store
            .append_activity(&entry(n, action, None))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_activity(before, 3).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        before = page.last().map(|a| a.id);
        seen.extend(page.into_iter().map(|a| a.detail["n"].as_i64().unwrap()));
    }
    assert_eq!(seen, vec![6, 5, 4, 3, 2, 1, 0], "no gaps, no repeats");
    assert!(store.list_activity(None, 0).await.unwrap().is_empty());
    assert!(
        store
            .list_activity(Some(i64::MIN), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.list_activity(Some(i64::MAX), 10).await.unwrap().len(),
        7
    );
}

pub async fn activity_keeps_odd_text(store: Store) {
    let mut e = entry(1, "comment.add", Some("id with ' \" ; -- and \u{0}"));
    e.actor = "Robert'); DROP TABLE activity;--".into();
    e.detail = json!({ "text": "\u{0}\u{1F600}", "nested": { "list": [1, null, true] } });
    store.append_activity(&e).await.unwrap();
    let got = store.list_activity(None, 1).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].actor, e.actor);
    assert_eq!(
        got[0].detail, e.detail,
        "detail JSON round-trips, NUL escape included"
    );
    // PostgreSQL text cannot hold NUL: the store may replace it, but must keep the rest.
    let target = got[0].target.clone().unwrap();
    assert!(target.starts_with("id with ' \" ; -- and "));
    // The log is not part of the event data.
    assert_eq!(store.count().await.unwrap(), 0);
    let _ = StoreError::Unsupported("x");
}
