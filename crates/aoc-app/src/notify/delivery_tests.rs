//! Delivery end to end: the real SQLite outbox, the egress-guarded client and a scripted HTTP
//! receiver on 127.0.0.1 (allowed through EGRESS_ALLOW_PRIVATE).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use aoc_store::EventStore;

use super::channel::{Channel, ChannelKind, Severity};
use super::deliver::{DeliveryReport, Notifier, NotifierOptions};
use super::outbox::enqueue_for;
use super::payload::tests::alert;
use crate::egress::{EgressPolicy, parse_allow_private};

/// A webhook receiver answering a script of responses (then 200s) and keeping every body.
struct Receiver {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(addr: &str, script: Vec<&'static str>) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        let task = tokio::spawn(async move {
            let mut script = script.into_iter();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let head = script.next().unwrap_or("200 OK");
                if let Some(body) = serve_one(stream, head).await {
                    seen.lock().unwrap().push(body);
                }
            }
        });
        Self { addr, bodies, task }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Read one request and answer with `head` (status line plus extra header lines).
async fn serve_one(mut stream: TcpStream, head: &str) -> Option<Value> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (header_end, length) = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = headers
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[header_end..header_end + length]).ok();
    let response = format!("HTTP/1.1 {head}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    stream.write_all(response.as_bytes()).await.ok()?;
    stream.shutdown().await.ok()?;
    body
}

async fn sqlite_store() -> (tempfile::TempDir, Arc<dyn EventStore>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aoc.db").display());
    let store = aoc_store::open(&url).await.unwrap();
    (dir, store)
}

fn local_channel(addr: SocketAddr) -> Channel {
    Channel {
        name: "webhook".into(),
        kind: ChannelKind::Generic,
        url: format!("http://{addr}/hook").parse().unwrap(),
        min_severity: Severity::Low,
    }
}

fn local_policy() -> EgressPolicy {
    EgressPolicy::new(parse_allow_private("127.0.0.1").unwrap())
}

fn at(now: DateTime<Utc>, millis: i64) -> DateTime<Utc> {
    now + chrono::Duration::milliseconds(millis)
}

#[tokio::test]
async fn failures_and_rate_limits_are_retried_until_delivered_once() {
    let receiver = Receiver::start(
        "127.0.0.1:0",
        vec![
            "500 Internal Server Error",
            "429 Too Many Requests\r\nretry-after: 1",
        ],
    )
    .await;
    let (_dir, store) = sqlite_store().await;
    let channel = local_channel(receiver.addr);
    let sent = alert(5, "high");
    assert_eq!(
        enqueue_for(&*store, std::slice::from_ref(&channel), &sent, None)
            .await
            .unwrap(),
        1
    );
    let notifier = Notifier::new(
        store.clone(),
        vec![channel],
        &local_policy(),
        NotifierOptions::default(),
    )
    .unwrap();

    // 500: backed off by 2.5 to 5 seconds (5s with jitter), and not due before that.
    let t0 = Utc::now();
    let report = notifier.deliver_due(t0).await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            due: 1,
            failed: 1,
            ..Default::default()
        }
    );
    assert_eq!(notifier.deliver_due(at(t0, 2000)).await.unwrap().due, 0);
    let item = &store.due_outbox(at(t0, 5000), 10).await.unwrap()[0];
    assert_eq!(item.attempts, 1);
    assert!(
        item.last_error.as_deref().unwrap().contains("500"),
        "{:?}",
        item.last_error
    );

    // 429 with Retry-After: 1 is obeyed to the second.
    let t1 = at(t0, 6000);
    assert_eq!(notifier.deliver_due(t1).await.unwrap().failed, 1);
    assert_eq!(notifier.deliver_due(at(t1, 500)).await.unwrap().due, 0);
    let item = &store.due_outbox(at(t1, 1000), 10).await.unwrap()[0];
    assert_eq!(item.attempts, 2);
    assert!(
        item.last_error.as_deref().unwrap().contains("429"),
        "{:?}",
        item.last_error
    );

    // Then 200: delivered, and never again.
    let report = notifier.deliver_due(at(t1, 1000)).await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            due: 1,
            delivered: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        notifier.deliver_due(at(t1, 3_600_000)).await.unwrap().due,
        0
    );

    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 3, "three attempts reached the receiver");
    assert!(
        bodies
            .iter()
            .all(|b| b["id"] == 5 && b["rule_name"] == "Mass deletion")
    );
    let status = store.outbox_status().await.unwrap();
    assert_eq!(
        (status[0].pending, status[0].delivered),
        (0, 1),
        "{status:?}"
    );
}

