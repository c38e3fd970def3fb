//! Alert rules end to end: the built-in pack against the detections the simulated tenant plants
//! (`GET /_sim/detections`), on SQLite and PostgreSQL; rules and saved searches through the API.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use aoc_app::Settings;
use aoc_sim::{EventRates, RunningSim, SimConfig};
use chrono::{SubsecRound, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::common::{TestApp, aoc_serve, wait_healthy};
use crate::ingest::{fetch, sim_env};
use crate::privacy::fresh_postgres;

/// Four days of a small tenant: the planted detections rotate through the whole catalogue in
/// that time.
async fn alert_sim() -> RunningSim {
    aoc_sim::start(SimConfig {
        days: 4,
        now: Some(Utc::now().trunc_subsecs(0)),
        events_per_day: EventRates {
            directory: 300,
            intune: 80,
            unified: 600,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn alert_env(sim: &RunningSim, db: &std::path::Path) -> HashMap<String, String> {
    let mut env = sim_env(sim, db);
    env.insert("ALERTS_ENABLED".into(), "true".into());
    env
}

#[derive(Debug, Clone)]
struct Planted {
    rule_id: String,
    positive: bool,
    record_id: String,
    group: Option<String>,
}

async fn planted(sim: &RunningSim) -> Vec<Planted> {
    let h = &sim.handle;
    let from = (h.origin() - TimeDelta::days(30)).to_rfc3339();
    let to = (h.now() + TimeDelta::days(1)).to_rfc3339();
    let url = reqwest::Url::parse_with_params(
        &format!("{}/_sim/detections", sim.base_url),
        &[("start", from), ("end", to)],
    )
    .unwrap();
    let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    body["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Planted {
            rule_id: d["rule_id"].as_str().unwrap().to_string(),
            positive: d["expected"] == "positive",
            record_id: d["record_id"].as_str().unwrap().to_string(),
            group: d["group"].as_str().map(str::to_lowercase),
        })
        .collect()
}

/// Run the rule evaluator until it has looked at every stored event.
async fn evaluate_all(app: &TestApp) {
    let evaluator = app.ctx.rule_evaluator().await.unwrap().unwrap();
    let store = app.ctx.store().clone();
    while aoc_app::consumer::run_once(store.as_ref(), &evaluator, 1000)
        .await
        .unwrap()
        > 0
    {}
}

async fn all_alerts(app: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = format!("/api/alerts?limit=7&{query}");
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/alerts?limit=7&cursor={c}&{query}"),
            None => return items,
        }
    }
}

/// Every planted positive raises exactly one alert of its rule (threshold bursts: one per
/// burst), no near miss is in any alert of its rule.
fn check_against_truth(alerts: &[Value], truth: &[Planted]) {
    let rules: HashSet<&str> = truth.iter().map(|p| p.rule_id.as_str()).collect();
    for rule in aoc_domain::rules::builtin_pack() {
        assert!(
            rules.contains(rule.id.as_str()),
            "the simulated tenant planted nothing for {}",
            rule.id
        );
    }
    let mut alerts_of_event: HashMap<(String, String), HashSet<i64>> = HashMap::new();
    for a in alerts {
        let rule = a["rule_id"].as_str().unwrap().to_string();
        let alert = a["id"].as_i64().unwrap();
        for id in a["event_ids"].as_array().unwrap() {
            alerts_of_event
                .entry((rule.clone(), id.as_str().unwrap().to_string()))
                .or_default()
                .insert(alert);
        }
    }
    let none = HashSet::new();
    let mut bursts: HashMap<(String, String), HashSet<i64>> = HashMap::new();
    for p in truth {
        let raised = alerts_of_event
            .get(&(p.rule_id.clone(), p.record_id.clone()))
            .unwrap_or(&none);
        match (&p.group, p.positive) {
            (None, true) => assert_eq!(raised.len(), 1, "positive {p:?} raised {raised:?}"),
            (_, false) => assert!(raised.is_empty(), "near miss {p:?} is in alerts {raised:?}"),
            (Some(g), true) => bursts
                .entry((p.rule_id.clone(), g.clone()))
                .or_default()
                .extend(raised.iter().copied()),
        }
    }
    for ((rule, group), raised) in bursts {
        assert_eq!(
            raised.len(),
            1,
            "a burst of {rule} by {group} raises one alert, not {raised:?}"
        );
    }
}

async fn builtin_pack_against_the_simulated_tenant(app: &TestApp, sim: &RunningSim) {
    fetch(app, "").await;
    let started = Instant::now();
    evaluate_all(app).await;
    eprintln!("evaluated in {:?}", started.elapsed());
    let truth = planted(sim).await;
    let alerts = all_alerts(app, "").await;
    check_against_truth(&alerts, &truth);

    // A second fetch stores nothing new, and re-evaluating raises nothing new.
    let report = fetch(app, "").await;
    assert_eq!(report["stored"], 0, "{report}");
    evaluate_all(app).await;
    assert_eq!(all_alerts(app, "").await.len(), alerts.len());

    // Replaying every stored event (the evaluator's cursor lost) raises nothing twice.
    let store = app.ctx.store();
    let evaluator = app.ctx.rule_evaluator().await.unwrap().unwrap();
    let mut after = None;
    loop {
        let batch = store.events_after(after.as_ref(), 500).await.unwrap();
        if batch.events.is_empty() {
            break;
        }
        aoc_app::consumer::Consumer::handle(&evaluator, &batch.events)
            .await
            .unwrap();
        after = batch.next;
    }
    assert_eq!(all_alerts(app, "").await.len(), alerts.len());

    // Filters: by rule and severity, each alert's detail carries its events.
    let critical = all_alerts(app, "severity=critical").await;
    assert!(critical.iter().all(|a| a["severity"] == "critical"));
    assert!(!critical.is_empty());
    let role = all_alerts(app, "rule=privileged-role-assigned").await;
    assert!(!role.is_empty());
    let (status, detail) = app
        .get_json(&format!("/api/alerts/{}", role[0]["id"]))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["events"][0]["id"], role[0]["event_ids"][0],
        "{detail}"
    );
    let (status, body) = app.get_json("/api/alerts?status=maybe").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_detections_fire_exactly_on_the_planted_positives_on_sqlite() {
    let sim = alert_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::from_map(&alert_env(&sim, &dir.path().join("aoc.db"))).unwrap();
    let app = TestApp::start_with_settings(dir, settings).await;
    builtin_pack_against_the_simulated_tenant(&app, &sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_detections_fire_exactly_on_the_planted_positives_on_postgres() {
    let Some(url) = fresh_postgres("alerts").await else {
        return;
    };
    let sim = alert_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = alert_env(&sim, &dir.path().join("unused.db"));
    env.insert("DATABASE_URL".into(), url);
    let app = TestApp::start_with_settings(dir, Settings::from_map(&env).unwrap()).await;
    builtin_pack_against_the_simulated_tenant(&app, &sim).await;
}

/// The scheduler's evaluator raises an alert within seconds of the fetch that stored it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_evaluator_alerts_within_seconds_of_a_fetch() {
    let sim = alert_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::from_map(&alert_env(&sim, &dir.path().join("aoc.db"))).unwrap();
    let app = TestApp::start_with_settings(dir, settings).await;
    let background = aoc_app::scheduler::start(app.ctx.clone());
    fetch(&app, "").await;
    let fetched = Instant::now();
    let positives = planted(&sim).await.iter().filter(|p| p.positive).count();
    loop {
        let lag = app.ctx.alert_evaluation_lag().await.unwrap();
        if lag.events_behind == 0 && !all_alerts(&app, "").await.is_empty() {
            break;
        }
        assert!(
            fetched.elapsed() < Duration::from_secs(60),
            "still {} events to evaluate a minute after the fetch",
            lag.events_behind
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "{positives} planted positives evaluated {:?} after the fetch",
        fetched.elapsed()
    );
    let (status, summary) = app.get_json("/api/alerts/summary").await;
    assert_eq!(status, 200);
    assert!(summary["open"].as_u64().unwrap() > 0, "{summary}");
    background.abort();
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .http
        .request(method, app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn rules_round_trip_and_bad_rules_name_the_field() {
    let app = TestApp::start_with(&[("ALERTS_ENABLED", "true")]).await;
    app.ctx.rule_evaluator().await.unwrap();
    let (status, rules) = app.get_json("/api/rules").await;
    assert_eq!(status, 200);
    let builtin = rules.as_array().unwrap();
    assert_eq!(builtin.len(), aoc_domain::rules::builtin_pack().len());
    assert!(builtin.iter().all(|r| r["builtin"] == true));

    let rule = json!({
        "name": "Mailbox export",
        "severity": "high",
        "match": {"service": "Exchange", "operation": "New-MailboxExportRequest",
                  "conditions": [{"path": "Parameters[Name=Mailbox].Value", "op": "exists"}]},
        "tags": ["export"]
    });
    let (status, created) = send(&app, reqwest::Method::POST, "/api/rules", rule.clone()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["builtin"], false);
    assert_eq!(created["match"], rule["match"]);
    let (status, got) = app.get_json(&format!("/api/rules/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["name"], "Mailbox export");

    let (status, off) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/rules/{id}"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(off["enabled"], false);
    assert_eq!(
        off["match"], rule["match"],
        "a partial update keeps the rest"
    );

    // A built-in rule can be switched off, not deleted.
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        "/api/rules/transport-rule-created",
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["builtin"], true);
    let (status, body) = send(
        &app,
        reqwest::Method::DELETE,
        "/api/rules/transport-rule-created",
        Value::Null,
    )
    .await;
    assert_eq!(status, 400, "{body}");

    for (bad, field) in [
        (
            json!({"name": "x", "match": {"operation": "a"}}),
            "severity",
        ),
        (
            json!({"name": "x", "severity": "urgent", "match": {"operation": "a"}}),
            "severity",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {}}),
            "match",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"conditions": [{"path": "a[", "op": "eq", "value": 1}]}}),
            "match.conditions[0].path",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"conditions": [{"path": "a", "op": "in", "value": "b"}]}}),
            "match.conditions[0]",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"operation": "a"}, "threshold": {"count": 0, "minutes": 5, "group_by": "actor"}}),
            "threshold.count",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"operation": "a"}, "colour": "red"}),
            "colour",
        ),
    ] {
        let (status, body) = send(&app, reqwest::Method::POST, "/api/rules", bad.clone()).await;
        assert_eq!(status, 400, "{bad} -> {body}");
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains(field),
            "{bad}: {message} should name {field}"
        );
    }

    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/rules/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = app.get_json(&format!("/api/rules/{id}")).await;
    assert_eq!(status, 404);

    let actions: Vec<String> = app.get_json("/api/activity").await.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect();
    for action in ["rule.create", "rule.update", "rule.delete"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn saved_searches_round_trip_and_become_rules() {
    let app = TestApp::start().await;
    let body = json!({"name": "Mail rules", "filters": {"service": "Exchange", "operation": "New-InboxRule"}, "shared": true});
    let (status, saved) = send(
        &app,
        reqwest::Method::POST,
        "/api/saved-searches",
        body.clone(),
    )
    .await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["owner"], "local");
    assert_eq!(saved["mine"], true);
    assert_eq!(saved["filters"], body["filters"]);
    let id = saved["id"].as_str().unwrap().to_string();

    let (status, list) = app.get_json("/api/saved-searches").await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);

    let (status, renamed) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/saved-searches/{id}"),
        json!({"name": "Inbox rules", "filters": {"operation": "New-InboxRule"}}),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Inbox rules");
    assert_eq!(renamed["shared"], false);

    let (status, rule) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/saved-searches/{id}/rule"),
        json!({"severity": "medium"}),
    )
    .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["match"], json!({"operation": "New-InboxRule"}));
    assert_eq!(rule["name"], "Inbox rules");

    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/saved-searches",
        json!({"name": "x", "filters": {"colour": "red"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("filters.colour"));

    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/saved-searches/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    let (_, list) = app.get_json("/api/saved-searches").await;
    assert!(list.as_array().unwrap().is_empty());
}

/// `kill -9` of a serving AOC while it fetches and evaluates, then a restart: every planted
/// positive has exactly one alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_alerts_exactly_once_after_restart() {
    let sim = alert_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aoc.db");
    let mut env = alert_env(&sim, &db);
    // Slow Graph paging keeps the first fetch going long enough to be cut short.
    env.insert("GRAPH_MIN_INTERVAL_MS".into(), "300".into());
    let port = free_port();
    env.insert("BIND_ADDR".into(), format!("127.0.0.1:{port}"));
    let base = format!("http://127.0.0.1:{port}");

    let mut server = aoc_serve(&env);
    wait_healthy(&base).await;
    // Start a fetch and kill the server while it runs.
    let fetch_url = format!("{base}/api/fetch-audit-logs");
    tokio::spawn(async move {
        let _ = reqwest::get(fetch_url).await;
    });
    let store = aoc_store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.count().await.unwrap() < 200 {
        assert!(Instant::now() < deadline, "the fetch stored nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap();
    let _ = server.wait();

    env.insert("GRAPH_MIN_INTERVAL_MS".into(), "0".into());
    let mut server = aoc_serve(&env);
    wait_healthy(&base).await;
    let res = reqwest::get(format!("{base}/api/fetch-audit-logs"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lag = aoc_app::consumer::lag(store.as_ref(), aoc_app::alerting::EVALUATOR_NAME, 100)
            .await
            .unwrap();
        if lag.events_behind == 0 && lag.position.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "evaluation did not catch up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut alerts = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_alerts(&aoc_store::AlertQuery {
                before_id: before,
                limit: 200,
                ..Default::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        alerts.extend(page.into_iter().map(|a| serde_json::to_value(a).unwrap()));
    }
    server.kill().unwrap();
    let _ = server.wait();
    check_against_truth(&alerts, &planted(&sim).await);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A receiver that records every alert body POSTed to it.
async fn start_receiver(
    listener: tokio::net::TcpListener,
    got: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let got = got.clone();
            async move {
                got.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

/// The notification webhook is down while alerts are raised; once it is back, it receives
/// every alert, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_was_down_receives_every_alert_once_it_is_back() {
    let sim = alert_sim().await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut env = alert_env(&sim, &dir.path().join("aoc.db"));
    env.insert(
        "ALERT_WEBHOOK_URL".into(),
        format!("http://127.0.0.1:{port}/hook"),
    );
    env.insert("EGRESS_ALLOW_PRIVATE".into(), "127.0.0.1".into());
    let app = TestApp::start_with_settings(dir, Settings::from_map(&env).unwrap()).await;
    let background = aoc_app::scheduler::start(app.ctx.clone());
    fetch(&app, "").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.ctx.alert_evaluation_lag().await.unwrap().events_behind > 0 {
        assert!(Instant::now() < deadline, "evaluation did not catch up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let alerts = all_alerts(&app, "").await;
    assert!(!alerts.is_empty());
    // Deliveries fail while nothing listens.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = app.ctx.store().outbox_status().await.unwrap();
    assert_eq!(status.len(), 1, "{status:?}");
    assert_eq!(status[0].pending, alerts.len() as u64, "{status:?}");
    assert!(status[0].last_error.is_some(), "{status:?}");

    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let receiver = start_receiver(listener, got.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while got.lock().unwrap().len() < alerts.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} alerts arrived",
            got.lock().unwrap().len(),
            alerts.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give a duplicate the chance to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut ids: Vec<i64> = got
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<i64> = alerts.iter().map(|a| a["id"].as_i64().unwrap()).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected, "every alert once");
    background.abort();
    receiver.abort();
}

#[tokio::test]
async fn a_webhook_the_egress_guard_refuses_stops_start_up() {
    for (url, allow) in [
        ("http://hooks.example.com/x", ""),
        ("https://127.0.0.1/x", ""),
        ("https://localhost:9/x", ""),
        ("https://169.254.169.254/latest", "10.0.0.0/8"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::from_map(&HashMap::from([
            (
                "DATABASE_URL".to_string(),
                format!("sqlite://{}", dir.path().join("a.db").display()),
            ),
            ("ALERTS_ENABLED".into(), "true".into()),
            ("ALERT_WEBHOOK_URL".into(), url.into()),
            ("EGRESS_ALLOW_PRIVATE".into(), allow.into()),
        ]))
        .unwrap();
        match aoc_app::AppContext::open(settings).await {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => {
                let message = e.to_string();
                assert!(message.starts_with("ALERT_"), "{url}: {message}");
                assert!(
                    !message.contains("/x"),
                    "{url}: the path may hold a token: {message}"
                );
            }
        }
    }
}

/// With Exchange gated, a caller without the role sees alerts about Exchange events with their
/// details withheld and none of their events; other alerts are whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_about_hidden_events_show_no_details() {
    let sim = alert_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = alert_env(&sim, &dir.path().join("aoc.db"));
    env.insert("PRIVACY_SERVICES".into(), "exchange".into());
    let app = TestApp::start_with_settings(dir, Settings::from_map(&env).unwrap()).await;
    fetch(&app, "").await;
    evaluate_all(&app).await;
    let alerts = all_alerts(&app, "").await;
    let (hidden, shown): (Vec<&Value>, Vec<&Value>) = alerts
        .iter()
        .partition(|a| a["rule_id"] == "mail-forwarding-external");
    assert!(!hidden.is_empty() && !shown.is_empty());
    for a in hidden {
        assert_eq!(a["restricted"], true, "{a}");
        assert_eq!(a["event_ids"], json!([]), "{a}");
        let (status, detail) = app.get_json(&format!("/api/alerts/{}", a["id"])).await;
        assert_eq!(status, 200);
        assert_eq!(detail["events"], json!([]), "{detail}");
        assert!(
            !detail["summary"].as_str().unwrap().contains('@'),
            "{detail}"
        );
    }
    for a in shown
        .iter()
        .filter(|a| a["rule_id"] == "privileged-role-assigned")
    {
        assert_eq!(a["restricted"], false, "{a}");
        let (_, detail) = app.get_json(&format!("/api/alerts/{}", a["id"])).await;
        assert!(!detail["events"].as_array().unwrap().is_empty(), "{detail}");
    }
}

/// `aoc fetch` with no server running evaluates what it stored and says what it raised; a
/// second run raises nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fetch_command_evaluates_the_rules_itself() {
    let sim = alert_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aoc.db");
    let env = alert_env(&sim, &db);
    let run = |env: HashMap<String, String>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aoc"))
            .arg("fetch")
            .env_clear()
            .envs(env)
            .env("AOC_LOG", "warn")
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap()
    };
    let out = tokio::task::spawn_blocking({
        let env = env.clone();
        move || run(env)
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let store = aoc_store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let open: u64 = store
        .alert_counts()
        .await
        .unwrap()
        .iter()
        .filter(|c| c.status == "open")
        .map(|c| c.count)
        .sum();
    assert!(open > 0);
    assert!(
        stderr.contains(&format!("{open} new alerts, {open} open")),
        "{stderr}"
    );
    let out = tokio::task::spawn_blocking(move || run(env)).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains(&format!("0 events evaluated, 0 new alerts, {open} open")),
        "{stderr}"
    );
}
