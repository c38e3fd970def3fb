//! The log as an operator gets it: the real `aoc serve` with stderr going to a file, as a
//! container runtime or a service manager keeps it. No escape codes there, one JSON object a
//! line with AOC_LOG_FORMAT=json, and every request's id on the lines it caused and in its
//! X-Request-Id header (a proxy's id believed only from TRUSTED_PROXIES).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::header::HeaderValue;

/// A lifecycle notification the webhook logs a warning for, inside the request's span.
const NOTIFICATION: &str =
    r#"{"value":[{"lifecycleEvent":"subscriptionRemoved","subscriptionId":"sub-1"}]}"#;
const WARNING: &str = "Graph removed the subscription";

struct Server {
    child: Child,
    log: PathBuf,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `aoc` with these variables over a clean slate of AOC's own (and no NO_COLOR), in a fresh
/// directory (so no `.env` is read), stderr to `aoc.log` there.
fn command(args: &[&str], vars: &[(&str, &str)]) -> (Command, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("aoc.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aoc"));
    cmd.args(args)
        .current_dir(dir.path())
        .env_remove("NO_COLOR");
    for s in aoc_app::config::SETTINGS {
        cmd.env_remove(s.name)
            .env_remove(aoc_app::config::file_variable(s.name));
    }
    cmd.env("AOC_LOG", "info").env(
        "DATABASE_URL",
        format!("sqlite://{}", dir.path().join("aoc.db").display()),
    );
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    (cmd, dir, log)
}

async fn start(vars: &[(&str, &str)]) -> Server {
    let (mut cmd, dir, log) = command(&["serve", "--bind", "127.0.0.1:0"], vars);
    let mut child = cmd.spawn().unwrap();
    for _ in 0..600 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(at) = text.find("listening on http://") {
            let addr: String = text[at + "listening on ".len()..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\\')
                .collect();
            return Server {
                child,
                log,
                base: addr,
                http: reqwest::Client::new(),
                _dir: dir,
            };
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("aoc serve exited ({status}): {text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!(
        "aoc serve did not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

impl Server {
    /// The webhook (which logs a warning) with this X-Request-Id, if any: its response id.
    async fn notify(&self, id: Option<HeaderValue>) -> String {
        let mut req = self
            .http
            .post(format!("{}/api/webhooks/graph", self.base))
            .header("content-type", "application/json")
            .body(NOTIFICATION);
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 202);
        response_id(&res)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    fn log(&self) -> String {
        String::from_utf8(std::fs::read(&self.log).unwrap()).unwrap()
    }

    /// The lines of the webhook's warning.
    fn warnings(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains(WARNING))
            .map(str::to_string)
            .collect()
    }
}

fn response_id(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-request-id")
        .expect("every response has an X-Request-Id")
        .to_str()
        .unwrap()
        .to_string()
}

/// The shape of an id the server made up (a hyphenated UUID).
fn is_generated(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

#[tokio::test]
async fn a_log_in_a_file_has_no_escape_codes_and_names_the_request() {
    let server = start(&[]).await;
    let id = server.notify(None).await;
    assert!(is_generated(&id), "{id}");
    let missing = server.get("/api/no-such-route").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert!(is_generated(&response_id(&missing)));

    let log = server.log();
    assert!(!log.contains('\u{1b}'), "escape codes in the file: {log:?}");
    let warnings = server.warnings();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains(&format!(
            "request{{id={id} method=POST path=/api/webhooks/graph}}"
        )),
        "{}",
        warnings[0]
    );
}

#[tokio::test]
async fn with_json_format_every_line_is_an_object_with_the_request_id() {
    let server = start(&[("AOC_LOG_FORMAT", "json")]).await;
    let id = server.notify(None).await;

    let log = server.log();
    assert!(!log.contains('\u{1b}'), "{log:?}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 2, "{log}");
    for line in &lines {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&line["level"].as_str().unwrap()),
            "{line}"
        );
        assert!(line["target"].is_string(), "{line}");
        assert!(line["fields"]["message"].is_string(), "{line}");
    }
    let warning = lines
        .iter()
        .find(|l| l["fields"]["message"].as_str().unwrap().contains(WARNING))
        .unwrap_or_else(|| panic!("no warning: {log}"));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["fields"]["subscription"], "sub-1");
    let request = &warning["spans"][0];
    assert_eq!(request["name"], "request", "{warning}");
    assert_eq!(request["id"], id.as_str(), "{warning}");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], "/api/webhooks/graph");
}

