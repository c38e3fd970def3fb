//! Hardening through real HTTP: rate limits (in-process and Redis), CORS, security headers,
//! docs gating, metrics, slow and oversized requests, secrets kept out of logs, and a
//! property-based bad-input run over every route of the OpenAPI document.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::auth::{Idp, valid_token};
use crate::common::TestApp;

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .expect("Retry-After on 429")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn expect_429(res: reqwest::Response) {
    assert_eq!(res.status().as_u16(), 429);
    assert!(retry_after(&res) >= 1);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("too many requests")
    );
}

// ----- rate limits -----

#[tokio::test]
async fn in_process_limits_per_category() {
    let app = TestApp::start_with(&[
        ("RATE_LIMIT_REQUESTS", "3"),
        ("RATE_LIMIT_WINDOW_SECONDS", "3600"),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(app.get_json("/api/version").await.0, 200);
    }
    let res = app.http.get(app.url("/api/version")).send().await.unwrap();
    let wait = retry_after(&res);
    assert!(
        wait > 600 && wait <= 1200,
        "one request per 20 min at 3/hour: {wait}"
    );
    expect_429(res).await;
    // Other budgets are separate; health and the UI are not limited.
    assert_eq!(app.get_json("/health").await.0, 200);
    for _ in 0..20 {
        let res = app
            .http
            .patch(app.url("/api/events/nope/tags"))
            .json(&json!({"tags": ["a"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404);
    }
    let res = app
        .http
        .patch(app.url("/api/events/nope/tags"))
        .json(&json!({"tags": ["a"]}))
        .send()
        .await
        .unwrap();
    expect_429(res).await;
    for _ in 0..10 {
        let res = app
            .http
            .get(app.url("/api/fetch-audit-logs"))
            .send()
            .await
            .unwrap();
        assert_ne!(res.status().as_u16(), 429);
    }
    let res = app
        .http
        .get(app.url("/api/fetch-audit-logs"))
        .send()
        .await
        .unwrap();
    let wait = retry_after(&res);
    assert!(
        wait > 60 && wait <= 360,
        "10/hour refills one per 6 min: {wait}"
    );
    expect_429(res).await;
}

#[tokio::test]
async fn limits_key_on_the_token_subject() {
    let idp = Idp::start().await;
    let app = idp
        .app(&[
            ("RATE_LIMIT_REQUESTS", "2"),
            ("RATE_LIMIT_WINDOW_SECONDS", "3600"),
        ])
        .await;
    let alice = valid_token(json!({"oid": format!("alice-{}", crate::auth::uuid_like())}));
    let bob = valid_token(json!({"oid": format!("bob-{}", crate::auth::uuid_like())}));
    for _ in 0..2 {
        assert_eq!(app.get_bearer("/api/version", &alice).await.0, 200);
    }
    assert_eq!(app.get_bearer("/api/version", &alice).await.0, 429);
    // Same address, another subject: its own budget.
    assert_eq!(app.get_bearer("/api/version", &bob).await.0, 200);
}

#[tokio::test]
async fn limits_shared_through_redis() {
    let Ok(redis) = std::env::var("AOC_TEST_REDIS_URL") else {
        eprintln!("skipped: AOC_TEST_REDIS_URL is not set");
        return;
    };
    let idp = Idp::start().await;
    let vars = [
        ("RATE_LIMIT_REQUESTS", "3"),
        ("RATE_LIMIT_WINDOW_SECONDS", "3600"),
        ("REDIS_URL", redis.as_str()),
    ];
    // Two replicas sharing one Redis.
    let one = idp.app(&vars).await;
    let two = idp.app(&vars).await;
    let user = valid_token(json!({"oid": format!("redis-{}", crate::auth::uuid_like())}));
    assert_eq!(one.get_bearer("/api/version", &user).await.0, 200);
    assert_eq!(two.get_bearer("/api/version", &user).await.0, 200);
    assert_eq!(one.get_bearer("/api/version", &user).await.0, 200);
    let res = two
        .http
        .get(two.url("/api/version"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    let wait = retry_after(&res);
    assert!(wait > 600 && wait <= 1200, "{wait}");
    expect_429(res).await;
    // Another subject is unaffected.
    let other = valid_token(json!({"oid": format!("redis-other-{}", crate::auth::uuid_like())}));
    assert_eq!(two.get_bearer("/api/version", &other).await.0, 200);
    // The write category through Redis too.
    for _ in 0..20 {
        let res = one
            .http
            .patch(one.url("/api/events/x/tags"))
            .bearer_auth(&other)
            .json(&json!({"tags": []}))
            .send()
            .await;
        assert_eq!(res.unwrap().status().as_u16(), 404);
    }
    let res = two
        .http
        .patch(two.url("/api/events/x/tags"))
        .bearer_auth(&other)
        .json(&json!({"tags": []}))
        .send()
        .await;
    expect_429(res.unwrap()).await;
}

#[tokio::test]
async fn redis_down_fails_closed() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{closed}");
    let app = TestApp::start_with(&[("REDIS_URL", url.as_str())]).await;
    for path in ["/api/version", "/api/events"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        expect_429(res).await;
    }
    assert_eq!(
        app.get_json("/health").await.0,
        200,
        "health does not depend on Redis"
    );
}

#[tokio::test]
async fn rate_limits_can_be_turned_off() {
    let app = TestApp::start_with(&[
        ("RATE_LIMIT_ENABLED", "false"),
        ("RATE_LIMIT_REQUESTS", "1"),
    ])
    .await;
    for _ in 0..5 {
        assert_eq!(app.get_json("/api/version").await.0, 200);
    }
}

// ----- CORS, headers, docs -----

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/api/events"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn cors_follows_cors_origins() {
    // Unset: same origin only.
    let app = TestApp::start().await;
    let res = app
        .http
        .get(app.url("/api/version"))
        .header("Origin", "https://ui.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), None);

    // A list: those origins, with credentials.
    let app = TestApp::start_with(&[(
        "CORS_ORIGINS",
        "https://ui.example.com, https://ops.example.com/",
    )])
    .await;
    let res = preflight(&app, "https://ui.example.com").await;
    assert!(res.status().is_success());
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("https://ui.example.com")
    );
    assert_eq!(
        header(&res, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert!(
        header(&res, "access-control-allow-headers")
            .unwrap()
            .to_lowercase()
            .contains("authorization")
    );
    let res = preflight(&app, "https://ops.example.com").await;
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("https://ops.example.com")
    );
    let res = preflight(&app, "https://evil.example").await;
    assert_eq!(header(&res, "access-control-allow-origin"), None);

    // `*` with auth on: any origin may read, never with credentials.
    let app = TestApp::start_with(&[
        ("CORS_ORIGINS", "*"),
        ("AUTH_ENABLED", "true"),
        ("AUTH_TENANT_ID", crate::auth::TENANT),
        ("AUTH_CLIENT_ID", crate::auth::CLIENT),
    ])
    .await;
    let res = preflight(&app, "https://anywhere.example").await;
    assert!(
        res.status().is_success(),
        "preflight is not blocked by auth"
    );
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert_eq!(header(&res, "access-control-allow-credentials"), None);
    let res = app
        .http
        .get(app.url("/api/events"))
        .header("Origin", "https://anywhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("*"),
        "the UI can read the 401"
    );
    assert_eq!(header(&res, "access-control-allow-credentials"), None);
}

#[tokio::test]
async fn security_headers_everywhere_and_hsts_when_enabled() {
    let app = TestApp::start_with(&[("RATE_LIMIT_REQUESTS", "1")]).await;
    let _ = app.get_json("/api/version").await;
    for (path, status) in [
        ("/", None),
        ("/health", Some(200)),
        ("/api/version", Some(429)),
        ("/api/nope", None),
        ("/metrics", Some(200)),
    ] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        if let Some(s) = status {
            assert_eq!(res.status().as_u16(), s, "{path}");
        }
        let csp =
            header(&res, "content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP"));
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{path}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}"
        );
        assert_eq!(
            header(&res, "x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert!(header(&res, "referrer-policy").is_some(), "{path}");
        assert_eq!(
            header(&res, "strict-transport-security"),
            None,
            "{path}: HSTS is off by default"
        );
    }
    let app = TestApp::start_with(&[("HSTS_ENABLED", "true")]).await;
    for path in ["/", "/api/version", "/api/nope"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            header(&res, "strict-transport-security").as_deref(),
            Some(aoc_server::HSTS),
            "{path}"
        );
    }
}

#[tokio::test]
async fn docs_are_gated_and_cover_every_route() {
    let app = TestApp::start().await;
    assert_eq!(app.get_json("/openapi.json").await.0, 404);
    assert_eq!(
        app.http
            .get(app.url("/docs"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    let app = TestApp::start_with(&[("DOCS_ENABLED", "true")]).await;
    let (status, doc) = app.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    for (method, path) in aoc_server::API_ROUTES {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} missing from /openapi.json");
    }
    let res = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let csp = header(&res, "content-security-policy").unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("/api/events/{id}/comments"));
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "the docs page obeys the CSP: {csp}"
    );
}

// ----- metrics -----

#[tokio::test]
async fn metrics_by_route_and_store_size_from_allowed_addresses_only() {
    let app = TestApp::start().await;
    app.import("mixed.jsonl").await;
    assert_eq!(app.get_json("/api/events/some-id-123").await.0, 404);
    assert_eq!(app.get_json("/api/events").await.0, 200);
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        header(&res, "content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("aoc_http_requests_total{")
                && l.contains("route=\"/api/events/{id}\"")
                && l.contains("status=\"404\"")),
        "requests are counted by matched route, not raw path:\n{text}"
    );
    assert!(
        !text.contains("some-id-123"),
        "raw paths never become labels"
    );
    assert!(text.contains("aoc_http_request_duration_seconds_bucket{"));
    assert!(
        text.lines().any(|l| l.starts_with("aoc_store_events ")),
        "{text}"
    );
    assert!(text.contains("aoc_fetch_records_total{source=\"directory\"}"));
    assert!(text.contains("aoc_fetch_errors_total{source=\"unified\"}"));

    let app = TestApp::start_with(&[("METRICS_ALLOWED_IPS", "10.0.0.0/8,192.0.2.7")]).await;
    let (status, body) = app.get_json("/metrics").await;
    assert_eq!(status, 403);
    assert!(body["error"].is_string());
}

// ----- slow and oversized requests -----

fn short_timeouts() -> aoc_server::ServerOptions {
    aoc_server::ServerOptions {
        header_read_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        ..Default::default()
    }
}

/// Read until the server closes the connection (or a generous safety limit passes).
async fn read_to_close(stream: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server kept a stalled connection open");
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn a_stalled_request_head_is_dropped() {
    let app = TestApp::start_with_options(&[], short_timeouts()).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /api/version HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // ... and never finish the head.
    let answer = read_to_close(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // The server still serves others.
    assert_eq!(app.get_json("/api/version").await.0, 200);
}

#[tokio::test]
async fn a_stalled_body_times_out_with_408() {
    let app = TestApp::start_with_options(&[], short_timeouts()).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"PATCH /api/events/x/tags HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"tags\"")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("application/json") && answer.contains("\"error\""),
        "{answer}"
    );
}

#[tokio::test]
async fn oversized_heads_and_bodies_are_refused() {
    let app = TestApp::start().await;
    let big = "x".repeat(100 * 1024);
    let res = app
        .http
        .get(app.url("/api/version"))
        .header("X-Big", &big)
        .send()
        .await;
    match res {
        Ok(r) => assert_eq!(r.status().as_u16(), 431),
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }
    let body = json!({"tags": ["a".repeat(300 * 1024)]});
    let res = app
        .http
        .patch(app.url("/api/events/x/tags"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let err: Value = res.json().await.unwrap();
    assert!(err["error"].is_string());
    assert_eq!(app.get_json("/api/version").await.0, 200);
}

// ----- secrets stay out of logs -----

/// `aoc serve` as a child process, its stderr (the log) collected.
struct Served {
    child: std::process::Child,
    base: String,
    log: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Served {
    fn start(dir: &std::path::Path, vars: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aoc"));
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .current_dir(dir)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("aoc.db").display()),
            )
            .env("AOC_LOG", "trace")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr);
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    // The log line may carry colour codes after the address.
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':'))
                        .collect();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("server did not start: {}", log.lock().unwrap()));
        Self {
            child,
            base: format!("http://{addr}"),
            log,
            reader,
        }
    }

    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.reader.join();
        self.log.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs() {
    const CLIENT_SECRET: &str = "cs-7Q~very.secret.client.value_4711";
    const WEBHOOK_SECRET: &str = "wh-client-state-secret-0815";
    const REDIS_PASSWORD: &str = "redis-pass-0815-secret";
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let closed = format!("http://127.0.0.1:{closed_port}");
    let discovery = idp.entra_discovery();
    let served = Served::start(
        dir.path(),
        &[
            ("TENANT_ID", crate::auth::TENANT),
            ("CLIENT_ID", "fetch-client"),
            ("CLIENT_SECRET", CLIENT_SECRET),
            ("LOGIN_BASE_URL", &closed),
            ("GRAPH_BASE_URL", &closed),
            ("MANAGE_BASE_URL", &closed),
            ("WEBHOOK_CLIENT_SECRET", WEBHOOK_SECRET),
            ("AUTH_ENABLED", "true"),
            ("AUTH_TENANT_ID", crate::auth::TENANT),
            ("AUTH_CLIENT_ID", crate::auth::CLIENT),
            ("AUTH_OPENID_CONFIG_URL", &discovery),
        ],
    );
    let base = served.base.clone();
    let http = reqwest::Client::new();
    let token = valid_token(json!({}));
    let send = |req: reqwest::RequestBuilder| async move {
        req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
    };
    assert_eq!(
        send(http.get(format!("{base}/api/events")).bearer_auth(&token)).await,
        200
    );
    assert_eq!(
        send(
            http.get(format!("{base}/api/events"))
                .bearer_auth(format!("{token}x"))
        )
        .await,
        401
    );
    send(
        http.get(format!("{base}/api/fetch-audit-logs?hours=1"))
            .bearer_auth(&token),
    )
    .await;
    let wrong_state = json!({"value": [{"clientState": "guess", "changeType": "updated"}]});
    assert_eq!(
        send(
            http.post(format!("{base}/api/webhooks/graph"))
                .json(&wrong_state)
        )
        .await,
        403
    );
    let right_state = json!({"value": [{"clientState": WEBHOOK_SECRET, "changeType": "updated"}]});
    assert_eq!(
        send(
            http.post(format!("{base}/api/webhooks/graph"))
                .json(&right_state)
        )
        .await,
        202
    );
    // Let a triggered background fetch fail against the closed login endpoint.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = served.stop();
    assert!(log.contains("listening on"), "{log}");
    assert!(
        log.contains("without AUTH_ALLOWED_ROLES or AUTH_ALLOWED_GROUPS"),
        "start-up warns that any valid token passes:\n{log}"
    );
    assert!(
        log.contains("clientState mismatch"),
        "the run really logged the webhook refusal:\n{log}"
    );
    let signature = token.rsplit('.').next().unwrap();
    for secret in [CLIENT_SECRET, WEBHOOK_SECRET, token.as_str(), signature] {
        assert!(!log.contains(secret), "a secret reached the log:\n{log}");
    }

    // A Redis password in REDIS_URL stays out of the log while Redis is unreachable.
    let redis_url = format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{closed_port}/0");
    let served = Served::start(dir.path(), &[("REDIS_URL", &redis_url)]);
    assert_eq!(
        send(http.get(format!("{}/api/version", served.base))).await,
        429
    );
    let log = served.stop();
    assert!(log.contains("rate limit store unreachable"), "{log}");
    assert!(
        !log.contains(REDIS_PASSWORD),
        "the Redis password reached the log:\n{log}"
    );

    // A start-up failure message does not echo the secret either.
    let out = Command::new(env!("CARGO_BIN_EXE_aoc"))
        .args(["serve", "--bind", "not-an-address"])
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("aoc.db").display()),
        )
        .env("TENANT_ID", "t")
        .env("CLIENT_ID", "c")
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let mut all = String::from_utf8_lossy(&out.stderr).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains(CLIENT_SECRET), "{all}");
}