#[tokio::test]
async fn alerts_queued_while_the_receiver_is_down_all_arrive_once_it_is_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (_dir, store) = sqlite_store().await;
    let channel = local_channel(addr);
    for id in 1..=3 {
        enqueue_for(
            &*store,
            std::slice::from_ref(&channel),
            &alert(id, "medium"),
            None,
        )
        .await
        .unwrap();
    }
    let notifier = Notifier::new(
        store.clone(),
        vec![channel],
        &local_policy(),
        NotifierOptions::default(),
    )
    .unwrap();

    let t0 = Utc::now();
    let report = notifier.deliver_due(t0).await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            due: 3,
            failed: 1,
            deferred: 2,
            delivered: 0
        }
    );

    let receiver = Receiver::start(&addr.to_string(), vec![]).await;
    let report = notifier.deliver_due(at(t0, 60_000)).await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            due: 3,
            delivered: 3,
            ..Default::default()
        }
    );
    assert_eq!(
        notifier.deliver_due(at(t0, 3_600_000)).await.unwrap().due,
        0
    );

    let mut ids: Vec<i64> = receiver
        .bodies()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3]);
}

#[tokio::test]
async fn the_loop_delivers_in_the_background_and_stops_on_shutdown() {
    let receiver = Receiver::start("127.0.0.1:0", vec![]).await;
    let (_dir, store) = sqlite_store().await;
    let channel = Channel {
        kind: ChannelKind::Slack,
        ..local_channel(receiver.addr)
    };
    let options = NotifierOptions {
        idle: Duration::from_millis(20),
        ..NotifierOptions::default()
    };
    let notifier = Arc::new(
        Notifier::new(
            store.clone(),
            vec![channel.clone()],
            &local_policy(),
            options,
        )
        .unwrap(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let notifier = notifier.clone();
        tokio::spawn(async move {
            notifier
                .run_until(async {
                    let _ = stopped.await;
                })
                .await;
        })
    };
    enqueue_for(
        &*store,
        &[channel],
        &alert(8, "critical"),
        Some("https://aoc.example.com"),
    )
    .await
    .unwrap();
    for _ in 0..200 {
        if !receiver.bodies().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0]["text"]
            .as_str()
            .unwrap()
            .contains("[CRITICAL] Mass deletion"),
        "{}",
        bodies[0]
    );
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_host_name_listed_in_egress_allow_private_is_reached_over_http() {
    let receiver = Receiver::start("127.0.0.1:0", vec![]).await;
    let (_dir, store) = sqlite_store().await;
    let channel = Channel {
        url: format!("http://localhost:{}/hook", receiver.addr.port())
            .parse()
            .unwrap(),
        ..local_channel(receiver.addr)
    };
    enqueue_for(
        &*store,
        std::slice::from_ref(&channel),
        &alert(3, "low"),
        None,
    )
    .await
    .unwrap();

    // Not listed: the guard refuses http to it when the notifier is built.
    assert!(
        Notifier::new(
            store.clone(),
            vec![channel.clone()],
            &local_policy(),
            NotifierOptions::default()
        )
        .is_err()
    );

    let policy = EgressPolicy::new(parse_allow_private("localhost").unwrap());
    let notifier = Notifier::new(
        store.clone(),
        vec![channel],
        &policy,
        NotifierOptions::default(),
    )
    .unwrap();
    let report = notifier.deliver_due(Utc::now()).await.unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(receiver.bodies().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let target = Receiver::start("127.0.0.1:0", vec![]).await;
    let redirect: &'static str = Box::leak(
        format!("302 Found\r\nlocation: http://{}/elsewhere", target.addr).into_boxed_str(),
    );
    let receiver = Receiver::start("127.0.0.1:0", vec![redirect]).await;
    let (_dir, store) = sqlite_store().await;
    let channel = local_channel(receiver.addr);
    enqueue_for(
        &*store,
        std::slice::from_ref(&channel),
        &alert(4, "high"),
        None,
    )
    .await
    .unwrap();
    let notifier = Notifier::new(
        store.clone(),
        vec![channel],
        &local_policy(),
        NotifierOptions::default(),
    )
    .unwrap();

    let report = notifier.deliver_due(Utc::now()).await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(receiver.bodies().len(), 1);
    assert!(
        target.bodies().is_empty(),
        "the redirect target was never asked"
    );
    let item = &store
        .due_outbox(Utc::now() + chrono::Duration::hours(1), 10)
        .await
        .unwrap()[0];
    assert!(
        item.last_error.as_deref().unwrap().contains("302"),
        "{:?}",
        item.last_error
    );
}
