//! The MCP tools through a real rmcp client over an in-memory pipe, against a SQLite store
//! holding Exchange and SharePoint events with `PRIVACY_SERVICES=exchange`: a caller without
//! the privacy role never gets an Exchange event from any tool, one with it does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

use aoc_app::alerting::SavedSearchBody;
use aoc_app::{AppContext, Caller, Settings};
use aoc_mcp::{AocMcp, CallerSource};

const PRIVACY_ROLE: &str = "Privacy.Reader";
const TOOLS: [&str; 8] = [
    "search_events",
    "get_event",
    "get_summary",
    "get_timeline",
    "list_alerts",
    "get_source_health",
    "ask",
    "explain_event",
];

struct Fixture {
    ctx: Arc<AppContext>,
    _dir: tempfile::TempDir,
}

/// Five Exchange and five SharePoint records by one admin, a minute apart.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = HashMap::new();
    vars.insert(
        "DATABASE_URL".to_string(),
        format!("sqlite://{}", dir.path().join("aoc.db").display()),
    );
    vars.insert("PRIVACY_SERVICES".into(), "exchange".into());
    vars.insert("PRIVACY_SERVICE_ROLES".into(), PRIVACY_ROLE.into());
    vars.insert("AI_FEATURES_ENABLED".into(), "true".into());
    let settings = Settings::from_map(&vars).unwrap();
    let ctx = AppContext::open(settings).await.unwrap();

    let path = dir.path().join("records.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap();
    for (w, workload) in ["Exchange", "SharePoint"].iter().enumerate() {
        for i in 0..5 {
            let at = start + TimeDelta::minutes((w * 5 + i) as i64);
            let record = json!({
                "Id": format!("00000000-0000-4000-8000-{:012}", w * 100 + i),
                "RecordType": 1,
                "CreationTime": at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "Operation": format!("{workload}Op{i}"),
                "OrganizationId": "11111111-1111-4111-8111-111111111111",
                "UserType": 2,
                "UserKey": "admin@contoso.example",
                "Workload": workload,
                "UserId": "admin@contoso.example",
                "ObjectId": format!("{workload}-object-{i}"),
                "ResultStatus": "Succeeded",
            });
            writeln!(file, "{record}").unwrap();
        }
    }
    drop(file);
    let report = ctx
        .import(
            &[path],
            &aoc_app::import::NoProgress,
            &Caller::system("test"),
        )
        .await
        .unwrap();
    assert_eq!(report.new, 10);
    Fixture { ctx, _dir: dir }
}

async fn connect(ctx: Arc<AppContext>, caller: Caller) -> RunningService<RoleClient, ()> {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let server = AocMcp::new(ctx, CallerSource::Fixed(caller))
            .serve(server_io)
            .await
            .unwrap();
        let _ = server.waiting().await;
    });
    ().serve(client_io).await.unwrap()
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap()
}

fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn reader() -> Caller {
    Caller {
        name: "reader".into(),
        subject: Some("reader-sub".into()),
        ..Caller::default()
    }
}

fn privacy_officer() -> Caller {
    Caller {
        name: "officer".into(),
        subject: Some("officer-sub".into()),
        roles: vec![PRIVACY_ROLE.into()],
        ..Caller::default()
    }
}

/// Whether an answer tells of an Exchange event: its service as a value, its operation or
/// object, in the structured content or the text (a tool echoing the caller's own filter word
/// tells nothing).
fn mentions_exchange(result: &CallToolResult) -> bool {
    let structured = result
        .structured_content
        .as_ref()
        .map(|v| v.to_string())
        .unwrap_or_default();
    let text = text_of(result);
    structured.contains("\"Exchange\"")
        || structured.contains("ExchangeOp")
        || text.contains("ExchangeOp")
        || text.contains("[Exchange]")
        || text.lines().any(|l| l.trim_end().ends_with(" Exchange"))
}