// ----- bad input at every route of the OpenAPI document -----

struct Operation {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    has_body: bool,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            (
                                p["name"].as_str().unwrap().to_string(),
                                p["in"].as_str().unwrap().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                params,
                has_body: op.get("requestBody").is_some(),
            });
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Case {
    op: usize,
    method_override: Option<&'static str>,
    values: Vec<Option<String>>,
    extra: Vec<(String, String)>,
    raw_query: Option<String>,
    body: Option<Vec<u8>>,
    content_type: Option<&'static str>,
    authorization: Option<String>,
    /// With auth on: which valid token to send when `authorization` is None (past the end: none).
    token: usize,
}

fn value_strategy() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 _.:@-]{0,24}",
        any::<String>(),
        "-?[0-9]{1,30}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?",
        "[A-Za-z0-9+/=_-]{0,120}",
        "\\PC{0,8}",
        Just("2026-03-02T10:00:00Z".to_string()),
        Just("Directory_8a1c3e52-5b0f-4c5e-9b61-0c7b1f2a9d01".to_string()),
        Just("../../etc/passwd".to_string()),
        Just("' OR 1=1 --".to_string()),
        Just("%00%ff%".to_string()),
        Just("a".repeat(5000)),
        Just("9".repeat(400)),
        Just("NaN".to_string()),
        Just("jsonl".to_string()),
        Just("csv".to_string()),
    ]
}

