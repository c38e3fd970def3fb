//! The HTTP+SSE transport of the original service (MCP's 2024-11-05 form), which rmcp no longer
//! ships: `GET /mcp/sse` opens a session's event stream, whose first event (`endpoint`) names
//! `/mcp/messages/?session_id=...`; each JSON-RPC message the client posts there is answered
//! with 202, and the server's answer goes out on the stream as a `message` event.
//!
//! Each session is an rmcp server over a pair of channels. A posted message carries its own
//! HTTP request (and so its own caller) into the tools, like a Streamable HTTP request does.
//! A session belongs to whoever opened it: another caller posting to it is told it does not
//! exist. Closing the stream ends the session.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions};
use serde::Deserialize;

use aoc_app::{AppContext, Caller};

use crate::caller::CallerSource;
use crate::http::{MAX_MESSAGE_BYTES, MESSAGES_PATH};
use crate::server::AocMcp;

/// Sessions open at once in this process; more are refused with 503 until one closes.
pub const MAX_SESSIONS: usize = 100;
/// Sessions one caller (token subject, else client address) may hold open, so one client
/// cannot take them all.
pub const MAX_SESSIONS_PER_CALLER: usize = 10;
/// Messages queued per direction before the sender waits.
const QUEUE: usize = 32;

struct Session {
    /// The token subject that opened it (None: anonymous, sign-in off).
    owner: Option<String>,
    /// Who counts against [`MAX_SESSIONS_PER_CALLER`].
    holder: String,
    to_server: mpsc::Sender<ClientJsonRpcMessage>,
}

pub struct SseBridge {
    ctx: Arc<AppContext>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl SseBridge {
    pub fn new(ctx: Arc<AppContext>) -> Self {
        Self {
            ctx,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves a plain map behind: still consistent.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Removes the session when its event stream is dropped (the client went away).
struct SessionGuard {
    bridge: Arc<SseBridge>,
    id: String,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.bridge.sessions().remove(&self.id);
        tracing::debug!(session = %self.id, "MCP SSE session closed");
    }
}

fn refuse(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

fn holder_of(caller: &Caller) -> String {
    match (&caller.subject, caller.ip) {
        (Some(subject), _) => format!("subject:{subject}"),
        (None, Some(ip)) => format!("ip:{ip}"),
        (None, None) => "anonymous".to_string(),
    }
}

fn caller_of(req: &Request) -> Option<Caller> {
    req.extensions().get::<Caller>().cloned()
}

/// `GET /mcp/sse`.
pub async fn open(State(bridge): State<Arc<SseBridge>>, req: Request) -> Response {
    let Some(caller) = caller_of(&req) else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no caller on the request",
        );
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, from_client) = mpsc::channel::<ClientJsonRpcMessage>(QUEUE);
    let (to_client, from_server) = mpsc::channel(QUEUE);
    {
        let mut sessions = bridge.sessions();
        if sessions.len() >= MAX_SESSIONS {
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "too many MCP sessions");
        }
        let holder = holder_of(&caller);
        if sessions.values().filter(|s| s.holder == holder).count() >= MAX_SESSIONS_PER_CALLER {
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many MCP sessions open for this caller",
            );
        }
        sessions.insert(
            id.clone(),
            Session {
                owner: caller.subject.clone(),
                holder,
                to_server,
            },
        );
    }
    let handler = AocMcp::new(bridge.ctx.clone(), CallerSource::Http);
    let session_id = id.clone();
    tokio::spawn(async move {
        match handler.serve((to_client, from_client)).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => {
                tracing::debug!(session = %session_id, error = %e, "MCP SSE session ended before it started")
            }
        }
    });
    tracing::debug!(session = %id, caller = %caller.name, "MCP SSE session opened");

    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("{MESSAGES_PATH}?session_id={id}"));
    let guard = SessionGuard {
        bridge: bridge.clone(),
        id,
    };
    let messages = from_server.map(
        move |message: rmcp::service::TxJsonRpcMessage<rmcp::RoleServer>| {
            let _alive = &guard;
            let event = match serde_json::to_string(&message) {
                Ok(json) => Event::default().event("message").data(json),
                Err(e) => {
                    tracing::warn!(error = %e, "MCP message not serializable");
                    Event::default().comment("unserializable message dropped")
                }
            };
            Ok::<_, Infallible>(event)
        },
    );
    let stream = futures::stream::once(async move { Ok(endpoint) }).chain(messages);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[derive(Deserialize)]
pub struct SessionQuery {
    session_id: Option<String>,
}

/// `POST /mcp/messages/?session_id=...`.
pub async fn message(
    State(bridge): State<Arc<SseBridge>>,
    Query(q): Query<SessionQuery>,
    req: Request<Body>,
) -> Response {
    let Some(caller) = caller_of(&req) else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no caller on the request",
        );
    };
    let Some(id) = q.session_id.filter(|s| !s.is_empty()) else {
        return refuse(StatusCode::BAD_REQUEST, "session_id is required");
    };
    let to_server = {
        let sessions = bridge.sessions();
        match sessions.get(&id) {
            // Someone else's session is answered like an unknown one.
            Some(s) if s.owner == caller.subject => s.to_server.clone(),
            _ => return refuse(StatusCode::NOT_FOUND, "no such MCP session"),
        }
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(b) => b,
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, "message is too large"),
    };
    let mut message: ClientJsonRpcMessage = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(_) => return refuse(StatusCode::BAD_REQUEST, "not a JSON-RPC message"),
    };
    // The tools read the caller from the request that carried the message.
    match &mut message {
        ClientJsonRpcMessage::Request(r) => {
            r.request.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Notification(n) => {
            n.notification.extensions_mut().insert(parts);
        }
        _ => {}
    }
    let mut to_server = to_server;
    if to_server.send(message).await.is_err() {
        return refuse(StatusCode::NOT_FOUND, "no such MCP session");
    }
    StatusCode::ACCEPTED.into_response()
}
