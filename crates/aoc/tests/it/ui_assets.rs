//! The embedded web UI as the browser gets it: compressed when asked, revalidated by ETag,
//! nothing from web/tests or web/node_modules served; API JSON and streaming exports compressed
//! without losing a byte; /health and /metrics unchanged.

use std::io::Read;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, ETAG, IF_NONE_MATCH};

use crate::common::TestApp;

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

async fn get(app: &TestApp, path: &str, encoding: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(app.url(path));
    if let Some(e) = encoding {
        req = req.header(ACCEPT_ENCODING, e);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn ui_assets_are_compressed_when_asked_and_identical_when_decoded() {
    let app = TestApp::start().await;
    for path in ["/", "/app.css", "/js/main.js", "/js/state/url.js"] {
        let plain = get(&app, path, None).await;
        assert_eq!(plain.status(), 200, "{path}");
        assert!(plain.headers().get(CONTENT_ENCODING).is_none(), "{path}");
        let plain = plain.bytes().await.unwrap();

        let gz = get(&app, path, Some("gzip")).await;
        assert_eq!(gz.status(), 200, "{path}");
        assert_eq!(gz.headers()[CONTENT_ENCODING], "gzip", "{path}");
        assert!(
            gz.headers()["vary"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{path}: caches must keep the encodings apart"
        );
        // The CSP and other security headers survive compression.
        assert!(gz.headers().contains_key("content-security-policy"));
        let gz = gz.bytes().await.unwrap();
        assert!(
            gz.len() < plain.len(),
            "{path}: {} >= {}",
            gz.len(),
            plain.len()
        );
        assert_eq!(gunzip(&gz), plain, "{path}");

        // A browser's usual header prefers brotli.
        let br = get(&app, path, Some("gzip, deflate, br")).await;
        assert_eq!(br.headers()[CONTENT_ENCODING], "br", "{path}");
        let br = br.bytes().await.unwrap();
        assert!(br.len() < plain.len(), "{path}");
    }
}

#[tokio::test]
async fn ui_assets_revalidate_with_etag() {
    let app = TestApp::start().await;
    let first = get(&app, "/js/main.js", Some("gzip")).await;
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let etag = first.headers()[ETAG].to_str().unwrap().to_string();
    assert!(
        etag.starts_with("W/\""),
        "weak: the bytes differ per encoding ({etag})"
    );

    let again = app
        .http
        .get(app.url("/js/main.js"))
        .header(IF_NONE_MATCH, &etag)
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()[ETAG].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());

    let other = app
        .http
        .get(app.url("/app.css"))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another file's tag does not match");
}

#[tokio::test]
async fn browser_tests_and_dev_dependencies_are_not_served() {
    let app = TestApp::start().await;
    for path in [
        "/tests/ui.test.mjs",
        "/tests/README.md",
        "/tests/dev/mock-server.mjs",
        "/node_modules/playwright-core/package.json",
        "/package.json",
        "/package-lock.json",
    ] {
        let res = get(&app, path, Some("gzip")).await;
        assert_eq!(res.status(), 404, "{path} must not be served");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn api_json_is_compressed_and_health_and_metrics_still_answer() {
    let app = TestApp::start().await;
    app.import("mixed.jsonl").await;

    let plain = get(&app, "/api/events", None).await.bytes().await.unwrap();
    let res = get(&app, "/api/events", Some("gzip")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(gunzip(&res.bytes().await.unwrap()), plain);

    // /health is tiny and read by monitors that may not decode: it stays as it was.
    let res = get(&app, "/health", Some("gzip, br")).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get(CONTENT_ENCODING).is_none());
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    // Prometheus asks for gzip; a plain scrape still gets plain text.
    let plain = get(&app, "/metrics", None).await;
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    let plain = plain.text().await.unwrap();
    assert!(plain.contains("# TYPE"), "{plain}");
    let gz = get(&app, "/metrics", Some("gzip")).await;
    assert_eq!(gz.status(), 200);
    let encoded = gz.headers().get(CONTENT_ENCODING).cloned();
    let body = gz.bytes().await.unwrap();
    let text = match encoded {
        Some(e) => {
            assert_eq!(e, "gzip");
            String::from_utf8(gunzip(&body)).unwrap()
        }
        None => String::from_utf8(body.to_vec()).unwrap(),
    };
    assert!(text.contains("# TYPE"), "{text}");
}

#[tokio::test]
async fn compressed_exports_still_stream_and_lose_nothing() {
    let app = TestApp::start().await;
    // Enough events that the compressed export is many encoder buffers long.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.jsonl");
    let mut text = String::new();
    for (_, record) in aoc_sim::Generator::new(7).take_mixed(3000) {
        text.push_str(&record.to_string());
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();
    let report = aoc::commands::import::import_files(&app.ctx, &[file], false)
        .await
        .unwrap();
    assert!(report.new >= 2900, "{report:?}");

    for format in ["csv", "jsonl"] {
        let path = format!("/api/events/export?format={format}");
        let plain = get(&app, &path, None).await.bytes().await.unwrap();
        assert!(plain.len() > 200_000, "{format}: {} bytes", plain.len());

        let res = get(&app, &path, Some("gzip")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()[CONTENT_ENCODING], "gzip", "{format}");
        assert!(
            res.headers().get(CONTENT_LENGTH).is_none(),
            "{format}: a stream has no length known up front"
        );
        // The body arrives in many chunks, not as one buffered block at the end.
        let mut chunks = 0;
        let mut body = Vec::new();
        let mut res = res;
        while let Some(chunk) = res.chunk().await.unwrap() {
            body.extend_from_slice(&chunk);
            chunks += 1;
        }
        assert!(chunks > 2, "{format}: {chunks} chunk(s)");
        assert!(body.len() < plain.len() / 3, "{format}: compresses");
        assert_eq!(gunzip(&body), plain, "{format}");
    }
}