fn body_strategy() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        value_strategy().prop_map(Value::from),
    ];
    let any_json = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                "[a-zA-Z]{1,8}|tags|text|value|clientState",
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        proptest::collection::vec(value_strategy(), 0..40)
            .prop_map(|t| serde_json::to_vec(&json!({"tags": t})).unwrap()),
        value_strategy().prop_map(|t| serde_json::to_vec(&json!({"text": t})).unwrap()),
        value_strategy()
            .prop_map(|c| serde_json::to_vec(&json!({"value": [{"clientState": c}]})).unwrap()),
        any_json.prop_map(|v| serde_json::to_vec(&v).unwrap()),
        proptest::collection::vec(any::<u8>(), 0..2048),
        Just(format!("{}1{}", "[".repeat(5000), "]".repeat(5000)).into_bytes()),
        Just(b"{\"tags\": [\"a\"], \"tags\": [\"b\"]}".to_vec()),
        Just(b"{\"text\": \"\\ud800\"}".to_vec()),
    ]
}

fn case_strategy(ops: usize, max_params: usize) -> impl proptest::strategy::Strategy<Value = Case> {
    use proptest::prelude::*;
    (
        0..ops,
        prop::option::weighted(
            0.1,
            prop::sample::select(vec![
                "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD",
            ]),
        ),
        proptest::collection::vec(prop::option::of(value_strategy()), max_params..=max_params),
        proptest::collection::vec(("[a-z_]{1,10}|\\PC{1,6}", value_strategy()), 0..3),
        prop::option::weighted(
            0.15,
            prop_oneof![Just("%zz&=&&start=%FF".to_string()), "[ -~]{0,40}"],
        ),
        prop::option::weighted(0.8, body_strategy()),
        prop::option::of(prop::sample::select(vec![
            "application/json",
            "text/plain",
            "application/json; charset=utf-16",
            "multipart/form-data; boundary=x",
        ])),
        prop::option::weighted(
            0.2,
            prop_oneof![
                "Bearer [A-Za-z0-9._-]{0,60}",
                "[ -~]{0,60}",
                Just("Bearer a.b.c".to_string()),
            ],
        ),
        0usize..4,
    )
        .prop_map(
            |(
                op,
                method_override,
                values,
                extra,
                raw_query,
                body,
                content_type,
                authorization,
                token,
            )| {
                Case {
                    op,
                    method_override,
                    values,
                    extra,
                    raw_query,
                    body,
                    content_type,
                    authorization,
                    token,
                }
            },
        )
}

