//! SIEM forwarding through real boundaries: the server (or the `aoc` binary) fetching from the
//! simulated tenant and forwarding to an HTTP receiver of the test's own that can be down,
//! answer 429 or 500, or be slow; rsyslog receiving RFC 5424 over TCP; the start-up refusals
//! of the egress guard.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aoc_app::{AppContext, Settings};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::common::{TestApp, aoc_serve, wait_healthy};
use crate::ingest::{fetch, sim_env, small_sim};

// ----- the receiver -----

#[derive(Clone, Copy, Debug)]
enum Mode {
    Accept,
    /// Answer this status (with `Retry-After: secs` when given) for the next `n` requests.
    Refuse {
        status: u16,
        retry_after: Option<u64>,
        n: usize,
    },
    /// Take each request after this long.
    Slow(Duration),
}

#[derive(Default)]
struct Record {
    /// Event ids in arrival order (duplicates kept).
    ids: Vec<String>,
    /// (when, status answered) per request.
    requests: Vec<(Instant, u16)>,
    /// Headers and body of each HEC request.
    hec: Vec<(HeaderMap, Bytes)>,
}

struct Receiver {
    mode: Mutex<Mode>,
    record: Mutex<Record>,
}

impl Receiver {
    fn new(mode: Mode) -> Arc<Self> {
        Arc::new(Self {
            mode: Mutex::new(mode),
            record: Mutex::default(),
        })
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn ids(&self) -> Vec<String> {
        self.record.lock().unwrap().ids.clone()
    }

    /// Decide the answer; Some(status) refuses the request.
    async fn gate(&self) -> Option<(u16, Option<u64>)> {
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Accept => None,
            Mode::Slow(d) => {
                tokio::time::sleep(d).await;
                None
            }
            Mode::Refuse {
                status,
                retry_after,
                n,
            } => {
                *self.mode.lock().unwrap() = if n > 1 {
                    Mode::Refuse {
                        status,
                        retry_after,
                        n: n - 1,
                    }
                } else {
                    Mode::Accept
                };
                Some((status, retry_after))
            }
        }
    }
}

fn refusal(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    match retry_after {
        Some(s) => (status, [("retry-after", s.to_string())], "busy").into_response(),
        None => (status, "failing").into_response(),
    }
}

/// The generic webhook: a JSON array, or NDJSON.
async fn webhook(State(rx): State<Arc<Receiver>>, body: Bytes) -> Response {
    if let Some((status, after)) = rx.gate().await {
        rx.record
            .lock()
            .unwrap()
            .requests
            .push((Instant::now(), status));
        return refusal(status, after);
    }
    let events: Vec<Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        _ => body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect(),
    };
    let mut record = rx.record.lock().unwrap();
    record.requests.push((Instant::now(), 200));
    record
        .ids
        .extend(events.iter().map(|e| e["id"].as_str().unwrap().to_string()));
    StatusCode::OK.into_response()
}

/// Splunk's HEC event endpoint: answers as Splunk does.
async fn hec(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    let objects: Vec<Value> = serde_json::Deserializer::from_slice(&body)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut record = rx.record.lock().unwrap();
    record.requests.push((Instant::now(), 200));
    record.ids.extend(
        objects
            .iter()
            .map(|o| o["event"]["id"].as_str().unwrap().to_string()),
    );
    record.hec.push((headers, body));
    axum::Json(serde_json::json!({"text": "Success", "code": 0})).into_response()
}

