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