async fn send_case(
    app: &TestApp,
    op: &Operation,
    case: &Case,
    tokens: &[String],
) -> (u16, String, Option<String>, String) {
    let mut path = op.path.clone();
    let mut query: Vec<(String, String)> = Vec::new();
    for ((name, location), value) in op.params.iter().zip(case.values.iter()) {
        match (location.as_str(), value) {
            ("path", Some(v)) => {
                path = path.replace(&format!("{{{name}}}"), &crate::common::percent_encode(v))
            }
            ("path", None) => {
                path = path.replace(
                    &format!("{{{name}}}"),
                    "Directory_8a1c3e52-5b0f-4c5e-9b61-0c7b1f2a9d01",
                )
            }
            ("query", Some(v)) => query.push((name.clone(), v.clone())),
            _ => {}
        }
    }
    query.extend(case.extra.iter().cloned());
    let mut url = app.url(&path);
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&query)
        .finish();
    let mut q = encoded;
    if let Some(raw) = &case.raw_query {
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str(raw);
    }
    if !q.is_empty() {
        url.push('?');
        url.push_str(&q);
    }
    let method = case.method_override.unwrap_or(op.method.as_str());
    let mut req = app.http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        &url,
    );
    if let Some(body) = case
        .body
        .as_ref()
        .filter(|_| op.has_body || case.method_override.is_some())
    {
        req = req.body(body.clone());
    }
    if let Some(ct) = case.content_type {
        req = req.header("content-type", ct);
    }
    let auth_header = match &case.authorization {
        Some(a) => Some(a.clone()),
        None => tokens.get(case.token).map(|t| format!("Bearer {t}")),
    };
    if let Some(v) = auth_header.and_then(|a| reqwest::header::HeaderValue::from_str(&a).ok()) {
        req = req.header("authorization", v);
    }
    let what = format!("{method} {url}");
    // A pooled keep-alive connection can be closed by the server just as the client reuses it
    // (a client-side race, seen on a loaded machine): send once more on a fresh connection. A
    // request that really breaks the server breaks it the second time too.
    let retry = req.try_clone();
    let sent = match req.send().await {
        Err(e) if !e.is_builder() => match retry {
            Some(again) => again.send().await,
            None => Err(e),
        },
        other => other,
    };
    match sent {
        Ok(res) => {
            let status = res.status().as_u16();
            let ct = header(&res, "content-type");
            let body = res.text().await.unwrap_or_default();
            (status, body, ct, what)
        }
        // reqwest refuses some URLs it built itself (e.g. control characters): not a server bug.
        Err(e) if e.is_builder() => (0, String::new(), None, what),
        Err(e) => panic!("{what}: the server dropped the request: {e}"),
    }
}

