//! Privacy gating through every door, on SQLite and PostgreSQL: with
//! `PRIVACY_SERVICES=exchange,teams` (lower case, and `teams` for the stored `MicrosoftTeams`)
//! a caller without the privacy role sees no Exchange or Teams event through any endpoint.

use std::collections::HashSet;
use std::io::Write;

use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};

use aoc_app::Caller;

use crate::common::{TestApp, percent_encode};

const HIDDEN: [&str; 2] = ["Exchange", "MicrosoftTeams"];
const WORKLOADS: [&str; 4] = [
    "Exchange",
    "MicrosoftTeams",
    "SharePoint",
    "AzureActiveDirectory",
];
const PER_WORKLOAD: usize = 5;

/// Management API records, `PER_WORKLOAD` of each workload, one a minute.
fn records_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("records.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap();
    for (w, workload) in WORKLOADS.iter().enumerate() {
        for i in 0..PER_WORKLOAD {
            let at = start + TimeDelta::minutes((w * PER_WORKLOAD + i) as i64);
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
    path
}

pub(crate) async fn fresh_postgres(name: &str) -> Option<String> {
    let Ok(admin_url) = std::env::var("AOC_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs every backend: set AOC_TEST_POSTGRES_URL"
        );
        eprintln!("skipped PostgreSQL: AOC_TEST_POSTGRES_URL is not set");
        return None;
    };
    use sqlx::Connection;
    let db = format!("aoc_{name}_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&db);
    Some(url.to_string())
}

async fn all_pages(app: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = format!("/api/events?page_size=7&{query}");
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/events?page_size=7&{query}&cursor={c}"),
            None => return items,
        }
    }
}

fn services(events: &[Value]) -> HashSet<String> {
    events
        .iter()
        .map(|e| e["service"].as_str().unwrap().to_string())
        .collect()
}

async fn text(app: &TestApp, path: &str) -> String {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "{path}");
    res.text().await.unwrap()
}

/// Every read door, checked against the truth of the imported file.
async fn nothing_gated_leaks(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = vec![
        ("PRIVACY_SERVICES", "exchange, teams".to_string()),
        ("PRIVACY_SERVICE_ROLES", "AOC.Privacy".to_string()),
        ("RATE_LIMIT_ENABLED", "false".to_string()),
    ];
    if let Some(url) = &database_url {
        vars.push(("DATABASE_URL", url.clone()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::start_with(&vars).await;
    let report = aoc::commands::import::import_files(&app.ctx, &[records_file(dir.path())], false)
        .await
        .unwrap();
    assert_eq!(report.new as usize, WORKLOADS.len() * PER_WORKLOAD);
    let visible = (WORKLOADS.len() - HIDDEN.len()) * PER_WORKLOAD;

    // list (every page), and filtering straight for a gated service
    let listed = all_pages(&app, "").await;
    assert_eq!(listed.len(), visible);
    assert_eq!(
        services(&listed),
        HashSet::from(["SharePoint".into(), "AzureActiveDirectory".into()])
    );
    for service in HIDDEN.iter().chain(&["exchange", "MICROSOFTTEAMS"]) {
        assert!(
            all_pages(&app, &format!("service={service}"))
                .await
                .is_empty()
        );
        let (_, count) = app
            .get_json(&format!("/api/events/count?service={service}"))
            .await;
        assert_eq!(count["count"], 0, "{service}");
    }
    // free text that only gated events carry
    assert!(all_pages(&app, "search=MicrosoftTeamsOp1").await.is_empty());

    // count and histogram
    let (_, count) = app.get_json("/api/events/count").await;
    assert_eq!(count["count"], visible);
    let (status, histogram) = app
        .get_json("/api/events/histogram?start=2026-11-02T00:00:00Z&end=2026-11-03T00:00:00Z")
        .await;
    assert_eq!(status, 200, "{histogram}");
    let drawn: u64 = histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(drawn as usize, visible);

    // exports, both formats
    let csv = text(&app, "/api/events/export?format=csv").await;
    assert_eq!(csv.lines().count(), visible + 1, "{csv}");
    let jsonl = text(&app, "/api/events/export?format=jsonl").await;
    let exported: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exported.len(), visible);
    for hidden in HIDDEN {
        assert!(!csv.contains(hidden), "{hidden} in the CSV export");
        assert!(!services(&exported).contains(hidden));
    }

    // filter options
    let (_, options) = app.get_json("/api/filter-options").await;
    let offered: Vec<&str> = options["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(offered, ["AzureActiveDirectory", "SharePoint"], "{options}");
    assert!(
        !options["operations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o.as_str().unwrap().starts_with("Exchange")),
        "{options}"
    );

    // get, tag and comment on a gated event: as if it did not exist
    let privileged = Caller {
        roles: vec!["aoc.privacy".into()],
        ..Caller::system("test")
    };
    let gated = app
        .ctx
        .events
        .list(
            &aoc_app::events::EventParams {
                service: Some("MicrosoftTeams".into()),
                ..Default::default()
            },
            &privileged,
        )
        .await
        .unwrap();
    assert_eq!(gated.items.len(), PER_WORKLOAD, "the role lifts the gate");
    let id = percent_encode(&gated.items[0].id);
    let (status, _) = app.get_json(&format!("/api/events/{id}")).await;
    assert_eq!(status, 404);
    let res = app
        .http
        .patch(app.url(&format!("/api/events/{id}/tags")))
        .json(&json!({"tags": ["x"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let res = app
        .http
        .post(app.url(&format!("/api/events/{id}/comments")))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);

    // activity about a gated event (written by someone allowed to) stays hidden
    app.ctx
        .events
        .add_comment(&gated.items[0].id, "reviewed", &privileged)
        .await
        .unwrap();
    let (_, log) = app.get_json("/api/activity").await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["import"], "{log}");
}

#[tokio::test]
async fn gated_services_stay_hidden_through_every_endpoint_on_sqlite() {
    nothing_gated_leaks(None).await;
}

#[tokio::test]
async fn gated_services_stay_hidden_through_every_endpoint_on_postgres() {
    if let Some(url) = fresh_postgres("privacy").await {
        nothing_gated_leaks(Some(url)).await;
    }
}