#[tokio::test]
async fn an_id_sent_by_anyone_but_a_trusted_proxy_is_replaced() {
    let server = start(&[]).await;
    let id = server
        .notify(Some(HeaderValue::from_static("abc-123")))
        .await;
    assert!(is_generated(&id), "{id}");
    let log = server.log();
    assert!(!log.contains("abc-123"), "{log}");
    assert!(server.warnings()[0].contains(&id), "{log}");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_id_unless_it_is_unfit_for_a_log() {
    let server = start(&[
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RATE_LIMIT_REQUESTS", "6"),
    ])
    .await;
    assert_eq!(
        server
            .notify(Some(HeaderValue::from_static("abc-123")))
            .await,
        "abc-123"
    );
    let long = "a".repeat(200);
    for bad in [
        HeaderValue::from_str(&long).unwrap(),
        HeaderValue::from_bytes(b"abc\tdef").unwrap(),
        HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        HeaderValue::from_static("two words"),
    ] {
        let id = server.notify(Some(bad.clone())).await;
        assert!(is_generated(&id), "{bad:?} came back as {id}");
    }
    let warnings = server.warnings();
    assert_eq!(warnings.len(), 5, "{}", server.log());
    assert!(
        warnings[0].contains("request{id=abc-123 "),
        "{}",
        warnings[0]
    );
    let log = server.log();
    assert!(!log.contains(&long) && !log.contains("abc\tdef") && !log.contains("two words"));

    // Refusals carry the header too: the rate limit's 429.
    let mut refused = None;
    for _ in 0..10 {
        let res = server.get("/api/version").await;
        if res.status().as_u16() == 429 {
            refused = Some(res);
            break;
        }
    }
    let refused = refused.expect("the rate limit refuses");
    assert!(is_generated(&response_id(&refused)));
}

#[test]
fn an_unknown_log_format_stops_start_up_naming_the_variable() {
    // An address that cannot be bound: should the format be let through, serve still stops.
    let (mut cmd, _dir, log) = command(
        &["serve", "--bind", "not-an-address"],
        &[("AOC_LOG_FORMAT", "xml")],
    );
    let status = cmd.status().unwrap();
    let out = std::fs::read_to_string(log).unwrap();
    assert!(!status.success());
    assert!(
        out.contains("AOC_LOG_FORMAT") && out.contains("'xml'"),
        "{out}"
    );
    assert!(!out.contains("--bind"), "stopped before serving: {out}");
}

/// A fetch over HTTP against the simulated tenant: every line the services and the Microsoft
/// 365 client wrote for it is in its request's span, and in a `fetch` span within.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_started_by_a_request_logs_under_its_id() {
    let sim = crate::ingest::small_sim().await;
    let env = crate::ingest::sim_env(&sim, std::path::Path::new("unused"));
    let vars: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| k.as_str() != "DATABASE_URL")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([
            ("AOC_LOG_FORMAT", "json"),
            ("AOC_LOG", "debug,sqlx=warn,hyper=warn,reqwest=warn"),
        ])
        .collect();
    let server = start(&vars).await;
    let res = server.get("/api/fetch-audit-logs?hours=48").await;
    assert_eq!(res.status().as_u16(), 200);
    let id = response_id(&res);

    let log = server.log();
    let secret = &sim.handle.config().client_secret;
    assert!(
        !log.contains(secret.as_str()),
        "the client secret is logged"
    );
    let fetch_lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| {
            let target = l["target"].as_str().unwrap();
            target.starts_with("aoc_m365") || target.starts_with("aoc_app::ingest")
        })
        .collect();
    assert!(
        fetch_lines
            .iter()
            .any(|l| l["fields"]["message"] == "fetch finished"),
        "{log}"
    );
    for line in &fetch_lines {
        assert_eq!(line["spans"][0]["name"], "request", "{line}");
        assert_eq!(line["spans"][0]["id"], id.as_str(), "{line}");
        assert_eq!(line["spans"][1]["name"], "fetch", "{line}");
    }
}