#[test]
fn bad_input_at_every_route_never_causes_a_5xx() {
    let cases: u32 = std::env::var("AOC_BAD_INPUT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    bad_input_run(false, cases);
}

/// The same with auth and privacy gating on: random headers, and valid tokens of a reader, a
/// privacy reader and a user without access.
#[test]
fn bad_input_with_auth_on_never_causes_a_5xx() {
    let cases: u32 = std::env::var("AOC_BAD_INPUT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    bad_input_run(true, cases / 2);
}

fn bad_input_run(auth: bool, cases: u32) {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_idp, app, ops, tokens) = rt.block_on(async {
        let idp = Idp::start().await;
        let base = [("DOCS_ENABLED", "true"), ("RATE_LIMIT_ENABLED", "false")];
        let (app, tokens) = if auth {
            let mut vars = base.to_vec();
            vars.extend([
                ("AUTH_ALLOWED_ROLES", crate::auth::READER_ROLE),
                ("PRIVACY_SERVICES", "Exchange"),
                ("PRIVACY_SERVICE_ROLES", crate::auth::PRIVACY_ROLE),
            ]);
            let tokens = vec![
                valid_token(json!({})),
                valid_token(
                    json!({"roles": [crate::auth::READER_ROLE, crate::auth::PRIVACY_ROLE]}),
                ),
                valid_token(json!({"roles": ["Nobody"]})),
            ];
            (idp.app(&vars).await, tokens)
        } else {
            (TestApp::start_with(&base).await, Vec::new())
        };
        assert_eq!(app.import("mixed.jsonl").await.new, 5);
        let (status, doc) = app.get_json("/openapi.json").await;
        assert_eq!(status, 200);
        (idp, app, operations(&doc), tokens)
    });
    assert!(ops.len() >= aoc_server::API_ROUTES.len());
    let max_params = ops.iter().map(|o| o.params.len()).max().unwrap_or(0);
    let statuses = Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case_strategy(ops.len(), max_params), |case| {
        let op = &ops[case.op];
        let (status, body, content_type, what) = rt.block_on(send_case(&app, op, &case, &tokens));
        *statuses.lock().unwrap().entry(status).or_default() += 1;
        // Fetching (now or as a job) is a 503 while TENANT_ID etc. are unset, by design.
        let fetch_unconfigured =
            status == 503 && (op.path == "/api/fetch-audit-logs" || op.path == "/api/jobs/fetch");
        if status >= 500 && !fetch_unconfigured {
            return Err(TestCaseError::fail(format!("{what} -> {status}: {body}")));
        }
        let method = case.method_override.unwrap_or(op.method.as_str());
        if status >= 400 && method != "HEAD" {
            let json = content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json"));
            let has_error =
                serde_json::from_str::<Value>(&body).is_ok_and(|v| v["error"].is_string());
            if !(json && has_error) {
                return Err(TestCaseError::fail(format!(
                    "{what} -> {status} without a JSON error: {body}"
                )));
            }
        }
        Ok(())
    });
    let statuses = statuses.into_inner().unwrap();
    let total: u32 = statuses.values().sum();
    eprintln!(
        "bad-input run (auth {}): {cases} cases over {} operations, {total} requests sent, statuses {statuses:?}",
        if auth { "on" } else { "off" },
        ops.len()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    // The server is still healthy afterwards.
    rt.block_on(async { assert_eq!(app.get_json("/health").await.0, 200) });
}

// ----- the parsers behind the front doors: normalizers, the cursor decoder, the importer -----
// Property runs in place of `cargo fuzz` (which needs a nightly toolchain CI does not have):
// whatever the input, each returns a value or an error, never panics.

fn domain_fixtures() -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../aoc-domain/fixtures");
    let mut out = Vec::new();
    for kind in ["directory", "unified", "intune"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            out.push(serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap());
        }
    }
    assert!(out.len() >= 10, "fixtures found: {}", out.len());
    out
}

