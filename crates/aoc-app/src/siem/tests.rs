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
    forwarders_allowing(pairs, store, "127.0.0.1")
}

fn forwarders_allowing(
    pairs: &[(&str, &str)],
    store: Arc<dyn EventStore>,
    allow_private: &str,
) -> Vec<Arc<Forwarder>> {
    let mut map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.insert("SIEM_ENABLED".into(), "true".into());
    let settings = Settings::from_map(&map).unwrap();
    let egress = EgressPolicy::new(parse_allow_private(allow_private).unwrap());
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

/// A self-signed certificate for `localhost` (cert.pem, key.pem in `dir`), made by openssl.
fn self_signed(
    dir: &std::path::Path,
    name: &str,
) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        // A leaf, not a CA: webpki refuses a CA certificate as the server's own.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then_some((cert, key))
}

#[tokio::test]
async fn syslog_over_tls_checks_the_receiver_against_the_ca_file() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    use tokio_rustls::rustls;

    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(dir.path(), "receiver") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl is needed for this test"
        );
        eprintln!("skipped: no openssl to make a certificate");
        return;
    };
    let (other_ca, _) = self_signed(dir.path(), "other").unwrap();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("tls://localhost:{}", listener.local_addr().unwrap().port());

    let store = open(&dir).await;
    store
        .insert_batch(&[event("t1", Utc::now()), event("t2", Utc::now())])
        .await
        .unwrap();

    // A receiver whose certificate the CA file does not vouch for: refused, nothing moves.
    let wrong = forwarders_allowing(
        &[
            ("SYSLOG_URL", &url),
            ("SYSLOG_CA_FILE", other_ca.to_str().unwrap()),
        ],
        store.clone(),
        "localhost",
    )
    .remove(0);
    let (tcp, sent) = tokio::join!(
        async {
            let (tcp, _) = listener.accept().await.unwrap();
            acceptor.clone().accept(tcp).await
        },
        wrong.forward_once()
    );
    assert!(sent.is_err());
    let server = tcp;
    assert!(server.is_err(), "the handshake failed");
    let status = wrong.status().await.unwrap();
    assert_eq!((status.backlog, status.delivered), (2, 0));
    let error = status.last_error.unwrap();
    assert!(error.contains("invalid peer certificate"), "{error}");

    let right = forwarders_allowing(
        &[
            ("SYSLOG_URL", &url),
            ("SYSLOG_CA_FILE", cert.to_str().unwrap()),
        ],
        store.clone(),
        "localhost",
    )
    .remove(0);
    let receive = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let mut text = Vec::new();
        let mut chunk = [0u8; 8192];
        while !String::from_utf8_lossy(&text).contains("id=\"t2\"") {
            let n = tls.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            text.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8(text).unwrap()
    });
    assert_eq!(right.forward_once().await.unwrap(), 2);
    let text = tokio::time::timeout(Duration::from_secs(10), receive)
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("[aoc@32473 id=\"t1\""), "{text}");
}
