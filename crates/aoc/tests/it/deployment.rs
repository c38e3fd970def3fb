//! Settings for real deployments, through the real server and binary: the client address
//! behind a reverse proxy (TRUSTED_PROXIES) as rate limits and /metrics see it, secrets read
//! from files (NAME_FILE), and the start-up warnings for variables AOC does not read.

use std::process::Command;

use crate::common::{TestApp, fixture};

const ALLOWED: &str = "192.0.2.7";

async fn status(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = app.http.get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Every request comes from 127.0.0.1; without TRUSTED_PROXIES that is the client, whatever the
/// headers claim.
#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_change_nothing() {
    let app = TestApp::start_with(&[
        ("RATE_LIMIT_REQUESTS", "2"),
        ("RATE_LIMIT_WINDOW_SECONDS", "3600"),
        ("METRICS_ALLOWED_IPS", ALLOWED),
    ])
    .await;
    for _ in 0..2 {
        assert_eq!(status(&app, "/api/version", &[]).await, 200);
    }
    assert_eq!(status(&app, "/api/version", &[]).await, 429);
    for spoof in [
        ("x-forwarded-for", "203.0.113.1"),
        ("x-forwarded-for", "203.0.113.1, 203.0.113.2"),
        ("forwarded", "for=203.0.113.3"),
        ("x-real-ip", "203.0.113.4"),
    ] {
        assert_eq!(
            status(&app, "/api/version", &[spoof]).await,
            429,
            "{spoof:?} must not buy a new budget"
        );
    }

    for spoof in [
        ("x-forwarded-for", ALLOWED),
        ("forwarded", "for=192.0.2.7"),
        ("forwarded", r#"for="192.0.2.7:443""#),
    ] {
        assert_eq!(
            status(&app, "/metrics", &[spoof]).await,
            403,
            "{spoof:?} must not open /metrics"
        );
    }
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let app = TestApp::start_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RATE_LIMIT_REQUESTS", "2"),
        ("RATE_LIMIT_WINDOW_SECONDS", "3600"),
        ("METRICS_ALLOWED_IPS", "192.0.2.7,2001:db8::/64"),
    ])
    .await;

    // Each forwarded client has its own budget.
    let alice = ("x-forwarded-for", "198.51.100.1");
    for _ in 0..2 {
        assert_eq!(status(&app, "/api/version", &[alice]).await, 200);
    }
    assert_eq!(status(&app, "/api/version", &[alice]).await, 429);
    assert_eq!(
        status(&app, "/api/version", &[("x-forwarded-for", "198.51.100.2")]).await,
        200
    );
    // Alice cannot escape by putting another address in front: the proxy appended hers.
    assert_eq!(
        status(
            &app,
            "/api/version",
            &[("x-forwarded-for", "198.51.100.9, 198.51.100.1")]
        )
        .await,
        429
    );
    // Forwarded (RFC 7239) is read when there is no X-Forwarded-For.
    let carol = ("forwarded", r#"for="198.51.100.3:5555";proto=https"#);
    for _ in 0..2 {
        assert_eq!(status(&app, "/api/version", &[carol]).await, 200);
    }
    assert_eq!(status(&app, "/api/version", &[carol]).await, 429);
    // No header: the proxy itself is the client, with a budget of its own.
    assert_eq!(status(&app, "/api/version", &[]).await, 200);

    // /metrics opens for a forwarded allowed address and stays shut for any other.
    assert_eq!(
        status(&app, "/metrics", &[("x-forwarded-for", ALLOWED)]).await,
        200
    );
    assert_eq!(
        status(&app, "/metrics", &[("x-forwarded-for", "198.51.100.1")]).await,
        403
    );
    assert_eq!(
        status(
            &app,
            "/metrics",
            &[("x-forwarded-for", "192.0.2.7, 198.51.100.1")]
        )
        .await,
        403,
        "an allowed address the client wrote in front of its own opens nothing"
    );
    assert_eq!(
        status(
            &app,
            "/metrics",
            &[("forwarded", r#"for="[2001:db8::5]:443""#)]
        )
        .await,
        200
    );
    assert_eq!(
        status(&app, "/metrics", &[]).await,
        403,
        "the proxy (127.0.0.1) is not in METRICS_ALLOWED_IPS"
    );
    assert_eq!(
        status(&app, "/metrics", &[("x-forwarded-for", "not-an-address")]).await,
        403
    );
}

// ----- the binary: secret files and start-up warnings -----

/// `aoc ARGS` with these variables on top of a clean slate of AOC's own: (success, stderr).
fn aoc(args: &[&str], vars: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aoc"));
    cmd.args(args).env("AOC_LOG", "warn");
    for s in aoc_app::config::SETTINGS {
        if s.name != "AOC_LOG" {
            cmd.env_remove(s.name)
                .env_remove(aoc_app::config::file_variable(s.name));
        }
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let mut all = String::from_utf8_lossy(&out.stderr).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stdout));
    (out.status.success(), all)
}

#[test]
fn secrets_are_read_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-file.db");
    let url_file = dir.path().join("database_url");
    std::fs::write(&url_file, format!("sqlite://{}\n", db.display())).unwrap();
    let fixture = fixture("mixed.jsonl");
    let (ok, out) = aoc(
        &["import", fixture.to_str().unwrap()],
        &[("DATABASE_URL_FILE", url_file.to_str().unwrap())],
    );
    assert!(ok, "{out}");
    assert!(
        db.exists(),
        "the database named in the file was used: {out}"
    );

    const SECRET: &str = "inline-secret-0815";
    let secret_file = dir.path().join("client_secret");
    std::fs::write(&secret_file, "file-secret-4711\n").unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let (ok, out) = aoc(
        &["import", fixture.to_str().unwrap()],
        &[
            ("TENANT_ID", "t"),
            ("CLIENT_ID", "c"),
            ("CLIENT_SECRET", SECRET),
            ("CLIENT_SECRET_FILE", secret_path),
            ("DATABASE_URL", &format!("sqlite://{}", db.display())),
        ],
    );
    assert!(!ok);
    assert!(
        out.contains("CLIENT_SECRET") && out.contains("CLIENT_SECRET_FILE"),
        "both are named: {out}"
    );
    assert!(!out.contains(SECRET) && !out.contains("4711"), "{out}");

    let missing = dir.path().join("no-such-secret");
    let missing = missing.to_str().unwrap();
    let (ok, out) = aoc(
        &["import", fixture.to_str().unwrap()],
        &[
            ("WEBHOOK_CLIENT_SECRET_FILE", missing),
            ("DATABASE_URL", &format!("sqlite://{}", db.display())),
        ],
    );
    assert!(!ok);
    assert!(
        out.contains(&format!("WEBHOOK_CLIENT_SECRET_FILE={missing}")),
        "the variable and the path are named: {out}"
    );
}

#[test]
fn start_up_warns_about_variables_aoc_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = aoc(
        &["serve", "--bind", "not-an-address"],
        &[
            (
                "DATABASE_URL",
                &format!("sqlite://{}", dir.path().join("a.db").display()),
            ),
            ("CLIENT_SECERT", "typo-secret-0815"),
            ("MONGO_URI", "mongodb://u:mongo-pw-0815@db:27017/aoc"),
            ("AUTH_ROLES", "Admin"),
            ("HOSTNAME_OF_SOMETHING_ELSE", "x"),
        ],
    );
    assert!(
        out.contains(
            "CLIENT_SECERT is not an AOC setting and is ignored: did you mean CLIENT_SECRET?"
        ),
        "{out}"
    );
    assert!(out.contains("MONGO_URI is not used"), "{out}");
    assert!(
        out.contains("mongoexport") && out.contains("aoc import"),
        "{out}"
    );
    assert!(out.contains("AUTH_ALLOWED_ROLES"), "{out}");
    assert!(!out.contains("HOSTNAME_OF_SOMETHING_ELSE"), "{out}");
    assert!(!out.contains("0815"), "values are never printed: {out}");
}
