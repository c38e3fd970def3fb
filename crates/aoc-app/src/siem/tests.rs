#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Forwarders against a store and a syslog receiver of the test's own (plain TCP on loopback).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aoc_domain::{Event, Source};
use aoc_store::EventStore;
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::*;
use crate::config::Settings;
use crate::egress::parse_allow_private;

fn event(id: &str, at: DateTime<Utc>) -> Event {
    Event {
        id: id.to_string(),
        source: Source::Directory,
        timestamp: at,
        service: "Core Directory".into(),
        operation: "Add member to role".into(),
        result: "success".into(),
        result_detail: "success".into(),
        actor_display: "admin@contoso.com".into(),
        actor: json!({}),
        target_displays: vec!["adele@contoso.com".into()],
        targets: Vec::new(),
        display_summary: format!("role {id}"),
        dedupe_key: format!("key-{id}"),
        raw: json!({ "id": id }),
        tags: Vec::new(),
        comments: Vec::new(),
    }
}

async fn open(dir: &tempfile::TempDir) -> Arc<dyn EventStore> {
    let url = format!("sqlite://{}", dir.path().join("aoc.db").display());
    aoc_store::open(&url).await.unwrap()
}

fn forwarders_for(pairs: &[(&str, &str)], store: Arc<dyn EventStore>) -> Vec<Arc<Forwarder>> {
    let mut map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.insert("SIEM_ENABLED".into(), "true".into());
    let settings = Settings::from_map(&map).unwrap();
    let egress = EgressPolicy::new(parse_allow_private("127.0.0.1").unwrap());
    forwarders(&settings.siem, &egress, store).unwrap()
}

/// Read octet-counted frames until `want` arrived.
async fn read_frames(stream: &mut tokio::net::TcpStream, want: usize) -> Vec<String> {
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    while frames.len() < want {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed after {} frames", frames.len());
        buf.extend_from_slice(&chunk[..n]);
        while let Some(space) = buf.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&buf[..space]).unwrap().parse().unwrap();
            if buf.len() < space + 1 + len {
                break;
            }
            frames.push(String::from_utf8(buf[space + 1..space + 1 + len].to_vec()).unwrap());
            buf.drain(..space + 1 + len);
        }
    }
    frames
}

#[tokio::test]
async fn syslog_frames_reach_the_receiver_and_a_closed_connection_is_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("tcp://127.0.0.1:{port}");
    let f = forwarders_for(
        &[("SYSLOG_URL", &url), ("SIEM_BATCH_SIZE", "3")],
        store.clone(),
    )
    .remove(0);
    let now = Utc::now();
    store
        .insert_batch(
            &(0..5)
                .map(|i| event(&format!("e{i}"), now))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert_eq!(f.forward_once().await.unwrap(), 3);
    let (mut first, _) = listener.accept().await.unwrap();
    let frames = read_frames(&mut first, 3).await;
    assert!(frames[0].starts_with("<110>1 "), "{}", frames[0]);
    assert!(frames[0].contains("[aoc@32473 id=\"e0\" source=\"directory\"]"));
    // The receiver restarts: the next batch goes over a new connection, nothing lost.
    drop(first);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let send = tokio::spawn({
        let f = f.clone();
        async move { f.forward_once().await.unwrap() }
    });
    let (mut second, _) = listener.accept().await.unwrap();
    let frames = read_frames(&mut second, 2).await;
    assert_eq!(send.await.unwrap(), 2);
    assert!(frames[1].contains("id=\"e4\""));
    let status = f.status().await.unwrap();
    assert_eq!((status.delivered, status.backlog, status.failed), (5, 0, 0));
}

#[tokio::test]
async fn a_receiver_that_is_down_keeps_the_cursor_and_the_error_shows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/in");
    let f = forwarders_for(&[("SIEM_WEBHOOK_URL", &url)], store.clone()).remove(0);
    store.insert_batch(&[event("a", Utc::now())]).await.unwrap();
    assert!(f.forward_once().await.is_err());
    let status = f.status().await.unwrap();
    assert_eq!((status.backlog, status.failed, status.delivered), (1, 1, 0));
    assert!(status.last_error.is_some() && status.last_success.is_none());
    assert_eq!(f.consumer_name(), "siem:webhook");
}

#[tokio::test]
async fn the_retention_purge_keeps_what_a_target_has_not_received() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("tcp://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let f = forwarders_for(
        &[("SYSLOG_URL", &url), ("SIEM_BATCH_SIZE", "2")],
        store.clone(),
    );
    // Stores keep microseconds.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let days = |d: i64| now - chrono::Duration::days(d);
    // Stored in this order: two old ones delivered, then an old and a new one not yet.
    store
        .insert_batch(&[event("old1", days(40)), event("old2", days(39))])
        .await
        .unwrap();
    store
        .insert_batch(&[event("old3", days(35)), event("new", days(1))])
        .await
        .unwrap();
    let accept = tokio::spawn(async move { listener.accept().await.unwrap() });
    assert_eq!(f[0].forward_once().await.unwrap(), 2);
    let _conn = accept.await.unwrap();
    let cutoff = days(30);
    let decision = purge_cutoff(store.as_ref(), &f, cutoff).await.unwrap();
    assert_eq!(decision, PurgeDecision::Before(days(35)));
    let PurgeDecision::Before(at) = decision else {
        unreachable!()
    };
    assert_eq!(store.delete_before(at).await.unwrap(), 2);
    assert!(store.get("old3").await.unwrap().is_some());
    // Nothing configured: the retention cutoff as it is.
    assert_eq!(
        purge_cutoff(store.as_ref(), &[], cutoff).await.unwrap(),
        PurgeDecision::Before(cutoff)
    );
}
