//! Ingest and query throughput on realistic-looking events.
//!
//! `cargo bench -p aoc-store --bench ingest -- [events] [database_url]`
//! (defaults: 200000 events into a temporary SQLite file). Prints rates; asserts nothing.
//! With `AOC_BENCH_QUERY_ONLY=1` it skips inserting and only runs the queries (against a
//! database an earlier run with the same event count filled).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use aoc_domain::{Event, EventQuery, Source};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// A small deterministic generator, so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

const OPERATIONS: [&str; 8] = [
    "FileAccessed",
    "FileModified",
    "UserLoggedIn",
    "Set-Mailbox",
    "MailItemsAccessed",
    "Add member to group",
    "Update user",
    "SharingSet",
];
const SERVICES: [&str; 5] = [
    "SharePoint",
    "Exchange",
    "AzureActiveDirectory",
    "MicrosoftTeams",
    "OneDrive",
];

fn make_event(rng: &mut Rng, i: u64, base: DateTime<Utc>) -> Event {
    let id = rng.guid();
    let user = format!("user{}@contoso.com", rng.below(5000));
    let op = OPERATIONS[usize::try_from(rng.below(8)).unwrap()];
    let service = SERVICES[usize::try_from(rng.below(5)).unwrap()];
    let file = format!(
        "Document {} - Q{}.docx",
        rng.below(100_000),
        rng.below(4) + 1
    );
    let ip = format!("203.0.{}.{}", rng.below(256), rng.below(256));
    let site = format!(
        "https://contoso.sharepoint.com/sites/team{}",
        rng.below(300)
    );
    let raw = json!({
        "CreationTime": "2026-03-01T10:11:12",
        "Id": id,
        "Operation": op,
        "OrganizationId": "4a5b6c7d-1111-2222-3333-444455556666",
        "RecordType": 6,
        "UserKey": format!("i:0h.f|membership|{}@live.com", rng.below(1_000_000)),
        "UserType": 0,
        "Version": 1,
        "Workload": service,
        "ClientIP": ip,
        "ObjectId": format!("{site}/Shared Documents/{file}"),
        "UserId": user,
        "CorrelationId": rng.guid(),
        "EventSource": "SharePoint",
        "ItemType": "File",
        "ListId": rng.guid(),
        "ListItemUniqueId": rng.guid(),
        "Site": rng.guid(),
        "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "WebId": rng.guid(),
        "SourceFileExtension": "docx",
        "SiteUrl": site,
        "SourceFileName": file,
        "SourceRelativeUrl": "Shared Documents",
        "AuthenticationType": "OAuth",
        "AppAccessContext": {"AADSessionId": rng.guid(), "CorrelationId": rng.guid(), "UniqueTokenId": "abcdEFGHijkl0123456789"}
    });
    Event {
        id: id.clone(),
        source: Source::Unified,
        timestamp: base + Duration::milliseconds(i64::try_from(i).unwrap() * 37),
        service: service.to_string(),
        operation: op.to_string(),
        result: if rng.below(20) == 0 {
            "failure"
        } else {
            "success"
        }
        .to_string(),
        result_detail: String::new(),
        actor_display: user.clone(),
        actor: json!({"UserId": user, "UserType": 0}),
        target_displays: vec![file.clone()],
        targets: vec![json!({"ObjectId": file})],
        display_summary: format!("{user} {op} {file} from {ip}"),
        dedupe_key: format!("unified:{id}"),
        raw,
        tags: Vec::new(),
        comments: Vec::new(),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let total: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = aoc_store::open(&url).await.unwrap();
    // Experiments: SQL to run on the fresh database first (e.g. dropping a trigger).
    if let Ok(sql) = std::env::var("AOC_BENCH_SQL") {
        let sql = sqlx::AssertSqlSafe(sql);
        if let Some(path) = url.strip_prefix("sqlite://") {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    let base = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let seed = std::env::var("AOC_BENCH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15_u64);
    let mut rng = Rng(seed | 1);
    // Re-run only the queries against a database an earlier run filled.
    let query_only = std::env::var_os("AOC_BENCH_QUERY_ONLY").is_some();
    let batch = 1000;
    let mut inserted = 0;
    let mut insert_time = std::time::Duration::ZERO;
    let mut sample_ip = String::new();
    let mut sample_guid = String::new();
    let start = Instant::now();
    while inserted < total {
        let n = batch.min(total - inserted);
        let events: Vec<Event> = (0..n)
            .map(|k| make_event(&mut rng, inserted + k, base))
            .collect();
        if inserted == total / 2 {
            sample_ip = events[0].raw["ClientIP"].as_str().unwrap().to_string();
            sample_guid = events[0].raw["CorrelationId"].as_str().unwrap().to_string();
        }
        let t = Instant::now();
        if !query_only {
            let outcome = store.insert_batch(&events).await.unwrap();
            assert_eq!(outcome.new, n);
        }
        insert_time += t.elapsed();
        inserted += n;
        if inserted % 100_000 == 0 {
            eprintln!(
                "{inserted} events, {:.0} events/s so far",
                inserted as f64 / insert_time.as_secs_f64()
            );
        }
    }
    println!(
        "{}: inserted {total} events in {:.1}s: {:.0} events/s (wall {:.1}s)",
        store.backend(),
        insert_time.as_secs_f64(),
        total as f64 / insert_time.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );

    let page = |search: Option<&str>| EventQuery {
        search: search.map(str::to_string),
        page_size: 50,
        ..Default::default()
    };
    let queries: Vec<(&str, EventQuery)> = vec![
        ("first page", page(None)),
        (
            "service filter",
            EventQuery {
                service: Some("Exchange".into()),
                ..page(None)
            },
        ),
        (
            "actor filter",
            EventQuery {
                actor: Some("user42@contoso.com".into()),
                ..page(None)
            },
        ),
        ("text: actor substring", page(Some("user4242@"))),
        ("text: common word", page(Some("document"))),
        ("text: rare file", page(Some("document 12345 -"))),
        ("text: ip in raw", page(Some(&sample_ip))),
        ("text: guid in raw", page(Some(&sample_guid))),
        ("text: 2 chars", page(Some("zz"))),
        ("text: no match", page(Some("qqqqqq"))),
        (
            "hidden + text",
            EventQuery {
                hidden_services: vec!["Exchange".into()],
                ..page(Some("q3.docx"))
            },
        ),
    ];
    for (name, query) in &queries {
        let t = Instant::now();
        let result = store.search(query).await.unwrap();
        println!(
            "search {name:<24} {:>4} items {:>8.1} ms",
            result.items.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    let t = Instant::now();
    let n = store
        .count_matching(&page(Some("document 1")))
        .await
        .unwrap();
    println!(
        "count_matching text        {n:>8} {:>8.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let h = store.histogram(&page(None), 3600).await.unwrap();
    println!(
        "histogram hourly          {:>5} buckets {:>8.1} ms",
        h.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let f = store.filter_options(&page(None), 1000).await.unwrap();
    println!(
        "filter_options            {:>5} actors {:>8.1} ms",
        f.actors.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let c = store.count().await.unwrap();
    println!(
        "count                     {c:>8} {:>8.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    if let Ok(meta) = std::fs::metadata(dir.path().join("bench.db")) {
        println!("database file: {} MB", meta.len() / 1_000_000);
    }
}