fn json_leaf() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    prop_oneof![
        Just(Value::Null),
        Just(json!("<null>")),
        Just(json!("")),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        value_strategy().prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!("2026-02-30T25:61:61.12345678901+99:99")),
        Just(json!("[{\"Name\":\"Identity\",\"Value\":\"x\"},")),
        Just(json!(["a", 1, null, {"k": []}])),
    ]
}

/// Replace the `index`-th node (depth-first) of `v` with `with`, or delete it when `delete`.
fn mutate(v: &mut Value, index: &mut usize, with: &Value, delete: bool) -> bool {
    if *index == 0 {
        *v = with.clone();
        return true;
    }
    *index -= 1;
    match v {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if *index == 0 && delete {
                    map.remove(&k);
                    return true;
                }
                if mutate(map.get_mut(&k).unwrap(), index, with, delete) {
                    return true;
                }
            }
            false
        }
        Value::Array(items) => items
            .iter_mut()
            .any(|item| mutate(item, index, with, delete)),
        _ => false,
    }
}

#[test]
fn normalizers_never_panic_on_mutated_records() {
    use aoc_domain::{Mappings, NoResolver, Normalizer, RecordKind, Source};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let fixtures = domain_fixtures();
    let normalizer = Normalizer::new(Mappings::default());
    let cases: u32 = std::env::var("AOC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let strategy = (
        0..fixtures.len(),
        proptest::collection::vec((0usize..400, json_leaf(), any::<bool>()), 1..6),
    );
    let (ok, err) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(which, edits)| {
            let mut record = fixtures[which].clone();
            for (index, with, delete) in &edits {
                let mut i = *index;
                mutate(&mut record, &mut i, with, *delete);
            }
            for kind in [
                RecordKind::Directory,
                RecordKind::Unified,
                RecordKind::Intune,
            ] {
                let _ = Normalizer::ids_to_resolve(kind, &record);
                match normalizer.normalize(kind, Source::Import, record.clone(), &NoResolver) {
                    Ok(e) => {
                        prop_assert!(!e.dedupe_key.is_empty());
                        ok.set(ok.get() + 1);
                    }
                    Err(_) => err.set(err.get() + 1),
                }
            }
            let _ = RecordKind::detect(&record);
            Ok(())
        })
        .unwrap();
    eprintln!(
        "normalizer run: {cases} mutated records x 3 normalizers: {} events, {} clear errors",
        ok.get(),
        err.get()
    );
}

