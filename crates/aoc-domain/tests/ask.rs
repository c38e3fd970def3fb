//! The question fixture: every question in `ask_fixture.json` must read as its expected
//! structured query (same clock, zone and known names for all). `ASK_FIXTURE_PRINT=1` prints
//! what the parser makes of each question, for writing new cases (check them by hand).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use aoc_domain::ask::{AskContext, Zone, parse_question};

#[derive(Deserialize)]
struct Fixture {
    now: DateTime<Utc>,
    zone: String,
    known_actors: Vec<String>,
    known_targets: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    question: String,
    query: Value,
    #[serde(default)]
    warnings: usize,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ask_fixture.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_fixture_question_reads_as_expected() {
    let f = fixture();
    assert!(
        f.cases.len() >= 40,
        "the fixture holds at least 40 questions"
    );
    let ctx = AskContext {
        now: f.now,
        zone: Zone::parse(&f.zone).unwrap(),
        known_actors: &f.known_actors,
        known_targets: &f.known_targets,
    };
    let print = std::env::var("ASK_FIXTURE_PRINT").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for case in &f.cases {
        let parsed = parse_question(&case.question, &ctx);
        let got = serde_json::to_value(&parsed.query).unwrap();
        if print {
            println!(
                "{}",
                serde_json::json!({"question": case.question, "query": got, "warnings": parsed.warnings.len(), "understood": parsed.understood, "w": parsed.warnings})
            );
        }
        if got != case.query || parsed.warnings.len() != case.warnings {
            failures.push(format!(
                "{:?}\n  expected {} ({} warnings)\n  got      {} {:?}",
                case.question, case.query, case.warnings, got, parsed.warnings
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_same_question_reads_the_same_way_in_another_zone_only_by_its_bounds() {
    let f = fixture();
    let read = |zone: &str| {
        parse_question(
            "failed changes on 3 March",
            &AskContext {
                now: f.now,
                zone: Zone::parse(zone).unwrap(),
                known_actors: &f.known_actors,
                known_targets: &f.known_targets,
            },
        )
        .query
    };
    let utc = read("UTC");
    let tokyo = read("Asia/Tokyo");
    assert_eq!(utc.result, tokyo.result);
    assert_eq!(
        (utc.start.unwrap() - tokyo.start.unwrap()).num_hours(),
        9,
        "Tokyo's day starts nine hours before UTC's"
    );
}

fn event(
    source: aoc_domain::Source,
    service: &str,
    operation: &str,
    raw: Value,
) -> aoc_domain::Event {
    aoc_domain::Event {
        id: "e".into(),
        source,
        timestamp: Utc::now(),
        service: service.into(),
        operation: operation.into(),
        result: "success".into(),
        result_detail: String::new(),
        actor_display: "a".into(),
        actor: Value::Null,
        target_displays: vec![],
        targets: vec![],
        display_summary: String::new(),
        dedupe_key: "k".into(),
        raw,
        tags: vec![],
        comments: vec![],
    }
}

#[test]
fn entra_covers_directory_audits_of_every_category_and_the_workload() {
    use aoc_domain::Source;
    let f = fixture();
    let q = parse_question(
        "password resets in Entra",
        &AskContext {
            now: f.now,
            zone: Zone::utc(),
            known_actors: &[],
            known_targets: &[],
        },
    )
    .query;
    assert!(q.entra && q.service.is_none() && q.needs_matching());
    let graph = serde_json::json!({"activityDateTime": "2026-03-04T10:00:00Z", "category": "UserManagement", "activityDisplayName": "Reset user password", "targetResources": [], "initiatedBy": {}});
    for (e, expected) in [
        (
            event(
                Source::Directory,
                "UserManagement",
                "Reset user password",
                Value::Null,
            ),
            true,
        ),
        (
            event(
                Source::Import,
                "UserManagement",
                "Reset user password",
                graph,
            ),
            true,
        ),
        (
            event(
                Source::Unified,
                "AzureActiveDirectory",
                "Reset user password.",
                Value::Null,
            ),
            true,
        ),
        (
            event(Source::Unified, "Exchange", "Reset password", Value::Null),
            false,
        ),
        (
            event(
                Source::Directory,
                "UserManagement",
                "Update user",
                Value::Null,
            ),
            false,
        ),
    ] {
        assert_eq!(
            q.matches_beyond_filters(&e),
            expected,
            "{} {}",
            e.service,
            e.operation
        );
    }
}
