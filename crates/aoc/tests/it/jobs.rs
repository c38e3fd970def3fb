//! Jobs end to end: started over HTTP (`202`), run by the worker against the simulated tenant,
//! polled to their end; cancelled; interrupted by a restart; an upload imported as a job; and
//! two replicas on one PostgreSQL database running each job once.

use std::collections::HashMap;
use std::time::Duration;

use aoc_app::jobs::{WorkerOptions, spawn_worker};
use aoc_app::{AppContext, Settings};
use serde_json::{Value, json};

use crate::common::{TestApp, fixture};
use crate::ingest::{sim_env, small_sim, truth};

/// A worker that notices work and cancels quickly, and calls a job dead after `stale_after`.
fn quick(stale_after: Duration) -> WorkerOptions {
    WorkerOptions {
        poll: Duration::from_millis(20),
        heartbeat: Duration::from_millis(50),
        stale_after,
    }
}

/// A tenant with several Graph pages (1,000 records each) of directory audits: paced by
/// GRAPH_MIN_INTERVAL_MS, a directory fetch takes seconds, long enough to act on it while it
/// runs.
async fn paged_sim() -> aoc_sim::RunningSim {
    use chrono::SubsecRound;
    aoc_sim::start(aoc_sim::SimConfig {
        days: 2,
        now: Some(chrono::Utc::now().trunc_subsecs(0)),
        events_per_day: aoc_sim::EventRates {
            directory: 3000,
            intune: 80,
            unified: 500,
        },
        ..aoc_sim::SimConfig::default()
    })
    .await
    .unwrap()
}

