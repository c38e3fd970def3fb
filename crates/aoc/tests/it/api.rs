//! Every endpoint of the core API, including each 4xx case.

use serde_json::{Value, json};

use crate::common::TestApp;

async fn seeded() -> TestApp {
    let app = TestApp::start().await;
    let report = app.import("mixed.jsonl").await;
    assert_eq!(report.new, 5);
    app
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn health_and_version() {
    let app = TestApp::start().await;
    let (status, body) = app.get_json("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok", "database": "ok"}));
    let (status, body) = app.get_json("/api/version").await;
    assert_eq!(status, 200);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

/// The store really goes away: a PostgreSQL database dropped under the running server.
#[tokio::test]
async fn health_reports_503_when_the_store_is_unreachable() {
    let Ok(admin_url) = std::env::var("AOC_TEST_POSTGRES_URL") else {
        eprintln!("skipped: AOC_TEST_POSTGRES_URL is not set");
        return;
    };
    use sqlx::Connection;
    let name = format!("aoc_health_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let app = TestApp::start_with(&[("DATABASE_URL", url.as_str())]).await;
    let (status, _) = app.get_json("/health").await;
    assert_eq!(status, 200);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let (status, body) = app.get_json("/health").await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "error");
    // and the API says so with a JSON error, not a 500
    let (status, body) = app.get_json("/api/events").await;
    assert_eq!(status, 503);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn lists_newest_first_with_every_filter() {
    let app = seeded().await;
    let (status, body) = app.get_json("/api/events").await;
    assert_eq!(status, 200);
    let times: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(times.len(), 5);
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert_eq!(body["next_cursor"], Value::Null);

    let (_, body) = app.get_json("/api/events?service=Exchange").await;
    assert_eq!(ids(&body), vec!["4f6a2b1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9"]);
    let (_, body) = app.get_json("/api/events?result=failure").await;
    assert_eq!(
        ids(&body),
        vec!["Directory_0b9f1d7e-2a44-4c1b-8d3e-6f5a4b3c2d1e"]
    );
    let (_, body) = app
        .get_json("/api/events?operation=Add%20member%20to%20group")
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["actor_display"], "Zoë Šťastná");
    let (_, body) = app
        .get_json("/api/events?actor=carol%40contoso.onmicrosoft.com")
        .await;
    assert_eq!(ids(&body), vec!["8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586"]);
    let (_, body) = app
        .get_json("/api/events?start=2026-03-02T10:00:00Z&end=2026-03-02T12:05:10Z")
        .await;
    assert_eq!(
        body["items"].as_array().unwrap().len(),
        3,
        "bounds are inclusive"
    );
    let (_, body) = app
        .get_json("/api/events?service=Exchange&result=failure")
        .await;
    assert!(body["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn free_text_finds_substrings_and_raw_values() {
    let app = seeded().await;
    for (q, want) in [
        ("šťast", "Directory_8a1c3e52-5b0f-4c5e-9b61-0c7b1f2a9d01"), // actor substring, non-ASCII
        ("PAYROLL", "Directory_0b9f1d7e-2a44-4c1b-8d3e-6f5a4b3c2d1e"), // target, case-insensitive
        (
            "exfil@fabrikam.example",
            "4f6a2b1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9",
        ), // value deep in raw
        ("198.51.100.23", "8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586"),   // IP in raw
        (
            "6a5b4c3d-2e1f-0a9b-8c7d-6e5f4a3b2c1d",
            "b3c4d5e6-f7a8-4b9c-8d0e-1f2a3b4c5d6e",
        ), // GUID in raw
    ] {
        let (status, body) = app
            .get_json(&format!("/api/events?search={}", urlencode(q)))
            .await;
        assert_eq!(status, 200, "{q}");
        assert_eq!(ids(&body), vec![want.to_string()], "search {q}");
    }
    for hostile in ["\"", "NEAR(", "a*", "' OR 1=1 --", "()", "%"] {
        let (status, _) = app
            .get_json(&format!("/api/events?search={}", urlencode(hostile)))
            .await;
        assert_eq!(status, 200, "search {hostile:?} must not error");
    }
}

fn urlencode(s: &str) -> String {
    url_escape(s)
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn cursor_pages_cover_everything_once() {
    let app = seeded().await;
    let mut seen = Vec::new();
    let mut path = "/api/events?page_size=2".to_string();
    loop {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 200);
        seen.extend(ids(&body));
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/events?page_size=2&cursor={}", url_escape(c)),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 5);
}

#[tokio::test]
async fn bad_query_parameters_are_400_json() {
    let app = seeded().await;
    for path in [
        "/api/events?start=yesterday",
        "/api/events?end=2026-13-45",
        "/api/events?cursor=not-a-cursor!!",
        "/api/events?cursor=djJ8MXxh",
        "/api/events?page_size=lots",
        "/api/events?start=2026-03-03T00:00:00Z&end=2026-03-01T00:00:00Z",
        "/api/events/histogram?buckets=many",
        "/api/events/export?format=xml",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}");
        assert!(
            body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
    }
    // page_size is clamped, not rejected
    let (status, body) = app.get_json("/api/events?page_size=100000").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 5);
    let (status, body) = app.get_json("/api/events?page_size=0").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn get_by_id_and_404() {
    let app = seeded().await;
    let (status, body) = app
        .get_json("/api/events/4f6a2b1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["service"], "Exchange");
    assert_eq!(body["operation"], "Set-Mailbox");
    assert_eq!(
        body["raw"]["Parameters"][1]["Value"],
        "smtp:exfil@fabrikam.example"
    );
    let (status, body) = app.get_json("/api/events/no-such-event").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn filter_options_are_distinct_and_sorted() {
    let app = seeded().await;
    let (status, body) = app.get_json("/api/filter-options").await;
    assert_eq!(status, 200);
    let services: Vec<&str> = body["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        vec![
            "ApplicationManagement",
            "Exchange",
            "GroupManagement",
            "Intune",
            "SharePoint"
        ]
    );
    for key in ["operations", "results", "actors"] {
        let list = body[key].as_array().unwrap();
        assert!(!list.is_empty(), "{key}");
        let mut sorted: Vec<&str> = list.iter().map(|v| v.as_str().unwrap()).collect();
        let original = sorted.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(original, sorted, "{key}");
    }
}

const EXO: &str = "/api/events/4f6a2b1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9";

#[tokio::test]
async fn tags_replace_with_validation() {
    let app = seeded().await;
    let res = app
        .http
        .patch(app.url(&format!("{EXO}/tags")))
        .json(&json!({"tags": [" investigating ", "investigating", "exfil"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["tags"], json!(["investigating", "exfil"]));
    let (_, body) = app.get_json(EXO).await;
    assert_eq!(body["tags"], json!(["investigating", "exfil"]));

    let too_many: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
    for bad in [
        json!({"tags": [""]}),
        json!({"tags": ["x".repeat(65)]}),
        json!({"tags": too_many}),
        json!({"tags": "one"}),
        json!({}),
    ] {
        let res = app
            .http
            .patch(app.url(&format!("{EXO}/tags")))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].is_string());
    }
    let res = app
        .http
        .patch(app.url("/api/events/nope/tags"))
        .json(&json!({"tags": ["a"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // the failed attempts changed nothing
    let (_, body) = app.get_json(EXO).await;
    assert_eq!(body["tags"], json!(["investigating", "exfil"]));
}

#[tokio::test]
async fn comments_append_with_author_and_time() {
    let app = seeded().await;
    for text in [
        "first look: forwarding to external domain",
        "confirmed with mailbox owner",
    ] {
        let res = app
            .http
            .post(app.url(&format!("{EXO}/comments")))
            .json(&json!({"text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let (_, body) = app.get_json(EXO).await;
    let comments = body["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(
        comments[0]["text"],
        "first look: forwarding to external domain"
    );
    assert_eq!(comments[1]["author"], "anonymous");
    assert!(comments[1]["created_at"].as_str().unwrap().ends_with('Z'));

    for bad in [
        json!({"text": ""}),
        json!({"text": "   "}),
        json!({"text": "x".repeat(10_001)}),
        json!({"txt": "a"}),
    ] {
        let res = app
            .http
            .post(app.url(&format!("{EXO}/comments")))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
    let res = app
        .http
        .post(app.url("/api/events/nope/comments"))
        .json(&json!({"text": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn malformed_oversized_and_unknown_requests_are_json_errors() {
    let app = seeded().await;
    let res = app
        .http
        .patch(app.url(&format!("{EXO}/tags")))
        .header("content-type", "application/json")
        .body("{\"tags\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("malformed")
    );

    let huge = format!("{{\"text\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let res = app
        .http
        .post(app.url(&format!("{EXO}/comments")))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());

    for path in ["/api/nothing-here", "/nothing/at/all.js"] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(body["error"].is_string());
    }
    let res = app
        .http
        .delete(app.url("/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());
}

#[tokio::test]
async fn count_histogram_and_export_follow_the_filters() {
    let app = seeded().await;
    let (_, body) = app.get_json("/api/events/count?service=SharePoint").await;
    assert_eq!(body["count"], 1);
    let (status, body) = app
        .get_json("/api/events/histogram?start=2026-03-02T00:00:00Z&end=2026-03-03T00:00:00Z")
        .await;
    assert_eq!(status, 200);
    let total: u64 = body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 5);
    assert_eq!(body["bucket_seconds"], 1800);

    // Open-ended: the range starts at the oldest event's bucket (2026-03-02 09:15), not at a
    // coarse week edge before it.
    let (status, body) = app
        .get_json("/api/events/histogram?end=2026-03-03T00:00:00Z")
        .await;
    assert_eq!(status, 200);
    let start = chrono::DateTime::parse_from_rfc3339(body["start"].as_str().unwrap()).unwrap();
    let oldest = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:15:27Z").unwrap();
    let bucket = body["bucket_seconds"].as_i64().unwrap();
    assert!(
        start <= oldest && (oldest - start).num_seconds() < bucket,
        "{body}"
    );

    let res = app
        .http
        .get(app.url("/api/events/export?format=csv&service=Exchange"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        "timestamp,service,operation,result,actor,targets,summary,id,source,tags,result_detail",
        "the original ten columns first, additions after"
    );
    assert!(lines[1].contains("Set-Mailbox"));
    let last = lines[1].rsplit(',').next().unwrap();
    assert_eq!(last, "True", "the source's own outcome word: {}", lines[1]);

    let res = app
        .http
        .get(app.url("/api/events/export?format=jsonl"))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert_eq!(text.lines().count(), 5);
    for line in text.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        assert!(e["id"].is_string());
    }
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = TestApp::start().await;
    for path in ["/health", "/api/events", "/api/nope"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.contains_key("referrer-policy"));
    }
}

/// Control characters in a filter are refused up front (schemathesis found a NUL in `search`
/// reaching SQLite's full-text query as a 503, and cutting an export short).
#[tokio::test]
async fn control_characters_in_filters_are_a_400() {
    let app = seeded().await;
    for path in [
        "/api/events?search=a%00b",
        "/api/events/count?actor=x%0Ay",
        "/api/events/histogram?search=%07",
        "/api/events/export?format=jsonl&search=a%00b",
        "/api/events?operation=%1B%5B31m",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("control characters"),
            "{path}: {body}"
        );
    }
    let (status, _) = app.get_json("/api/events?search=a%20b").await;
    assert_eq!(status, 200, "a space is no control character");
}