#[test]
fn cursor_decoder_round_trips_and_rejects_garbage() {
    use aoc_domain::Cursor;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let cases: u32 = std::env::var("AOC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        -62_000_000_000i64..250_000_000_000i64,
        any::<String>(),
        any::<String>(),
        0usize..64,
        any::<char>(),
    );
    runner
        .run(&strategy, |(secs, id, garbage, flip, ch)| {
            let ts = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let cursor = Cursor::new(ts, id.clone());
            let text = cursor.encode();
            let back = Cursor::decode(&text);
            if !id.is_empty() {
                prop_assert_eq!(back.as_ref().ok(), Some(&cursor));
            }
            let _ = Cursor::decode(&garbage);
            let mut chars: Vec<char> = text.chars().collect();
            if !chars.is_empty() {
                let i = flip % chars.len();
                chars[i] = ch;
            }
            let _ = Cursor::decode(&chars.into_iter().collect::<String>());
            Ok(())
        })
        .unwrap();
    eprintln!("cursor run: {cases} cases");
}

#[test]
fn importer_never_panics_on_hostile_files() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let lines: Vec<String> = std::fs::read_to_string(crate::common::fixture("mixed.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let fragment = prop_oneof![
        prop::sample::select(lines.clone()),
        prop::sample::select(lines).prop_map(|l| format!("\"{}\"", l.replace('"', "\"\""))),
        value_strategy(),
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        prop::sample::select(vec![
            "\r\n",
            "\n",
            ",",
            "\"",
            "\"\"",
            "{",
            "}",
            "[",
            "]",
            "{\"value\": [",
            "\"@odata.nextLink\": \"x\"",
            "CreationDate,UserIds,Operations,AuditData\r\n",
            "RecordId,CreationDate,RecordType,Operation,UserId,AuditData\n",
            "\u{feff}",
            "\0",
        ])
        .prop_map(String::from),
    ];
    let strategy = (
        prop::sample::select(vec![
            "",
            "\u{feff}",
            "[",
            "{\"value\":[",
            "CreationDate,UserIds,Operations,AuditData\r\n",
        ]),
        proptest::collection::vec(fragment, 0..24),
        prop::option::weighted(0.1, proptest::collection::vec(any::<u8>(), 0..512)),
    );
    let cases: u32 = std::env::var("AOC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let (files_read, records, refused) = (
        std::cell::Cell::new(0u32),
        std::cell::Cell::new(0u64),
        std::cell::Cell::new(0u32),
    );
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(prefix, parts, raw_tail)| {
            let mut bytes = prefix.as_bytes().to_vec();
            for p in &parts {
                bytes.extend_from_slice(p.as_bytes());
            }
            if let Some(tail) = raw_tail {
                bytes.extend_from_slice(&tail);
            }
            let mut seen = 0u64;
            let result = aoc_app::import::read_from(
                std::io::Cursor::new(bytes),
                std::path::Path::new("hostile.bin"),
                &mut |_record| {
                    seen += 1;
                    std::ops::ControlFlow::Continue(())
                },
            );
            match result {
                Ok(summary) => {
                    prop_assert_eq!(summary.records, seen);
                    files_read.set(files_read.get() + 1);
                    records.set(records.get() + seen);
                }
                Err(_) => refused.set(refused.get() + 1),
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "importer run: {cases} files: {} read ({} records), {} refused with an error",
        files_read.get(),
        records.get(),
        refused.get()
    );
}