async fn app_with(env: HashMap<String, String>, dir: tempfile::TempDir) -> TestApp {
    let settings = Settings::from_map(&env).unwrap();
    TestApp::start_with_settings(dir, settings).await
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let res = app
        .http
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Poll `GET /api/jobs/{id}` until `done` holds (at most `secs` seconds).
async fn wait_for(app: &TestApp, id: i64, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (status, job) = app.get_json(&format!("/api/jobs/{id}")).await;
        assert_eq!(status, 200, "{job}");
        if done(&job) {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {id} did not get there: {job}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn finished(job: &Value) -> bool {
    !matches!(job["state"].as_str(), Some("queued" | "running"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_job_runs_to_success_with_progress_and_its_report() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(sim_env(&sim, &dir.path().join("aoc.db")), dir).await;
    let worker = spawn_worker(app.ctx.clone(), quick(Duration::from_secs(30)));
    let total: u64 = truth(&sim).values().sum();

    let (status, job) = post_json(&app, "/api/jobs/fetch", &json!({ "hours": 720 })).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["kind"], "fetch");
    assert_eq!(job["params"], json!({ "hours": 720, "source": null }));
    assert!(
        job["params"].get("_caller").is_none(),
        "who ran it is not echoed: {job}"
    );
    assert_eq!(job["created_by"], "anonymous");
    let id = job["id"].as_i64().unwrap();

    let done = wait_for(&app, id, 120, finished).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let result = &done["result"];
    assert_eq!(result["stored"].as_u64().unwrap(), total, "{result}");
    assert_eq!(app.ctx.store().count().await.unwrap(), total);
    // Progress counts the records received, and ends at what the report says.
    assert_eq!(done["progress"]["done"], result["fetched"], "{done}");
    assert!(done["progress"]["done"].as_u64().unwrap() >= total);
    assert!(done["started_at"].is_string() && done["finished_at"].is_string());
    assert!(done["error"].is_null());

    // Listed, filtered by kind and state.
    let (_, page) = app.get_json("/api/jobs?kind=fetch&state=succeeded").await;
    assert_eq!(page["items"][0]["id"], id, "{page}");
    let (_, page) = app.get_json("/api/jobs?state=failed").await;
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    let (status, _) = app.get_json("/api/jobs?state=sleeping").await;
    assert_eq!(status, 400);
    let (status, _) = app.get_json("/api/jobs/999999").await;
    assert_eq!(status, 404);

    // The old route still answers with the report; async=true gives a job instead.
    let (status, report) = app.get_json("/api/fetch-audit-logs").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["stored"], 0,
        "everything is stored already: {report}"
    );
    let (status, queued) = app.get_json("/api/fetch-audit-logs?async=true").await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["kind"], "fetch");
    let again = wait_for(&app, queued["id"].as_i64().unwrap(), 120, finished).await;
    assert_eq!(again["state"], "succeeded", "{again}");
    assert_eq!(again["result"]["stored"], 0);

    // Every start is in the activity log with the caller.
    let (_, activity) = app.get_json("/api/activity?limit=50").await;
    let starts: Vec<&Value> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "job.start")
        .collect();
    assert_eq!(starts.len(), 2, "{activity}");
    assert!(starts.iter().all(|a| a["actor"] == "anonymous"));
    assert!(starts.iter().any(|a| a["detail"]["job"] == id));
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_cancels_and_a_queued_one_cancels_at_once() {
    let sim = paged_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(&sim, &dir.path().join("aoc.db"));
    // Slow Graph paging: the fetch is still running when the cancel arrives.
    env.insert("GRAPH_MIN_INTERVAL_MS".into(), "500".into());
    let app = app_with(env, dir).await;
    let worker = spawn_worker(app.ctx.clone(), quick(Duration::from_secs(30)));

    let (status, job) = post_json(&app, "/api/jobs/fetch", &json!({ "source": "directory" })).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().unwrap();
    // One worker runs one job at a time: the second waits in the queue.
    let (_, second) = post_json(&app, "/api/jobs/renormalize", &json!({})).await;
    let second = second["id"].as_i64().unwrap();

    wait_for(&app, id, 30, |j| {
        j["state"] == "running" && j["progress"]["done"].as_u64().unwrap_or(0) > 0
    })
    .await;

    let res = app
        .http
        .delete(app.url(&format!("/api/jobs/{second}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!(
        cancelled["state"], "cancelled",
        "a queued job cancels at once"
    );

    let res = app
        .http
        .delete(app.url(&format!("/api/jobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let asked: Value = res.json().await.unwrap();
    assert_eq!(asked["state"], "running");
    assert_eq!(asked["cancel_requested"], true);

    let stopped = wait_for(&app, id, 10, finished).await;
    assert_eq!(stopped["state"], "cancelled", "{stopped}");
    assert!(
        stopped["result"]["done"].as_u64().unwrap() < truth(&sim)["directory"],
        "stopped part-way: {stopped}"
    );
    // The fetch itself stopped: nothing more is stored while pages would still be coming.
    let stored = app.ctx.store().count().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.ctx.store().count().await.unwrap(), stored);
    assert!(stored < truth(&sim)["directory"], "{stored}");
    // The cancelled queued job never ran.
    let (_, never) = app.get_json(&format!("/api/jobs/{second}")).await;
    assert!(never["started_at"].is_null(), "{never}");
    // Cancelling a finished job changes nothing.
    let res = app
        .http
        .delete(app.url(&format!("/api/jobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    let (_, activity) = app.get_json("/api/activity?limit=50").await;
    let cancels = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "job.cancel")
        .count();
    assert_eq!(cancels, 3, "{activity}");
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_left_running_by_a_stopped_app_shows_as_interrupted() {
    let sim = paged_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(&sim, &dir.path().join("aoc.db"));
    env.insert("GRAPH_MIN_INTERVAL_MS".into(), "500".into());
    let settings = Settings::from_map(&env).unwrap();
    let app = TestApp::start_with_settings(dir, settings.clone()).await;
    let worker = spawn_worker(app.ctx.clone(), quick(Duration::from_secs(30)));

    let (status, job) = post_json(&app, "/api/jobs/fetch", &json!({ "source": "directory" })).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().unwrap();
    wait_for(&app, id, 30, |j| j["state"] == "running").await;

    // The process goes away mid-job: its worker stops beating.
    worker.abort();
    let _ = worker.await;

    // A new context on the same database (the restart), its worker sweeping stale jobs.
    let restarted = AppContext::open(settings).await.unwrap();
    let sweeper = spawn_worker(restarted.clone(), quick(Duration::from_millis(500)));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let job = loop {
        let job = restarted
            .jobs()
            .get(id, &aoc_app::Caller::anonymous())
            .await
            .unwrap();
        if job.state.is_finished() {
            break job;
        }
        assert!(tokio::time::Instant::now() < deadline, "{job:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job.state, aoc_app::jobs::JobState::Interrupted, "{job:?}");
    assert!(
        job.error.as_deref().unwrap().contains("interrupted"),
        "{job:?}"
    );
    assert!(job.finished_at.is_some());
    // And it reads the same over HTTP.
    let (_, shown) = app.get_json(&format!("/api/jobs/{id}")).await;
    assert_eq!(shown["state"], "interrupted", "{shown}");
    sweeper.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_export_imports_as_a_job_and_oversized_uploads_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = tempfile::tempdir().unwrap();
    let app = TestApp::start_with(&[
        ("RATE_LIMIT_ENABLED", "false"),
        ("IMPORT_UPLOAD_DIR", uploads.path().to_str().unwrap()),
        ("IMPORT_MAX_UPLOAD_MB", "1"),
        (
            "DATABASE_URL",
            &format!("sqlite://{}", dir.path().join("aoc.db").display()),
        ),
    ])
    .await;
    let worker = spawn_worker(app.ctx.clone(), quick(Duration::from_secs(30)));
    let file = std::fs::read(fixture("with-bad-line.jsonl")).unwrap();

    // A fresh connection per upload: after a 413 the server closes the one it refused.
    let upload = |body: Vec<u8>, name: &str| {
        reqwest::Client::new()
            .post(app.url(&format!("/api/jobs/import?filename={name}")))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    let res = upload(file.clone(), "purview-export.jsonl").await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["kind"], "import");
    assert_eq!(job["params"]["filename"], "purview-export.jsonl");
    assert_eq!(job["params"]["bytes"], file.len() as u64);
    let done = wait_for(&app, job["id"].as_i64().unwrap(), 30, finished).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let result = &done["result"];
    assert_eq!(result["new"], 5, "{result}");
    assert_eq!(result["duplicates"], 0, "{result}");
    assert_eq!(result["rejected"], 1, "{result}");
    let lines = result["rejected_lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{result}");
    assert!(
        lines[0]["at"].as_str().unwrap().contains("line 3"),
        "{result}"
    );
    assert!(!lines[0]["reason"].as_str().unwrap().is_empty());
    assert_eq!(
        done["progress"],
        json!({ "done": file.len(), "total": file.len() }),
        "progress in bytes: {done}"
    );

    // The same file again: nothing new, every record a duplicate.
    let res = upload(file.clone(), "again.jsonl").await.unwrap();
    let job: Value = res.json().await.unwrap();
    let again = wait_for(&app, job["id"].as_i64().unwrap(), 30, finished).await;
    assert_eq!(again["result"]["new"], 0, "{again}");
    assert_eq!(again["result"]["duplicates"], 5, "{again}");
    assert_eq!(again["result"]["rejected"], 1, "{again}");

    // Over the limit, streamed without a length: refused, and nothing is left on disk.
    let big = vec![b'x'; 1024 * 1024 + 10];
    assert_eq!(
        chunked_upload(&app, "/api/jobs/import?filename=big.csv", &big).await,
        413
    );
    // With a declared length, refused before reading.
    let res = upload(big, "big.csv").await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let res = upload(Vec::new(), "empty.csv").await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let res = reqwest::Client::new()
        .post(app.url("/api/jobs/import"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400, "a filename is required");

    // Uploads are removed once their job is done; refused ones never stay.
    let left: Vec<_> = std::fs::read_dir(uploads.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(app.ctx.store().count().await.unwrap(), 5);
    worker.abort();
}

/// POST `body` with chunked transfer encoding (no Content-Length, as a browser streaming a
/// file may send it) over a plain connection; returns the status. Writes after the server has
/// answered may fail: the answer is what counts.
async fn chunked_upload(app: &TestApp, path: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\
         Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(64 * 1024) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if conn.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_run_each_job_once() {
    let Some(url) = crate::privacy::fresh_postgres("jobs_replicas").await else {
        return;
    };
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(&sim, &dir.path().join("unused.db"));
    env.insert("DATABASE_URL".into(), url);
    let settings = Settings::from_map(&env).unwrap();
    let a = TestApp::start_with_settings(tempfile::tempdir().unwrap(), settings.clone()).await;
    let b = TestApp::start_with_settings(tempfile::tempdir().unwrap(), settings).await;
    let workers = [
        spawn_worker(a.ctx.clone(), quick(Duration::from_secs(30))),
        spawn_worker(b.ctx.clone(), quick(Duration::from_secs(30))),
    ];

    // Enqueued through both replicas; each fetch job leaves one `fetch` activity entry when
    // it runs, so the entries count the runs.
    let mut ids = Vec::new();
    for n in 0..8 {
        let app = if n % 2 == 0 { &a } else { &b };
        let (status, job) = post_json(app, "/api/jobs/fetch", &json!({ "hours": 720 })).await;
        assert_eq!(status, 202, "{job}");
        ids.push(job["id"].as_i64().unwrap());
    }
    let mut ran_on = HashMap::new();
    for id in &ids {
        let done = wait_for(&a, *id, 120, finished).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        let job = a.ctx.store().get_job(*id).await.unwrap().unwrap();
        *ran_on.entry(job.worker.unwrap()).or_insert(0) += 1;
    }
    let activity = a.ctx.store().list_activity(None, 1000).await.unwrap();
    let runs = activity.iter().filter(|e| e.action == "fetch").count();
    assert_eq!(
        runs,
        ids.len(),
        "each job ran exactly once (workers: {ran_on:?})"
    );
    let total: u64 = truth(&sim).values().sum();
    assert_eq!(a.ctx.store().count().await.unwrap(), total);
    for w in workers {
        w.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_test_job_shows_each_viewer_only_the_events_they_may_see() {
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(&sim, &dir.path().join("aoc.db"));
    env.insert("PRIVACY_SERVICES".into(), "Exchange".into());
    env.insert("PRIVACY_SERVICE_ROLES".into(), "Auditor".into());
    let app = app_with(env, dir).await;
    let worker = spawn_worker(app.ctx.clone(), quick(Duration::from_secs(30)));
    let (status, report) = app.get_json("/api/fetch-audit-logs").await;
    assert_eq!(status, 200, "{report}");

    let auditor = aoc_app::Caller {
        name: "Ada Auditor".into(),
        subject: Some("ada".into()),
        roles: vec!["Auditor".into()],
        ..aoc_app::Caller::default()
    };
    let test = json!({
        "rule": {"name": "Exchange", "severity": "low", "match": {"service": "Exchange"}},
        "days": 30,
        "sample": 5,
    });
    let job = app
        .ctx
        .jobs()
        .start_rule_test(test, &auditor)
        .await
        .unwrap();
    let done = wait_for(&app, job.id, 60, finished).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    // The job ran with the auditor's access...
    let theirs = app.ctx.jobs().get(job.id, &auditor).await.unwrap();
    let result = theirs.result.unwrap();
    assert!(result["matched"].as_u64().unwrap() > 0, "{result}");
    let sample = result["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 5, "{result}");
    assert!(sample.iter().all(|e| e["service"] == "Exchange"));
    // ...but an anonymous viewer of the same job sees none of those events.
    assert_eq!(done["created_by"], "Ada Auditor");
    assert_eq!(done["result"]["sample"], json!([]), "{done}");
    let (_, page) = app.get_json("/api/jobs?kind=rule_test").await;
    assert_eq!(page["items"][0]["result"]["sample"], json!([]), "{page}");
    worker.abort();
}