#[tokio::test]
async fn tools_are_listed_with_described_input_schemas() {
    let f = fixture().await;
    let client = connect(f.ctx.clone(), Caller::system("mcp")).await;
    let tools = client.list_tools(None).await.unwrap().tools;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for tool in TOOLS {
        assert!(names.contains(&tool), "{tool} missing from {names:?}");
    }
    let search = tools.iter().find(|t| t.name == "search_events").unwrap();
    assert!(search.description.as_deref().unwrap_or("").len() > 20);
    let schema = Value::Object((*search.input_schema).clone());
    assert!(
        schema["properties"]["service"]["description"]
            .as_str()
            .unwrap()
            .contains("service"),
        "{schema}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn no_tool_gives_a_hidden_event_to_a_caller_without_the_role() {
    let f = fixture().await;
    let exchange_id = {
        let page = f
            .ctx
            .events
            .list(&Default::default(), &privacy_officer())
            .await
            .unwrap();
        page.items
            .iter()
            .find(|e| e.service == "Exchange")
            .unwrap()
            .id
            .clone()
    };

    for caller in [Caller::system("mcp"), reader()] {
        let client = connect(f.ctx.clone(), caller).await;
        let answers = [
            call(&client, "search_events", json!({"page_size": 500})).await,
            call(&client, "search_events", json!({"service": "Exchange"})).await,
            call(&client, "get_summary", json!({})).await,
            call(
                &client,
                "get_timeline",
                json!({"actor": "admin@contoso.example"}),
            )
            .await,
            call(&client, "get_timeline", json!({"target": "Exchange"})).await,
            call(&client, "list_alerts", json!({})).await,
        ];
        for answer in &answers {
            assert!(!mentions_exchange(answer), "{:?}", answer);
        }
        // The question names Exchange, so the answer may echo the word; it must hold none of
        // its events, and a ranking over everything counts none of them.
        let asked = call(
            &client,
            "ask",
            json!({"question": "what happened in Exchange?"}),
        )
        .await;
        let asked = asked.structured_content.unwrap();
        assert_eq!(asked["total"], 0, "{asked}");
        assert!(asked["events"].as_array().unwrap().is_empty());
        let ranked = call(&client, "ask", json!({"question": "top 5 operations"})).await;
        assert!(!mentions_exchange(&ranked), "{ranked:?}");
        assert!(
            text_of(&ranked).contains("SharePointOp"),
            "{}",
            text_of(&ranked)
        );

        let summary = answers[2].structured_content.as_ref().unwrap();
        assert_eq!(summary["total"], 5, "{summary}");

        let explained = call(&client, "explain_event", json!({"id": exchange_id})).await;
        assert_eq!(explained.is_error, Some(true));
        assert!(!mentions_exchange(&explained));
        let hidden = call(&client, "get_event", json!({"id": exchange_id})).await;
        assert_eq!(hidden.is_error, Some(true));
        assert!(
            text_of(&hidden).contains("not found"),
            "{}",
            text_of(&hidden)
        );
        client.cancel().await.unwrap();
    }

    // The same calls with the role do show Exchange: the checks above can fail.
    let client = connect(f.ctx.clone(), privacy_officer()).await;
    let summary = call(&client, "get_summary", json!({})).await;
    assert!(mentions_exchange(&summary));
    assert_eq!(summary.structured_content.as_ref().unwrap()["total"], 10);
    let event = call(&client, "get_event", json!({"id": exchange_id})).await;
    assert_eq!(event.is_error, Some(false));
    assert_eq!(
        event.structured_content.as_ref().unwrap()["service"],
        "Exchange"
    );
    let explained = call(&client, "explain_event", json!({"id": exchange_id})).await;
    assert_eq!(explained.is_error, Some(false), "{explained:?}");
    assert_eq!(
        explained.structured_content.as_ref().unwrap()["event_id"],
        exchange_id.as_str()
    );
    let asked = call(
        &client,
        "ask",
        json!({"question": "what happened in Exchange?"}),
    )
    .await;
    assert_eq!(asked.structured_content.as_ref().unwrap()["total"], 5);
    let ranked = call(&client, "ask", json!({"question": "top 5 operations"})).await;
    assert!(mentions_exchange(&ranked), "{ranked:?}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn answers_are_structured_with_readable_text_and_refusals_are_tool_errors() {
    let f = fixture().await;
    let client = connect(f.ctx.clone(), reader()).await;

    let page = call(&client, "search_events", json!({"page_size": 2})).await;
    let structured = page.structured_content.as_ref().unwrap();
    assert_eq!(structured["events"].as_array().unwrap().len(), 2);
    assert!(structured["next_cursor"].is_string());
    let text = text_of(&page);
    assert!(
        text.contains("SharePointOp4") && text.contains("cursor="),
        "{text}"
    );

    // The cursor leads on to the older events.
    let next = call(
        &client,
        "search_events",
        json!({"page_size": 2, "cursor": structured["next_cursor"]}),
    )
    .await;
    assert_eq!(
        next.structured_content.as_ref().unwrap()["events"][0]["operation"],
        "SharePointOp2"
    );

    let timeline = call(
        &client,
        "get_timeline",
        json!({"actor": "admin@contoso.example", "limit": 3}),
    )
    .await;
    let t = timeline.structured_content.as_ref().unwrap();
    let ops: Vec<&str> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["SharePointOp2", "SharePointOp3", "SharePointOp4"]);
    assert_eq!(t["truncated"], true);

    let bad = call(&client, "search_events", json!({"start": "yesterday-ish"})).await;
    assert_eq!(bad.is_error, Some(true));
    assert!(text_of(&bad).contains("invalid start"), "{}", text_of(&bad));
    let nobody = call(&client, "get_timeline", json!({})).await;
    assert_eq!(nobody.is_error, Some(true));

    let health = call(&client, "get_source_health", json!({})).await;
    assert_eq!(health.is_error, Some(false));
    assert!(health.structured_content.as_ref().unwrap()["sources"].is_array());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn saved_searches_are_resources_of_their_owner() {
    let f = fixture().await;
    let body = SavedSearchBody {
        name: "SharePoint by admin".into(),
        filters: json!({"service": "SharePoint", "actor": "admin@contoso.example"}),
        shared: false,
    };
    let saved = f.ctx.saved_searches.create(&body, &reader()).await.unwrap();

    let client = connect(f.ctx.clone(), reader()).await;
    let resources = client.list_resources(None).await.unwrap().resources;
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].name, "SharePoint by admin");
    let uri = resources[0].uri.clone();
    assert!(uri.ends_with(&saved.id));
    let read = client
        .read_resource(ReadResourceRequestParams::new(uri.clone()))
        .await
        .unwrap();
    let text = serde_json::to_string(&read.contents).unwrap();
    assert!(text.contains("SharePoint"), "{text}");
    client.cancel().await.unwrap();

    // Someone else neither lists nor reads it.
    let other = connect(f.ctx.clone(), privacy_officer()).await;
    assert!(
        other
            .list_resources(None)
            .await
            .unwrap()
            .resources
            .is_empty()
    );
    assert!(
        other
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .is_err()
    );
    other.cancel().await.unwrap();
}