/// The receiver listening on `addr` until the handle is stopped.
struct Listening {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Listening {
    async fn start(rx: Arc<Receiver>, addr: SocketAddr) -> Self {
        let app = axum::Router::new()
            .route("/in", axum::routing::post(webhook))
            .route("/services/collector/event", axum::routing::post(hec))
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(rx);
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
        self.task.abort();
    }
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

// ----- helpers -----

fn siem_settings(env: HashMap<String, String>) -> Settings {
    let mut settings = Settings::from_map(&env).unwrap();
    // Short pauses so a test waits seconds, not minutes.
    settings.siem.retry_base = Duration::from_millis(200);
    settings.siem.retry_max = Duration::from_secs(2);
    settings.siem.idle = Duration::from_millis(100);
    settings
}

/// Every stored event id, in stored order.
async fn stored_ids(ctx: &AppContext) -> Vec<String> {
    let store = ctx.store();
    let mut position = None;
    let mut ids = Vec::new();
    loop {
        let read = store.events_after(position.as_ref(), 5000).await.unwrap();
        if read.events.is_empty() {
            return ids;
        }
        ids.extend(read.events.iter().map(|e| e.id.clone()));
        position = read.next;
    }
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ids received are exactly the stored ones; returns how many came more than once.
fn check_all_arrived(received: &[String], stored: &[String]) -> usize {
    let unique: HashSet<&String> = received.iter().collect();
    let want: HashSet<&String> = stored.iter().collect();
    let missing = want.difference(&unique).count();
    let extra = unique.difference(&want).count();
    assert_eq!((missing, extra), (0, 0), "missing / unexpected events");
    received.len() - unique.len()
}

// ----- the tests -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_during_a_fetch_gets_every_event_afterwards() {
    let sim = small_sim().await;
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(&sim, &dir.path().join("aoc.db"));
    env.extend(
        [
            ("SIEM_ENABLED", "true".to_string()),
            ("SIEM_WEBHOOK_URL", format!("http://{addr}/in")),
            ("EGRESS_ALLOW_PRIVATE", "127.0.0.1".into()),
            ("SIEM_BATCH_SIZE", "100".into()),
            ("SIEM_BACKLOG_WARN", "50".into()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let app = TestApp::start_with_settings(dir, siem_settings(env)).await;
    let background = aoc_app::scheduler::start(app.ctx.clone());

    // Down for 60 s from the start of the fetch (issue 14's outage): retried, the cursor stays
    // put.
    let down_since = Instant::now();
    fetch(&app, "?hours=168").await;
    let stored = stored_ids(&app.ctx).await;
    assert!(
        stored.len() > 500,
        "a fetch worth forwarding: {}",
        stored.len()
    );
    tokio::time::sleep(
        Duration::from_secs(60)
            .saturating_sub(down_since.elapsed())
            .max(Duration::from_secs(5)),
    )
    .await;
    let (status, body) = app.get_json("/api/siem/status").await;
    assert_eq!(status, 200, "{body}");
    let target = &body["targets"][0];
    assert_eq!(body["enabled"], true);
    assert_eq!(target["name"], "webhook");
    assert_eq!(target["kind"], "webhook");
    assert_eq!(target["backlog"], stored.len() as u64, "{body}");
    assert_eq!(target["delivered"], 0);
    assert!(target["failed"].as_u64().unwrap() >= 3, "{body}");
    assert!(target["last_error"].is_string(), "{body}");

    // Back up: first a 500, then everything.
    let rx = Receiver::new(Mode::Refuse {
        status: 500,
        retry_after: None,
        n: 1,
    });
    let listening = Listening::start(rx.clone(), addr).await;
    let back = Instant::now();
    wait_for("every event", Duration::from_secs(60), || {
        rx.ids().iter().collect::<HashSet<_>>().len() >= stored.len()
    })
    .await;
    let drained = back.elapsed();
    let duplicates = check_all_arrived(&rx.ids(), &stored);
    eprintln!(
        "siem outage: {} events delivered after the receiver came back (in {drained:?}), {duplicates} duplicates",
        stored.len()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = app.get_json("/api/siem/status").await;
    let target = &body["targets"][0];
    assert_eq!(target["backlog"], 0, "{body}");
    assert_eq!(target["delivered"], rx.ids().len() as u64, "{body}");
    assert!(target["last_error"].is_null() && target["last_success"].is_string());
    // The metrics carry the same.
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in ["aoc_siem_delivered_total", "aoc_siem_failed_total"] {
        assert!(
            metrics.contains(&format!("{name}{{target=\"webhook\"}}")),
            "{name} in {metrics}"
        );
    }
    background.abort();
    listening.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_obeyed_and_nothing_is_lost_to_429_and_500() {
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("aoc.db").display()),
        ),
        ("SIEM_ENABLED", "true".into()),
        ("SIEM_WEBHOOK_URL", format!("http://{addr}/in")),
        ("SIEM_WEBHOOK_FORMAT", "ndjson".into()),
        ("EGRESS_ALLOW_PRIVATE", "127.0.0.1".into()),
        ("SIEM_BATCH_SIZE", "2".into()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into();
    let app = TestApp::start_with_settings(dir, siem_settings(env)).await;
    app.import("mixed.jsonl").await;
    let stored = stored_ids(&app.ctx).await;
    assert!(stored.len() > 2, "{}", stored.len());
    let rx = Receiver::new(Mode::Refuse {
        status: 429,
        retry_after: Some(2),
        n: 1,
    });
    let listening = Listening::start(rx.clone(), addr).await;
    let forwarder = app.ctx.siem[0].clone();
    let task = tokio::spawn(async move {
        forwarder.run_until(std::future::pending::<()>()).await;
    });
    wait_for("every event", Duration::from_secs(30), || {
        rx.ids().iter().collect::<HashSet<_>>().len() >= stored.len()
    })
    .await;
    let requests = rx.record.lock().unwrap().requests.clone();
    assert_eq!(requests[0].1, 429);
    let waited = requests[1].0 - requests[0].0;
    assert!(
        waited >= Duration::from_millis(1900),
        "Retry-After: 2 obeyed, waited {waited:?} (backoff alone would be ~200 ms)"
    );
    assert_eq!(check_all_arrived(&rx.ids(), &stored), 0);
    task.abort();
    listening.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hec_requests_have_splunks_documented_shape() {
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("aoc.db").display()),
        ),
        ("SIEM_ENABLED", "true".into()),
        ("SPLUNK_HEC_URL", format!("http://{addr}")),
        ("SPLUNK_HEC_TOKEN", "hec-token-123".into()),
        ("SPLUNK_HEC_INDEX", "m365_audit".into()),
        ("EGRESS_ALLOW_PRIVATE", "127.0.0.1".into()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into();
    let app = TestApp::start_with_settings(dir, siem_settings(env)).await;
    app.import("mixed.jsonl").await;
    let stored = stored_ids(&app.ctx).await;
    let rx = Receiver::new(Mode::Accept);
    let listening = Listening::start(rx.clone(), addr).await;
    let splunk = &app.ctx.siem[0];
    assert_eq!(splunk.consumer_name(), "siem:splunk");
    while splunk.forward_once().await.unwrap() > 0 {}
    assert_eq!(check_all_arrived(&rx.ids(), &stored), 0);

    let (headers, body) = rx.record.lock().unwrap().hec[0].clone();
    assert_eq!(headers["authorization"], "Splunk hec-token-123");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let objects: Vec<Value> = serde_json::Deserializer::from_slice(&body)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(objects.len(), stored.len());
    let by_id: HashMap<String, aoc_domain::Event> = events_by_id(&app.ctx, &stored).await;
    for o in &objects {
        let keys: HashSet<&str> = o.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            HashSet::from(["time", "host", "source", "sourcetype", "index", "event"]),
            "{o}"
        );
        let event = &by_id[o["event"]["id"].as_str().unwrap()];
        // Epoch seconds with the milliseconds as the fraction.
        let time = o["time"].as_f64().unwrap();
        assert!(
            (time - event.timestamp.timestamp_millis() as f64 / 1000.0).abs() < 0.0005,
            "{time} for {}",
            event.timestamp
        );
        assert!(!o["host"].as_str().unwrap().is_empty());
        assert_eq!(o["source"], format!("aoc:{}", event.source.as_str()));
        assert_eq!(o["sourcetype"], "aoc:event");
        assert_eq!(o["index"], "m365_audit");
        assert_eq!(o["event"]["operation"], event.operation.as_str());
    }
    listening.stop().await;
}

async fn events_by_id(ctx: &AppContext, ids: &[String]) -> HashMap<String, aoc_domain::Event> {
    let mut out = HashMap::new();
    for id in ids {
        let e = ctx.store().get(id).await.unwrap().unwrap();
        out.insert(id.clone(), e);
    }
    out
}

// ----- start-up refusals -----

async fn start_error(pairs: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert(
        "DATABASE_URL".into(),
        format!("sqlite://{}", dir.path().join("aoc.db").display()),
    );
    env.insert("SIEM_ENABLED".into(), "true".into());
    match AppContext::open(Settings::from_map(&env).unwrap()).await {
        Ok(_) => panic!("started with {pairs:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn unsafe_siem_destinations_refuse_start_up_naming_the_setting() {
    /// Settings, the variable the error names, and something else it must say.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case<'_>; 7] = [
        (
            &[("SIEM_WEBHOOK_URL", "http://siem.example.com/in")],
            "SIEM_WEBHOOK_URL",
            "https",
        ),
        (
            &[("SIEM_WEBHOOK_URL", "https://192.168.1.20/in")],
            "SIEM_WEBHOOK_URL",
            "192.168.1.20",
        ),
        // A name that resolves to loopback: refused when looked up at start-up.
        (
            &[("SIEM_WEBHOOK_URL", "https://localhost:8443/in")],
            "SIEM_WEBHOOK_URL",
            "localhost",
        ),
        (
            &[
                ("SIEM_WEBHOOK_URL", "https://siem.evil.example.org/in"),
                ("SIEM_ALLOWED_DOMAINS", "*.contoso.com,splunk.example.com"),
            ],
            "SIEM_WEBHOOK_URL",
            "siem.evil.example.org",
        ),
        (
            &[
                ("SPLUNK_HEC_URL", "https://127.0.0.1:8088"),
                ("SPLUNK_HEC_TOKEN", "t"),
            ],
            "SPLUNK_HEC_URL",
            "127.0.0.1",
        ),
        (
            &[("SYSLOG_URL", "tcp://siem.example.com:514")],
            "SYSLOG_URL",
            "tcp",
        ),
        (
            &[("SYSLOG_URL", "tls://localhost:6514")],
            "SYSLOG_URL",
            "localhost",
        ),
    ];
    for (pairs, var, detail) in cases {
        let err = start_error(pairs).await;
        assert!(
            err.starts_with(&format!("{var}: ")) && err.contains(detail),
            "{pairs:?}: {err}"
        );
    }
}

// ----- kill -9 of the binary with a backlog -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_a_backlog_then_restart_delivers_every_event() {
    let sim = small_sim().await;
    let receiver_addr = free_addr();
    let bind = free_addr();
    let base = format!("http://{bind}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aoc.db");
    let mut env = sim_env(&sim, &db);
    env.extend(
        [
            ("BIND_ADDR", bind.to_string()),
            ("SIEM_ENABLED", "true".into()),
            ("SIEM_WEBHOOK_URL", format!("http://{receiver_addr}/in")),
            ("EGRESS_ALLOW_PRIVATE", "127.0.0.1".into()),
            ("SIEM_BATCH_SIZE", "25".into()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    // A slow receiver, so a backlog builds up behind it.
    let rx = Receiver::new(Mode::Slow(Duration::from_millis(150)));
    let listening = Listening::start(rx.clone(), receiver_addr).await;
    let mut server = aoc_serve(&env);
    wait_healthy(&base).await;
    let res = reqwest::get(format!("{base}/api/fetch-audit-logs?hours=168"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    wait_for("the first deliveries", Duration::from_secs(30), || {
        rx.ids().len() >= 100
    })
    .await;
    server.kill().unwrap(); // SIGKILL: no shutdown, no last cursor save
    server.wait().unwrap();
    let at_kill = rx.ids().len();

    let store = aoc_store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let lag = aoc_app::consumer::lag(store.as_ref(), "siem:webhook", 1_000_000)
        .await
        .unwrap();
    assert!(lag.events_behind > 100, "a backlog at the kill: {lag:?}");
    let mut stored = Vec::new();
    let mut position = None;
    loop {
        let read = store.events_after(position.as_ref(), 5000).await.unwrap();
        if read.events.is_empty() {
            break;
        }
        stored.extend(read.events.iter().map(|e| e.id.clone()));
        position = read.next;
    }
    drop(store);

    rx.set_mode(Mode::Accept);
    let mut server = aoc_serve(&env);
    wait_healthy(&base).await;
    wait_for(
        "every event after the restart",
        Duration::from_secs(60),
        || rx.ids().iter().collect::<HashSet<_>>().len() >= stored.len(),
    )
    .await;
    server.kill().unwrap();
    server.wait().unwrap();
    let duplicates = check_all_arrived(&rx.ids(), &stored);
    eprintln!(
        "siem kill -9: {} events, {at_kill} delivered before the kill, {} behind at the kill, {duplicates} duplicates after the restart",
        stored.len(),
        lag.events_behind
    );
    // At least once, and no more than the batch in flight at the kill comes twice.
    assert!(duplicates <= 25, "{duplicates}");
    listening.stop().await;
}

// ----- rsyslog -----

/// rsyslogd from AOC_TEST_RSYSLOGD or the Debian package's path; None skips the test unless
/// this is a full run (CI set, as scripts/test does), where a missing rsyslog fails it.
fn rsyslogd() -> Option<std::path::PathBuf> {
    let found = std::env::var("AOC_TEST_RSYSLOGD")
        .ok()
        .map(std::path::PathBuf::from)
        .or_else(|| Some(std::path::PathBuf::from("/usr/sbin/rsyslogd")))
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "rsyslogd is not installed (apt-get install rsyslog)"
        );
        eprintln!("skipped: rsyslogd is not installed");
    }
    found
}

/// rsyslogd as a child with its own configuration: RFC 5424 over TCP (octet counting) on a
/// free loopback port, each message's raw text one line of `out.log`.
struct Rsyslog {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Rsyslog {
    async fn start(bin: &std::path::Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_addr().port();
        let d = dir.path().display();
        let conf = dir.path().join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{d}" maxMessageSize="1m")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="aoc") {{
  action(type="omfile" file="{d}/out.log" template="raw")
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="aoc")
"#
            ),
        )
        .unwrap();
        let child = std::process::Command::new(bin)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "rsyslogd did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            port,
            out: dir.path().join("out.log"),
            _dir: dir,
        }
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An RFC 5424 message as AOC sends it: (header fields, SD event id, payload).
fn parse_rfc5424(line: &str) -> (Vec<String>, String, String) {
    let (pri, rest) = line
        .strip_prefix('<')
        .and_then(|l| l.split_once('>'))
        .unwrap_or_else(|| panic!("no PRI: {line}"));
    let pri: u16 = pri.parse().unwrap();
    assert_eq!(pri / 8, 13, "facility log audit: {line}");
    let mut fields = rest.splitn(7, ' ');
    let head: Vec<String> = (0..6).map(|_| fields.next().unwrap().to_string()).collect();
    assert_eq!(head[0], "1", "version: {line}");
    chrono::DateTime::parse_from_rfc3339(&head[1]).unwrap();
    assert_eq!((head[3].as_str(), head[4].as_str()), ("aoc", "-"));
    let rest = fields.next().unwrap();
    let sd = rest
        .strip_prefix("[aoc@32473 id=\"")
        .unwrap_or_else(|| panic!("structured data: {line}"));
    // The id ends at the first quote not escaped.
    let mut id = String::new();
    let mut chars = sd.char_indices();
    let mut end = 0;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => id.push(chars.next().unwrap().1),
            '"' => {
                end = i;
                break;
            }
            c => id.push(c),
        }
    }
    let after = &sd[end..];
    let close = after.find("] ").unwrap_or_else(|| panic!("SD end: {line}"));
    (head, id, after[close + 2..].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_receives_every_event_of_a_fetch_as_rfc5424() {
    let Some(bin) = rsyslogd() else { return };
    let rsyslog = Rsyslog::start(&bin).await;
    let sim = small_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = sim_env(&sim, &dir.path().join("aoc.db"));
    env.extend(
        [
            ("SIEM_ENABLED", "true".to_string()),
            ("SYSLOG_URL", format!("tcp://127.0.0.1:{}", rsyslog.port)),
            ("EGRESS_ALLOW_PRIVATE", "127.0.0.1".into()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let app = TestApp::start_with_settings(dir, siem_settings(env)).await;
    let background = aoc_app::scheduler::start(app.ctx.clone());
    fetch(&app, "?hours=168").await;
    let stored = stored_ids(&app.ctx).await;
    wait_for(
        "rsyslog to write every event",
        Duration::from_secs(60),
        || rsyslog.lines().len() >= stored.len(),
    )
    .await;
    let mut received = Vec::new();
    for line in rsyslog.lines() {
        let (_, sd_id, payload) = parse_rfc5424(&line);
        let event: Value = serde_json::from_str(&payload)
            .unwrap_or_else(|e| panic!("JSON payload ({e}): {payload}"));
        assert_eq!(event["id"], sd_id.as_str());
        received.push(sd_id);
    }
    let duplicates = check_all_arrived(&received, &stored);
    eprintln!(
        "siem rsyslog: {} events received, {duplicates} duplicates",
        stored.len()
    );
    assert_eq!(
        duplicates, 0,
        "a receiver that stayed up gets each event once"
    );
    background.abort();

    // The CEF payload, to the same rsyslog.
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("aoc.db").display()),
        ),
        ("SIEM_ENABLED", "true".into()),
        ("SYSLOG_URL", format!("tcp://127.0.0.1:{}", rsyslog.port)),
        ("SYSLOG_FORMAT", "cef".into()),
        ("EGRESS_ALLOW_PRIVATE", "127.0.0.1".into()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into();
    let cef_app = TestApp::start_with_settings(dir, siem_settings(env)).await;
    cef_app.import("mixed.jsonl").await;
    let imported = stored_ids(&cef_app.ctx).await;
    while cef_app.ctx.siem[0].forward_once().await.unwrap() > 0 {}
    let cef_lines = || {
        rsyslog
            .lines()
            .into_iter()
            .filter(|l| l.contains(" CEF:0|"))
            .collect::<Vec<_>>()
    };
    wait_for("the CEF messages", Duration::from_secs(20), || {
        cef_lines().len() >= imported.len()
    })
    .await;
    let mut cef_ids = Vec::new();
    for line in cef_lines() {
        let (head, sd_id, payload) = parse_rfc5424(&line);
        let event = cef_app.ctx.store().get(&sd_id).await.unwrap().unwrap();
        let prefix = format!(
            "CEF:0|AOC|AOC|{}|{}|",
            env!("CARGO_PKG_VERSION"),
            event.operation
        );
        assert!(payload.starts_with(&prefix), "{payload}");
        assert!(
            payload.contains(&format!("externalId={}", event.id.replace('=', "\\="))),
            "{payload}"
        );
        assert_eq!(head[5], event.operation.replace(' ', ""), "MSGID");
        cef_ids.push(sd_id);
    }
    assert_eq!(check_all_arrived(&cef_ids, &imported), 0);
}

// ----- drain rate -----

/// How fast a backlog drains to a local HTTP receiver (issue 14: 5,000 events/s or more).
/// `cargo test -p aoc --test it siem::drain_rate -- --ignored --nocapture` (add --release for
/// the figure BENCHMARKS.md reports).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run on purpose"]
async fn drain_rate() {
    const EVENTS: usize = 50_000;
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("aoc.db").display()),
        ),
        ("SIEM_ENABLED", "true".into()),
        ("SIEM_WEBHOOK_URL", format!("http://{addr}/in")),
        ("EGRESS_ALLOW_PRIVATE", "127.0.0.1".into()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into();
    let app = TestApp::start_with_settings(dir, siem_settings(env)).await;
    app.import("mixed.jsonl").await;
    let store = app.ctx.store().clone();
    let templates = {
        let ids = stored_ids(&app.ctx).await;
        let mut out = Vec::new();
        for id in ids {
            out.push(store.get(&id).await.unwrap().unwrap());
        }
        out
    };
    let mut batch = Vec::with_capacity(1000);
    for i in 0..EVENTS {
        let mut e = templates[i % templates.len()].clone();
        e.id = format!("drain-{i}");
        e.dedupe_key = format!("drain-{i}");
        batch.push(e);
        if batch.len() == 1000 {
            store.insert_batch(&batch).await.unwrap();
            batch.clear();
        }
    }
    let total = stored_ids(&app.ctx).await.len();
    let rx = Receiver::new(Mode::Accept);
    let listening = Listening::start(rx.clone(), addr).await;
    let forwarder = app.ctx.siem[0].clone();
    let start = Instant::now();
    let mut sent = 0;
    loop {
        let n = forwarder.forward_once().await.unwrap();
        if n == 0 {
            break;
        }
        sent += n;
    }
    let took = start.elapsed();
    assert_eq!(sent, total);
    assert_eq!(check_all_arrived(&rx.ids(), &stored_ids(&app.ctx).await), 0);
    let bytes = serde_json::to_vec(&templates).unwrap().len() / templates.len();
    eprintln!(
        "siem drain: {sent} events (~{bytes} bytes each as JSON) in {took:.2?} = {:.0} events/s (batch {})",
        sent as f64 / took.as_secs_f64(),
        app.ctx.settings.siem.batch_size
    );
    listening.stop().await;
}
