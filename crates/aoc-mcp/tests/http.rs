//! The HTTP routes on their own: a request that reaches them without a caller (the front door
//! forgot the layer that sets one) gets no data, and an SSE session refuses another caller.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};

use aoc_app::{AppContext, Caller, Settings};

const SUBJECT_HEADER: &str = "x-test-subject";

/// Stands in for the server's auth layer: the caller named by a test header.
async fn caller_from_header(mut req: Request, next: Next) -> Response {
    if let Some(subject) = req
        .headers()
        .get(SUBJECT_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        let caller = Caller {
            name: subject.to_string(),
            subject: Some(subject.to_string()),
            ..Caller::default()
        };
        req.extensions_mut().insert(caller);
    }
    next.run(req).await
}

async fn serve(with_callers: bool) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let map: HashMap<String, String> = [(
        "DATABASE_URL".to_string(),
        format!("sqlite://{}", dir.path().join("aoc.db").display()),
    )]
    .into_iter()
    .collect();
    let ctx = AppContext::open(Settings::from_map(&map).unwrap())
        .await
        .unwrap();
    let mut app: axum::Router = aoc_mcp::http::router(ctx);
    if with_callers {
        app = app.layer(axum::middleware::from_fn(caller_from_header));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, dir)
}

async fn post_mcp(http: &reqwest::Client, base: &str, body: Value) -> Value {
    let res = http
        .post(format!("{base}/mcp"))
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_request_without_a_caller_gets_no_data() {
    let (base, _dir) = serve(false).await;
    let http = reqwest::Client::new();
    let init = post_mcp(
        &http,
        &base,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}}),
    )
    .await;
    assert_eq!(init["result"]["serverInfo"]["name"], "aoc", "{init}");
    let call = post_mcp(
        &http,
        &base,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "search_events", "arguments": {}}}),
    )
    .await;
    assert!(call.get("result").is_none(), "{call}");
    assert!(
        call["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no caller"),
        "{call}"
    );
}

#[tokio::test]
async fn an_sse_session_belongs_to_its_opener() {
    let (base, _dir) = serve(true).await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{base}/mcp/sse"))
        .header(SUBJECT_HEADER, "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let mut text = String::new();
    let endpoint = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(line) = text.lines().find(|l| l.starts_with("data:")) {
                return line.trim_start_matches("data:").trim().to_string();
            }
            let chunk = stream.next().await.unwrap().unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await
    .unwrap();
    assert!(
        endpoint.starts_with("/mcp/messages/?session_id="),
        "{endpoint}"
    );

    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    for (who, status) in [("mallory", 404), ("alice", 202)] {
        let res = http
            .post(format!("{base}{endpoint}"))
            .header(SUBJECT_HEADER, who)
            .header("Content-Type", "application/json")
            .body(ping)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{who}");
    }
    let garbage = http
        .post(format!("{base}{endpoint}"))
        .header(SUBJECT_HEADER, "alice")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
}

#[tokio::test]
async fn one_caller_cannot_hold_every_session() {
    let (base, _dir) = serve(true).await;
    let http = reqwest::Client::new();
    let open = |who: &'static str| {
        http.get(format!("{base}/mcp/sse"))
            .header(SUBJECT_HEADER, who)
            .send()
    };
    let mut streams = Vec::new();
    for _ in 0..aoc_mcp::http::MAX_SESSIONS_PER_CALLER {
        let res = open("greedy").await.unwrap();
        assert_eq!(res.status(), 200);
        streams.push(res);
    }
    assert_eq!(open("greedy").await.unwrap().status(), 429);
    assert_eq!(open("someone-else").await.unwrap().status(), 200);
    // Closing one gives its place back.
    drop(streams.pop());
    let reopened = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let res = open("greedy").await.unwrap();
            if res.status() == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        reopened.is_ok(),
        "a closed stream's session was not released"
    );
}
