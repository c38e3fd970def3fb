//! Ingestion end to end over real HTTP: the server (or the `aoc` binary) fetching from the
//! simulated tenant, checked against the simulator's own count of unique records.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use aoc_app::Settings;
use aoc_sim::{Endpoint, EventRates, RunningSim, SimConfig, SimSource, Target};
use chrono::{SubsecRound, TimeDelta, Utc};
use serde_json::Value;

use crate::common::TestApp;

/// A small tenant (two days, a few hundred records a day) on a frozen clock, so the truth
/// cannot move between the fetch and the count.
pub(crate) async fn small_sim() -> RunningSim {
    sim_at(Utc::now().trunc_subsecs(0)).await
}

async fn sim_at(now: chrono::DateTime<Utc>) -> RunningSim {
    aoc_sim::start(SimConfig {
        days: 2,
        now: Some(now),
        events_per_day: EventRates {
            directory: 300,
            intune: 80,
            unified: 500,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

pub(crate) fn sim_env(sim: &RunningSim, db: &std::path::Path) -> HashMap<String, String> {
    let c = sim.handle.config();
    HashMap::from([
        ("DATABASE_URL".into(), format!("sqlite://{}", db.display())),
        ("TENANT_ID".into(), c.tenant_id.clone()),
        ("CLIENT_ID".into(), c.client_id.clone()),
        ("CLIENT_SECRET".into(), c.client_secret.clone()),
        ("LOGIN_BASE_URL".into(), sim.base_url.clone()),
        ("GRAPH_BASE_URL".into(), sim.base_url.clone()),
        ("MANAGE_BASE_URL".into(), sim.base_url.clone()),
        ("GRAPH_MIN_INTERVAL_MS".into(), "0".into()),
        ("RATE_LIMIT_ENABLED".into(), "false".into()),
        // The simulator's truth covers all four content types.
        (
            "UNIFIED_CONTENT_TYPES".into(),
            "Audit.AzureActiveDirectory,Audit.Exchange,Audit.SharePoint,Audit.General".into(),
        ),
    ])
}

/// The server wired to the simulator, with short retry delays so fault tests stay quick.
async fn app_for(sim: &RunningSim) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::from_map(&sim_env(sim, &dir.path().join("aoc.db"))).unwrap();
    let m365 = settings.m365.as_mut().unwrap();
    m365.retry_base_delay = Duration::from_millis(20);
    m365.max_attempts = 4;
    TestApp::start_with_settings(dir, settings).await
}

/// Unique records per source that a correct client holds (the simulator's ground truth).
pub(crate) fn truth(sim: &RunningSim) -> HashMap<&'static str, u64> {
    let h = &sim.handle;
    let (from, to) = (
        h.origin() - TimeDelta::days(30),
        h.now() + TimeDelta::days(1),
    );
    HashMap::from([
        (
            "directory",
            h.unique_records(SimSource::Directory, from, to) as u64,
        ),
        (
            "intune",
            h.unique_records(SimSource::Intune, from, to) as u64,
        ),
        (
            "unified",
            h.unique_records(SimSource::Unified, from, to) as u64,
        ),
    ])
}

pub(crate) async fn fetch(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get_json(&format!("/api/fetch-audit-logs{query}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn stored(report: &Value, source: &str) -> u64 {
    report["sources"][source]["stored"].as_u64().unwrap()
}

#[tokio::test]
async fn a_fetch_stores_exactly_the_unique_records_and_a_second_stores_none() {
    let sim = small_sim().await;
    let app = app_for(&sim).await;
    let truth = truth(&sim);
    assert!(
        truth.values().all(|&n| n > 50),
        "a tenant worth testing: {truth:?}"
    );

    let first = fetch(&app, "?hours=168").await;
    for (source, expected) in &truth {
        assert_eq!(stored(&first, source), *expected, "{source}: {first}");
        assert!(first["sources"][source]["error"].is_null(), "{first}");
    }
    assert_eq!(first["warnings"], serde_json::json!([]), "{first}");
    let total: u64 = truth.values().sum();
    assert_eq!(first["stored"], total);
    assert_eq!(app.ctx.store().count().await.unwrap(), total);
    // Records in two blobs arrive twice and are stored once.
    assert!(
        first["sources"]["unified"]["duplicates"].as_u64().unwrap() > 0,
        "{first}"
    );

    let second = fetch(&app, "").await;
    assert_eq!(second["stored"], 0, "{second}");
    assert!(
        second["duplicates"].as_u64().unwrap() > 0,
        "the second fetch overlaps the watermark: {second}"
    );
    assert_eq!(app.ctx.store().count().await.unwrap(), total);

    // Source health says when each source last succeeded and how much it read.
    let (status, health) = app.get_json("/api/source-health").await;
    assert_eq!(status, 200);
    let health = health.as_array().unwrap();
    assert_eq!(health.len(), 3, "{health:?}");
    for h in health {
        assert!(h["last_success"].is_string(), "{h}");
        assert!(h["last_error"].is_null(), "{h}");
    }

    // Names the records lack were resolved through getByIds (and cached: asked once).
    let page = app
        .get_json("/api/events?page_size=500&search=directory")
        .await
        .1;
    assert!(page["items"].is_array());
    assert!(sim.handle.request_count(Endpoint::GetByIds) > 0);
}

#[tokio::test]
async fn new_records_are_picked_up_incrementally() {
    // The tenant's clock stays behind ours (a tenant cannot have records from our future):
    // it starts 20 minutes back and moves 15 minutes on between the fetches. The tenant keeps
    // office hours, so a quarter of an hour at 3 a.m. on a Sunday holds a twentieth of the
    // average: the rates are high enough that even then new records arrive.
    let sim = aoc_sim::start(SimConfig {
        days: 1,
        now: Some(Utc::now().trunc_subsecs(0) - TimeDelta::minutes(20)),
        events_per_day: EventRates {
            directory: 6000,
            intune: 3000,
            unified: 6000,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let app = app_for(&sim).await;
    fetch(&app, "").await;
    let before = app.ctx.store().count().await.unwrap();
    sim.handle.advance(TimeDelta::minutes(15));
    let later = fetch(&app, "").await;
    let total: u64 = truth(&sim).values().sum();
    assert!(later["stored"].as_u64().unwrap() > 0, "{later}");
    assert_eq!(app.ctx.store().count().await.unwrap(), total);
    assert!(total > before);
}

#[tokio::test]
async fn throttling_and_unavailability_are_retried_and_succeed() {
    let sim = small_sim().await;
    let app = app_for(&sim).await;
    sim.handle.throttle(Target::Directory, 2, Some(1));
    // Intune sends some 429s without Retry-After: backoff instead.
    sim.handle.throttle(Target::Intune, 1, None);
    sim.handle.unavailable(Target::Management, 1, Some(1));
    // The Management API throttles with 403 AF429.
    sim.handle.throttle(Target::Management, 1, Some(1));

    let report = fetch(&app, "").await;
    for (source, expected) in truth(&sim) {
        assert_eq!(stored(&report, source), expected, "{source}: {report}");
    }
    assert_eq!(report["warnings"], serde_json::json!([]), "{report}");
    assert!(
        sim.handle.state_snapshot().pending_faults.is_empty(),
        "every armed fault was met and retried"
    );
}

#[tokio::test]
async fn a_failing_source_is_a_warning_and_the_others_are_stored() {
    let sim = small_sim().await;
    let app = app_for(&sim).await;
    let truth = truth(&sim);
    sim.handle.fail(Target::Intune, 500);

    let report = fetch(&app, "").await;
    assert!(report["sources"]["intune"]["error"].is_string(), "{report}");
    assert_eq!(stored(&report, "intune"), 0);
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("intune:")),
        "{report}"
    );
    assert_eq!(stored(&report, "directory"), truth["directory"]);
    assert_eq!(stored(&report, "unified"), truth["unified"]);

    let (_, health) = app.get_json("/api/source-health").await;
    let intune = health
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["source"] == "intune")
        .unwrap()
        .clone();
    assert!(intune["last_error"].is_string(), "{intune}");
    assert!(intune["last_success"].is_null(), "{intune}");

    // Once it recovers, the next fetch catches up from where it stood.
    sim.handle.clear_failure(Target::Intune);
    let report = fetch(&app, "").await;
    assert_eq!(stored(&report, "intune"), truth["intune"], "{report}");
    assert_eq!(
        app.ctx.store().count().await.unwrap(),
        truth.values().sum::<u64>()
    );
}

#[tokio::test]
async fn concurrent_fetch_requests_run_once() {
    let sim = small_sim().await;
    let app = app_for(&sim).await;
    let (a, b) = tokio::join!(fetch(&app, ""), async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        fetch(&app, "").await
    });
    assert_eq!(
        a["started_at"], b["started_at"],
        "the second joined the first"
    );
    assert_eq!(a["stored"], truth(&sim).values().sum::<u64>());
}

#[tokio::test]
async fn a_fetch_for_one_source_and_bad_hours() {
    let sim = small_sim().await;
    let app = app_for(&sim).await;
    let (status, body) = app.get_json("/api/fetch-audit-logs?hours=many").await;
    assert_eq!(status, 400, "{body}");
    // hours beyond 720 are clamped, not refused
    let report = fetch(&app, "?hours=100000").await;
    assert_eq!(report["sources"].as_object().unwrap().len(), 3);
}

#[tokio::test]
async fn fetching_without_m365_settings_is_a_clear_503() {
    let app = TestApp::start().await;
    let (status, body) = app.get_json("/api/fetch-audit-logs").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("TENANT_ID"),
        "{body}"
    );
}

#[tokio::test]
async fn webhook_validation_clientstate_and_trigger() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(&sim, &dir.path().join("aoc.db"));
    env.insert("WEBHOOK_CLIENT_SECRET".into(), "s3cret-state".into());
    let app = TestApp::start_with_settings(dir, Settings::from_map(&env).unwrap()).await;

    let res = app
        .http
        .post(app.url("/api/webhooks/graph?validationToken=Validation%3A%20abc%2B1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(res.text().await.unwrap(), "Validation: abc+1");

    let notify = |state: &str| {
        serde_json::json!({"value": [{
            "subscriptionId": "sub-1", "clientState": state, "changeType": "updated",
            "resource": "users/1", "tenantId": sim.handle.config().tenant_id,
        }]})
    };
    let res = app
        .http
        .post(app.url("/api/webhooks/graph"))
        .json(&notify("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(
        sim.handle.request_count(Endpoint::DirectoryAudits),
        0,
        "no fetch for a forged notification"
    );

    let res = app
        .http
        .post(app.url("/api/webhooks/graph"))
        .json(&notify("s3cret-state"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    // The notification starts a fetch in the background.
    let total: u64 = truth(&sim).values().sum();
    let mut count = 0;
    for _ in 0..200 {
        count = app.ctx.store().count().await.unwrap();
        if count == total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count, total);
    let entry = wait_for_activity(&app.ctx, "webhook").await;
    assert_eq!(entry.action, "fetch");
    assert_eq!(entry.detail["outcome"], "ok", "{:?}", entry.detail);
    assert_eq!(entry.detail["stored"], total);

    let lifecycle = serde_json::json!({"value": [{
        "subscriptionId": "sub-1", "clientState": "s3cret-state",
        "lifecycleEvent": "reauthorizationRequired",
    }]});
    let res = app
        .http
        .post(app.url("/api/webhooks/graph"))
        .json(&lifecycle)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
}

/// The newest activity entry whose actor is `actor`, waiting for background work to write it.
async fn wait_for_activity(ctx: &aoc_app::AppContext, actor: &str) -> aoc_app::Activity {
    for _ in 0..200 {
        let log = ctx.store().list_activity(None, 50).await.unwrap();
        if let Some(entry) = log.into_iter().find(|a| a.actor == actor) {
            return entry;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no activity entry by {actor}");
}

/// The periodic fetch runs as `scheduler` and says so in the activity log.
#[tokio::test]
async fn the_scheduler_fetches_and_leaves_an_activity_entry() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(&sim, &dir.path().join("aoc.db"));
    env.insert("ENABLE_PERIODIC_FETCH".into(), "true".into());
    let app = TestApp::start_with_settings(dir, Settings::from_map(&env).unwrap()).await;
    let background = aoc_app::scheduler::start(app.ctx.clone());
    let entry = wait_for_activity(&app.ctx, "scheduler").await;
    background.abort();
    assert_eq!(entry.action, "fetch");
    assert_eq!(entry.detail["outcome"], "ok", "{:?}", entry.detail);
    assert_eq!(entry.detail["stored"], truth(&sim).values().sum::<u64>());
    assert_eq!(entry.subject, None, "AOC itself has no token subject");
}

fn aoc_fetch(env: &HashMap<String, String>, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_aoc"))
        .arg("fetch")
        .args(args)
        .env_clear()
        .envs(env)
        .env("AOC_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn count_in(db: &std::path::Path) -> u64 {
    let store = aoc_store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    store.count().await.unwrap()
}

/// Kill -9 the fetching process part-way, fetch again: every record once, none twice.
// The simulator serves the child process from this runtime while the test blocks on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_fetch_resumes_without_loss_or_duplicates() {
    // Directory audits come 1000 a page: enough of them for several pages, so the kill can
    // land between two.
    let sim = aoc_sim::start(SimConfig {
        days: 2,
        now: Some(Utc::now().trunc_subsecs(0)),
        events_per_day: EventRates {
            directory: 3000,
            intune: 80,
            unified: 500,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aoc.db");
    let mut env = sim_env(&sim, &db);
    // Paced Graph paging keeps the run going long enough to be cut short.
    env.insert("GRAPH_MIN_INTERVAL_MS".into(), "500".into());
    let total: u64 = truth(&sim).values().sum();
    let store = aoc_store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();

    let mut child = aoc_fetch(&env, &["--source", "directory"]);
    let mut seen = 0;
    for _ in 0..400 {
        seen = store.count().await.unwrap();
        if seen > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    let truth_dir = truth(&sim)["directory"];
    let after_kill = store.count().await.unwrap();
    assert!(
        seen > 0 && after_kill < truth_dir,
        "killed part-way: {after_kill} of {truth_dir}"
    );
    assert_eq!(
        store.get_watermark("directory").await.unwrap(),
        None,
        "the watermark moves only after the whole range is committed"
    );

    env.insert("GRAPH_MIN_INTERVAL_MS".into(), "0".into());
    let out = aoc_fetch(&env, &["--json"]).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(count_in(&db).await, total, "{report}");
    assert_eq!(
        report["stored"].as_u64().unwrap() + after_kill,
        total,
        "what the first run stored is a duplicate now, not a second copy: {report}"
    );
}

// The simulator serves the child process from this runtime while the test blocks on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aoc_fetch_prints_a_summary_and_fails_when_every_source_fails() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let env = sim_env(&sim, &dir.path().join("aoc.db"));

    let out = aoc_fetch(&env, &["--source", "intune"])
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let intune = truth(&sim)["intune"];
    assert!(stdout.contains(&format!("stored {intune} new")), "{stdout}");

    sim.handle.fail(Target::Any, 403);
    let out = aoc_fetch(&env, &[]).wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "every source failed: {stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");

    // Both runs are in the activity log, as `cli`, newest first.
    let store = aoc_store::open(&env["DATABASE_URL"]).await.unwrap();
    let log = store.list_activity(None, 10).await.unwrap();
    let runs: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|a| {
            (
                a.actor.as_str(),
                a.action.as_str(),
                a.detail["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        [("cli", "fetch", "failed"), ("cli", "fetch", "ok")],
        "{log:?}"
    );
    assert_eq!(log[1].detail["source"], "intune");

    let mut bare = env.clone();
    bare.remove("CLIENT_SECRET");
    let out = aoc_fetch(&bare, &[]).wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CLIENT_SECRET"));
}
