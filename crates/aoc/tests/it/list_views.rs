//! `GET /api/events?view=`: the default and `full` are the whole events as before, `summary`
//! the same rows and cursors without the source's own objects, gated alike; anything else is
//! a 400 naming the parameter.

use serde_json::Value;

use crate::common::{TestApp, percent_encode};

const EXCHANGE_EVENT: &str = "4f6a2b1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9";

/// Every page of `query` at two events a page.
async fn walk(app: &TestApp, query: &str) -> (Vec<Value>, Vec<String>) {
    let mut items = Vec::new();
    let mut cursors = Vec::new();
    let mut path = format!("/api/events?page_size=2&{query}");
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => {
                cursors.push(c.to_string());
                path = format!(
                    "/api/events?page_size=2&{query}&cursor={}",
                    percent_encode(c)
                );
            }
            None => return (items, cursors),
        }
    }
}

fn without_record(mut event: Value) -> Value {
    let object = event.as_object_mut().unwrap();
    for key in ["raw", "actor", "targets"] {
        assert!(object.remove(key).is_some(), "a whole event has {key}");
    }
    event
}

#[tokio::test]
async fn summary_rows_are_the_full_rows_without_the_record() {
    let app = TestApp::start().await;
    assert_eq!(app.import("mixed.jsonl").await.new, 5);

    let (default, default_cursors) = walk(&app, "").await;
    let (full, full_cursors) = walk(&app, "view=full").await;
    assert_eq!(default.len(), 5);
    assert_eq!((&full, &full_cursors), (&default, &default_cursors));
    assert!(default.iter().all(|e| e["raw"].is_object()));

    let (lean, lean_cursors) = walk(&app, "view=summary").await;
    assert_eq!(lean_cursors, default_cursors);
    let expected: Vec<Value> = default.into_iter().map(without_record).collect();
    assert_eq!(lean, expected);

    // One event brings the rest.
    let id = lean[0]["id"].as_str().unwrap();
    let (status, event) = app
        .get_json(&format!("/api/events/{}", percent_encode(id)))
        .await;
    assert_eq!(status, 200);
    assert!(event["raw"].is_object());

    // Filters and free text apply to both views alike.
    let (lean, _) = walk(&app, "view=summary&service=Exchange").await;
    assert_eq!(lean.len(), 1);
    assert_eq!(lean[0]["id"], EXCHANGE_EVENT);
}

#[tokio::test]
async fn a_bad_view_is_a_400_naming_the_parameter() {
    let app = TestApp::start().await;
    // Like every filter, an empty parameter is one not given.
    let (status, body) = app.get_json("/api/events?view=").await;
    assert_eq!(status, 200, "{body}");
    for view in ["FULL", "lean", "summary,full", "x%00"] {
        let (status, body) = app.get_json(&format!("/api/events?view={view}")).await;
        assert_eq!(status, 400, "view={view}: {body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains("view"), "{message}");
    }
}

#[tokio::test]
async fn summaries_are_gated_like_full_rows() {
    let app = TestApp::start_with(&[("PRIVACY_SERVICES", "exchange")]).await;
    assert_eq!(app.import("mixed.jsonl").await.new, 5);
    let (full, cursors) = walk(&app, "").await;
    let (lean, lean_cursors) = walk(&app, "view=summary").await;
    assert_eq!(full.len(), 4);
    assert_eq!(lean_cursors, cursors);
    assert_eq!(
        lean,
        full.into_iter().map(without_record).collect::<Vec<_>>()
    );
    let (lean, _) = walk(&app, "view=summary&service=Exchange").await;
    assert!(lean.is_empty());
    let (lean, _) = walk(&app, "view=summary&search=exchange").await;
    assert!(lean.iter().all(|e| e["id"] != EXCHANGE_EVENT));
}
