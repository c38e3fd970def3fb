//! MCP over HTTP (`/mcp`, `/mcp/sse`, `/mcp/messages/`), mounted only with
//! AI_FEATURES_ENABLED. The routes sit inside the same authentication and rate-limit layers as
//! /api (both guard /mcp paths too); here each request gets the caller the tools answer to.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::any;
use tower_http::timeout::TimeoutLayer;

use aoc_app::AppContext;

use aoc_mcp::CostlyCallGate;

use crate::ServerOptions;
use crate::limits::{Category, Decision, RateLimiter};
use crate::routes::CallerExt;

/// `limiter`: the API's rate limiter when limits are on; `ask` and `explain_event` then spend
/// from the same per-caller ask budget as `/api/ask` (the request itself already spent from
/// the general one).
pub fn routes(
    ctx: Arc<AppContext>,
    options: &ServerOptions,
    limiter: Option<Arc<RateLimiter>>,
) -> Router<Arc<AppContext>> {
    aoc_mcp::http::router(ctx)
        .layer(axum::middleware::from_fn_with_state(limiter, attach_caller))
        // Bounds the time to the answer's head: an SSE stream, once open, is not cut.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
}

/// The signed-in caller the auth layer set, or the anonymous one (sign-in off), with the
/// client's address: what a REST handler gets from [`CallerExt`]. With rate limits on, also
/// the gate of the costly tools, bound to the caller's budget key.
async fn attach_caller(
    State(limiter): State<Option<Arc<RateLimiter>>>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let Ok(CallerExt(caller)) = CallerExt::from_request_parts(&mut parts, &()).await;
    if let Some(limiter) = limiter {
        let key = match (&caller.subject, caller.ip) {
            (Some(subject), _) => format!("sub:{subject}"),
            (None, Some(ip)) => format!("ip:{ip}"),
            (None, None) => "ip:unknown".to_string(),
        };
        let gate = move || {
            let limiter = limiter.clone();
            let key = key.clone();
            Box::pin(async move {
                match limiter.check(Category::Ask, &key).await {
                    Decision::Allow => Ok(()),
                    Decision::Deny { retry_after } => Err(retry_after),
                }
            }) as futures::future::BoxFuture<'static, Result<(), std::time::Duration>>
        };
        parts.extensions.insert(CostlyCallGate(Arc::new(gate)));
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

/// With AI features off, every method on /mcp paths is 404, as for any unknown route (the UI's
/// catch-all would otherwise answer a POST with 405).
pub fn absent(app: Router<Arc<AppContext>>) -> Router<Arc<AppContext>> {
    app.route("/mcp", any(crate::middleware::not_found))
        .route("/mcp/{*rest}", any(crate::middleware::not_found))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::HashMap;
    use std::time::Duration;

    use futures::StreamExt;

    use super::*;

    struct Running {
        base: String,
        _dir: tempfile::TempDir,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    /// The whole server (every layer) with a one-second request timeout.
    async fn start(ai: bool) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let map: HashMap<String, String> = [
            (
                "DATABASE_URL".to_string(),
                format!("sqlite://{}", dir.path().join("aoc.db").display()),
            ),
            ("AI_FEATURES_ENABLED".to_string(), ai.to_string()),
        ]
        .into_iter()
        .collect();
        let ctx = AppContext::open(aoc_app::Settings::from_map(&map).unwrap())
            .await
            .unwrap();
        let options = ServerOptions {
            request_timeout: Duration::from_secs(1),
            ..ServerOptions::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::launch_with(listener, ctx, options, async move {
            let _ = stopped.await;
        }));
        Running {
            base,
            _dir: dir,
            _stop: stop,
        }
    }

    /// Read the event stream until a `data:` line holding `needle`.
    async fn data_line(
        stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
        buffer: &mut String,
        needle: &str,
    ) -> String {
        let read = async {
            loop {
                if let Some(line) = buffer
                    .lines()
                    .find(|l| l.starts_with("data:") && l.contains(needle))
                {
                    let line = line.trim_start_matches("data:").trim().to_string();
                    buffer.clear();
                    return line;
                }
                let chunk = stream.next().await.unwrap().unwrap();
                buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the event arrived")
    }

    #[tokio::test]
    async fn an_sse_session_outlives_the_request_timeout_uncompressed() {
        let app = start(true).await;
        let http = reqwest::Client::new();
        let res = http
            .get(format!("{}/mcp/sse", app.base))
            .header("Accept-Encoding", "gzip, br")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        assert!(res.headers().get("content-encoding").is_none());
        let mut stream = res.bytes_stream();
        let mut buffer = String::new();
        let endpoint = data_line(&mut stream, &mut buffer, "/mcp/messages/?session_id=").await;

        // Past the request timeout, the session still answers on its stream.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let posted = http
            .post(format!("{}{endpoint}", app.base))
            .header("Content-Type", "application/json")
            .body(
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        let answer = data_line(&mut stream, &mut buffer, "serverInfo").await;
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["id"], 1);
        assert_eq!(answer["result"]["serverInfo"]["name"], "aoc");

        let unknown = http
            .post(format!("{}/mcp/messages/?session_id=nope", app.base))
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404);
    }

    #[tokio::test]
    async fn mcp_is_absent_with_ai_features_off() {
        for ai in [false, true] {
            let app = start(ai).await;
            let http = reqwest::Client::new();
            let post = http
                .post(format!("{}/mcp", app.base))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
                .send()
                .await
                .unwrap();
            let sse = http
                .post(format!("{}/mcp/messages/?session_id=x", app.base))
                .body("{}")
                .send()
                .await
                .unwrap();
            if ai {
                assert_ne!(post.status(), 404);
                assert_eq!(sse.status(), 404, "an unknown session");
            } else {
                assert_eq!(post.status(), 404);
                assert_eq!(sse.status(), 404);
                let get = http.get(format!("{}/mcp/sse", app.base)).send().await;
                assert_eq!(get.unwrap().status(), 404);
            }
        }
    }

    #[tokio::test]
    async fn ask_over_mcp_spends_the_ask_budget() {
        let app = start(true).await;
        let http = reqwest::Client::new();
        let mut refused_at = None;
        for n in 1..=31 {
            let res = http
                .post(format!("{}/mcp", app.base))
                .header("Accept", "application/json, text/event-stream")
                .header("MCP-Protocol-Version", "2025-06-18")
                .json(&serde_json::json!({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                    "params": {"name": "ask", "arguments": {"question": "how many events today?"}}}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let body: serde_json::Value = res.json().await.unwrap();
            if body["result"]["isError"] == true {
                let text = body["result"]["content"][0]["text"].as_str().unwrap();
                assert!(text.contains("too many questions"), "{text}");
                refused_at = Some(n);
                break;
            }
        }
        // The ask budget (30 a minute), not the general one (120).
        assert_eq!(refused_at, Some(31));
    }
}
