use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aoc_app::{AppContext, Settings};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A running server over a fresh SQLite file.
pub struct TestApp {
    pub base: String,
    pub ctx: Arc<AppContext>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(vars: &[(&str, &str)]) -> Self {
        Self::start_with_options(vars, aoc_server::ServerOptions::from_env().unwrap()).await
    }

    /// A server over already-built settings (tests that tune fields no variable sets). The
    /// database belongs in `dir`, which lives as long as the app.
    pub async fn start_with_settings(dir: tempfile::TempDir, settings: Settings) -> Self {
        Self::serve(
            dir,
            settings,
            aoc_server::ServerOptions::from_env().unwrap(),
        )
        .await
    }

    /// The one place a test server starts: open the store, listen on 127.0.0.1:0, serve until
    /// the app is dropped.
    async fn serve(
        dir: tempfile::TempDir,
        settings: Settings,
        options: aoc_server::ServerOptions,
    ) -> Self {
        let ctx = AppContext::open(settings).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server_ctx = ctx.clone();
        tokio::spawn(async move {
            aoc_server::launch_with(listener, server_ctx, options, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            base,
            ctx,
            http: reqwest::Client::new(),
            _dir: dir,
            stop: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    pub async fn import(&self, name: &str) -> aoc_app::import::ImportReport {
        aoc::commands::import::import_files(&self.ctx, &[fixture(name)], false)
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

// ----- helpers for the auth and hardening tests -----

impl TestApp {
    /// Like [`TestApp::start_with`], with explicit HTTP-layer options (short timeouts, a local
    /// OpenID discovery document).
    pub async fn start_with_options(
        vars: &[(&str, &str)],
        options: aoc_server::ServerOptions,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("DATABASE_URL".into())
            .or_insert_with(|| format!("sqlite://{}", dir.path().join("aoc.db").display()));
        let settings = Settings::from_map(&map).unwrap();
        Self::serve(dir, settings, options).await
    }

    /// GET with an `Authorization: Bearer` header: (status, body, WWW-Authenticate).
    pub async fn get_bearer(
        &self,
        path: &str,
        token: &str,
    ) -> (u16, serde_json::Value, Option<String>) {
        let res = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let challenge = res
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        (status, body, challenge)
    }

    /// GET with a bearer token, returning the body as text (exports).
    pub async fn get_text_bearer(&self, path: &str, token: &str) -> (u16, String) {
        let res = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

/// Percent-encode one path segment (everything but unreserved characters).
pub fn percent_encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `aoc serve` (the real binary) with exactly these variables, stdout dropped, stderr shown.
pub fn aoc_serve(env: &HashMap<String, String>) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_aoc"))
        .arg("serve")
        .env_clear()
        .envs(env)
        .env("AOC_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Wait (at most 30 s) until `base`/health answers 200.
pub async fn wait_healthy(base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/health")).await
            && r.status() == 200
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not come up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
