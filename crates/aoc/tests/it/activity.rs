//! The activity log through HTTP: tag changes, comments, fetches and imports are recorded with
//! who, what, when and the event acted on; `GET /api/activity` reads them newest first, pages by
//! cursor, follows privacy gating, and is closed without a token when sign-in is on. (Fetches by
//! the CLI, the scheduler and webhooks are checked in `ingest.rs`.)

use serde_json::{Value, json};

use crate::common::{TestApp, percent_encode};
use crate::signin::Demo;

async fn first_event_id(app: &TestApp, token: Option<&str>, query: &str) -> String {
    let mut req = app.http.get(app.url(&format!("/api/events?{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let page: Value = req.send().await.unwrap().json().await.unwrap();
    page["items"][0]["id"].as_str().unwrap().to_string()
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn writes_are_recorded_newest_first() {
    let app = TestApp::start().await;
    app.import("mixed.jsonl").await;
    let (status, log) = app.get_json("/api/activity").await;
    assert_eq!(status, 200);
    let import = &log["items"][0];
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(import["action"], "import");
    assert_eq!(import["actor"], "import", "the CLI import names itself");
    assert_eq!(import["detail"]["outcome"], "ok");
    assert!(import["detail"]["new"].as_u64().unwrap() > 0, "{log}");
    assert!(
        import["detail"]["files"][0]
            .as_str()
            .unwrap()
            .ends_with("mixed.jsonl")
    );

    let id = first_event_id(&app, None, "").await;
    let enc = percent_encode(&id);
    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/events/{enc}/tags"),
        None,
        Some(json!({ "tags": ["  suspicious ", "reviewed"] })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/events/{enc}/comments"),
        None,
        Some(json!({ "text": "Checked with the owner." })),
    )
    .await;
    assert_eq!(status, 200);
    // A refused write is not an action: nothing recorded.
    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        "/api/events/no-such-event/tags",
        None,
        Some(json!({ "tags": ["x"] })),
    )
    .await;
    assert_eq!(status, 404);
    // Fetching without Microsoft 365 settings fails, and the attempt is recorded.
    let (status, _) = app.get_json("/api/fetch-audit-logs?hours=24").await;
    assert!(status >= 400, "{status}");

    let (status, log) = app.get_json("/api/activity").await;
    assert_eq!(status, 200);
    let items = log["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["fetch", "comment.add", "tags.set", "import"],
        "newest first"
    );
    assert!(items[..3].iter().all(|a| a["actor"] == "anonymous"));
    assert!(
        items[..3]
            .iter()
            .all(|a| a["detail"]["client_ip"] == "127.0.0.1"),
        "HTTP callers are recorded with their address: {log}"
    );
    assert_eq!(items[2]["target"], id.as_str());
    assert_eq!(
        items[2]["detail"]["tags"],
        json!(["suspicious", "reviewed"])
    );
    assert_eq!(items[1]["target"], id.as_str());
    assert_eq!(items[1]["detail"]["excerpt"], "Checked with the owner.");
    assert_eq!(items[0]["target"], Value::Null);
    assert_eq!(items[0]["detail"]["outcome"], "failed");
    assert_eq!(items[0]["detail"]["hours"], 24);
    let at =
        |i: usize| chrono::DateTime::parse_from_rfc3339(items[i]["at"].as_str().unwrap()).unwrap();
    assert!(at(0) >= at(1) && at(1) >= at(2));
}

#[tokio::test]
async fn activity_pages_and_checks_its_parameters() {
    let app = TestApp::start().await;
    app.import("mixed.jsonl").await;
    let id = percent_encode(&first_event_id(&app, None, "").await);
    for n in 0..5 {
        let (status, _) = send(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/events/{id}/tags"),
            None,
            Some(json!({ "tags": [format!("t{n}")] })),
        )
        .await;
        assert_eq!(status, 200);
    }
    let mut seen = Vec::new();
    let mut path = "/api/activity?limit=2".to_string();
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .filter(|a| a["action"] == "tags.set")
                .map(|a| a["detail"]["tags"][0].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/activity?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["t4", "t3", "t2", "t1", "t0"]);
    for bad in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "cursor=-1",
        "cursor=abc",
        "cursor=1e3",
    ] {
        let (status, body) = app.get_json(&format!("/api/activity?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn signed_in_users_are_named_and_gating_applies() {
    let demo = Demo::start(&[]).await;
    let app = &demo.app;
    app.import("mixed.jsonl").await;
    let (status, _) = app.get_json("/api/activity").await;
    assert_eq!(status, 401, "the log needs a token like every /api route");
    let nobody = demo.access_token("nobody").await;
    assert_eq!(app.get_bearer("/api/activity", &nobody).await.0, 403);

    let admin = demo.access_token("admin").await;
    let reader = demo.access_token("reader").await;
    // The admin comments on an Exchange event (privacy-gated) and tags another one.
    let gated = percent_encode(&first_event_id(app, Some(&admin), "service=Exchange").await);
    let open = first_event_id(app, Some(&reader), "").await;
    let (status, event) = send(
        app,
        reqwest::Method::POST,
        &format!("/api/events/{gated}/comments"),
        Some(&admin),
        Some(json!({ "text": "mailbox change approved" })),
    )
    .await;
    assert_eq!(status, 200);
    let comments = event["comments"].as_array().unwrap();
    assert_eq!(
        comments.last().unwrap()["author"],
        "Adele Vance",
        "comments name the signed-in user"
    );
    let (status, _) = send(
        app,
        reqwest::Method::PATCH,
        &format!("/api/events/{}/tags", percent_encode(&open)),
        Some(&reader),
        Some(json!({ "tags": ["triaged"] })),
    )
    .await;
    assert_eq!(status, 200);

    let (_, log, _) = app.get_bearer("/api/activity", &admin).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{log}");
    assert_eq!(items[2]["action"], "import");
    assert_eq!(items[0]["actor"], "Megan Bowen");
    assert_eq!(items[0]["action"], "tags.set");
    assert!(items[0]["subject"].is_string(), "the token subject is kept");
    assert_eq!(items[1]["actor"], "Adele Vance");
    assert_eq!(items[1]["action"], "comment.add");

    // The reader may not see the Exchange event, so not the log entry about it either.
    let (_, log, _) = app.get_bearer("/api/activity", &reader).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{log}");
    assert_eq!(items[0]["target"], open.as_str());
    assert_eq!(items[1]["action"], "import");
}
