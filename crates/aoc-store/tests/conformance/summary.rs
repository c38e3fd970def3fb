//! Conformance checks of list rows (`search_summaries`): for any query, the same events in
//! the same order with the same cursors as `search`, every field but the record's own
//! objects.

use aoc_domain::{Comment, Cursor, EventQuery, EventSummary, Page, SummaryPage};
use serde_json::json;

use super::{Store, event, insert, q, t, text};

/// Walk every page of `query` both ways and compare them page by page.
async fn assert_same_walk(store: &Store, query: EventQuery, what: &str) -> usize {
    let mut full_query = query.clone();
    let mut lean_query = query;
    let mut seen = 0;
    loop {
        let full: Page = store.search(&full_query).await.unwrap();
        let lean: SummaryPage = store.search_summaries(&lean_query).await.unwrap();
        let expected: SummaryPage = full.clone().into();
        assert_eq!(lean, expected, "{what}: page after {seen} rows");
        // The JSON of a summary carries no record.
        for item in &lean.items {
            let value = serde_json::to_value(item).unwrap();
            for gone in ["raw", "actor", "targets"] {
                assert!(value.get(gone).is_none(), "{what}: {gone} in a summary");
            }
        }
        seen += lean.items.len();
        match (full.next_cursor, lean.next_cursor) {
            (Some(a), Some(b)) => {
                full_query.cursor = Some(Cursor::decode(&a).unwrap());
                lean_query.cursor = Some(Cursor::decode(&b).unwrap());
            }
            (None, None) => return seen,
            other => panic!("{what}: cursors differ: {other:?}"),
        }
    }
}

pub async fn summaries_match_full_pages(store: Store) {
    // Ties on the timestamp, several services and operations, text common enough (over 2000
    // candidates) for SQLite's newest-window plan, and a few rare words.
    let events: Vec<_> = (0..2400)
        .map(|i| {
            let mut e = event(&format!("s{i:04}"), i / 4);
            e.display_summary = format!("Routine change number {i}");
            e.raw = json!({"Marker": "everywhere", "N": i, "Deep": {"Rare": format!("r{i}")}});
            if i % 5 == 0 {
                e.service = "SharePoint".into();
                e.operation = "FileAccessed".into();
            }
            if i % 7 == 0 {
                e.result = "failure".into();
                e.actor_display = "bob@contoso.com".into();
            }
            e
        })
        .collect();
    for chunk in events.chunks(1000) {
        insert(&store, chunk).await;
    }
    store
        .set_tags("s0042", &["reviewed".into(), "ß".into()])
        .await
        .unwrap()
        .unwrap();
    let comment = Comment {
        author: "Zoë".into(),
        text: "looked at it".into(),
        created_at: t(9),
    };
    store.add_comment("s0042", &comment).await.unwrap().unwrap();

    let paged = |query: EventQuery| EventQuery {
        page_size: 97,
        ..query
    };
    let all = assert_same_walk(&store, paged(q()), "everything").await;
    assert_eq!(all, 2400);
    let one = store
        .search_summaries(&EventQuery {
            search: Some("number 42".into()),
            ..q()
        })
        .await
        .unwrap();
    let row = one.items.iter().find(|e| e.id == "s0042").unwrap();
    assert_eq!(row.tags, ["reviewed", "ß"]);
    assert_eq!(row.comments, [comment]);
    let expected: EventSummary = store.get("s0042").await.unwrap().unwrap().into();
    assert_eq!(*row, expected);

    let filtered = EventQuery {
        service: Some("SharePoint".into()),
        result: Some("Failure".into()),
        start: Some(t(10)),
        end: Some(t(400)),
        ..q()
    };
    assert!(assert_same_walk(&store, paged(filtered), "filters").await > 0);
    let hidden = EventQuery {
        hidden_services: vec!["sharepoint".into()],
        hidden_operations: vec!["SET-MAILBOX".into()],
        ..q()
    };
    assert_eq!(
        assert_same_walk(&store, paged(hidden.clone()), "hidden").await,
        0
    );
    let hidden_service = EventQuery {
        hidden_services: vec!["SharePoint".into()],
        ..q()
    };
    assert_eq!(
        assert_same_walk(&store, paged(hidden_service), "hidden service").await,
        1920
    );
    assert_eq!(
        assert_same_walk(&store, paged(text("routine change")), "common text").await,
        2400
    );
    assert_eq!(
        assert_same_walk(&store, paged(text("EVERYWHERE")), "common raw word").await,
        2400
    );
    assert_eq!(
        assert_same_walk(&store, paged(text("r1234")), "rare raw word").await,
        1
    );
    let gated_text = EventQuery {
        actor: Some("bob@contoso.com".into()),
        ..hidden_with_text(&hidden, "routine")
    };
    assert_eq!(
        assert_same_walk(&store, paged(gated_text), "gated text").await,
        0
    );
    let mid = EventQuery {
        page_size: 50,
        cursor: Some(Cursor::new(t(300), "s1201")),
        ..text("routine")
    };
    assert!(assert_same_walk(&store, mid, "from a cursor").await > 0);
}

fn hidden_with_text(hidden: &EventQuery, s: &str) -> EventQuery {
    EventQuery {
        search: Some(s.to_string()),
        ..hidden.clone()
    }
}
