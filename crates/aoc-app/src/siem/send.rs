//! Putting a batch on the wire: HTTP POSTs (webhook, Splunk HEC) through the egress guard's
//! client, and syslog over a TCP or TLS connection to an address the guard checked.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

use aoc_domain::Event;

use super::format;
use super::target::{Destination, SyslogEndpoint, Target, TargetError};
use crate::egress::{CONNECT_TIMEOUT, EgressPolicy, REQUEST_TIMEOUT};
use crate::notify::retry::retry_after;

/// A batch the receiver did not take; the whole batch is sent again later.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    /// The receiver's Retry-After (429 or 503), obeyed instead of the backoff.
    pub retry_after: Option<Duration>,
}

impl DeliveryError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
        }
    }
}

pub(super) enum Sender {
    Http {
        client: reqwest::Client,
        url: url::Url,
        headers: HeaderMap,
        body: HttpBody,
    },
    Syslog(SyslogSender),
}

pub(super) enum HttpBody {
    Webhook(super::target::WebhookFormat),
    Hec {
        host: String,
        sourcetype: String,
        index: Option<String>,
    },
}

impl Sender {
    pub(super) fn new(target: &Target, egress: &EgressPolicy) -> Result<Self, TargetError> {
        let client_error = |e: crate::egress::EgressError| TargetError {
            var: target.setting(),
            message: e.to_string(),
        };
        Ok(match &target.destination {
            Destination::Webhook { url, format, auth } => {
                let mut headers = HeaderMap::new();
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(match format {
                        super::target::WebhookFormat::JsonArray => "application/json",
                        super::target::WebhookFormat::Ndjson => "application/x-ndjson",
                    }),
                );
                if let Some((name, value)) = auth {
                    headers.insert(name.clone(), value.0.clone());
                }
                Self::Http {
                    client: egress.client().map_err(client_error)?,
                    url: url.clone(),
                    headers,
                    body: HttpBody::Webhook(*format),
                }
            }
            Destination::SplunkHec {
                url,
                token,
                index,
                sourcetype,
            } => {
                let mut headers = HeaderMap::new();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                let mut auth = HeaderValue::from_str(&format!("Splunk {}", token.expose_secret()))
                    .map_err(|_| TargetError {
                        var: "SPLUNK_HEC_TOKEN",
                        message: "holds characters a header cannot carry".into(),
                    })?;
                auth.set_sensitive(true);
                headers.insert(AUTHORIZATION, auth);
                Self::Http {
                    client: egress.client().map_err(client_error)?,
                    url: url.clone(),
                    headers,
                    body: HttpBody::Hec {
                        host: format::local_host_name(),
                        sourcetype: sourcetype.clone(),
                        index: index.clone(),
                    },
                }
            }
            Destination::Syslog(endpoint) => {
                Self::Syslog(SyslogSender::new(endpoint.clone(), egress.clone())?)
            }
        })
    }

    pub(super) async fn send(&self, events: &[Event]) -> Result<(), DeliveryError> {
        match self {
            Self::Http {
                client,
                url,
                headers,
                body,
            } => {
                let bytes = match body {
                    HttpBody::Webhook(f) => format::webhook_body(events, *f),
                    HttpBody::Hec {
                        host,
                        sourcetype,
                        index,
                    } => format::hec_body(events, host, sourcetype, index.as_deref()),
                }
                .map_err(|e| DeliveryError::new(format!("encoding the batch: {e}")))?;
                post(client, url, headers, bytes).await
            }
            Self::Syslog(s) => s.send(events).await,
        }
    }
}

async fn post(
    client: &reqwest::Client,
    url: &url::Url,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Result<(), DeliveryError> {
    let res = client
        .post(url.clone())
        .headers(headers.clone())
        .body(body)
        .send()
        .await
        .map_err(|e| DeliveryError::new(error_chain(&e)))?;
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    let wait = if status.as_u16() == 429 || status.as_u16() == 503 {
        res.headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, chrono::Utc::now()))
    } else {
        None
    };
    let text = res.text().await.unwrap_or_default();
    let excerpt: String = text.chars().take(200).collect();
    Err(DeliveryError {
        message: format!("HTTP {status}: {excerpt}").trim_end().to_string(),
        retry_after: wait,
    })
}

/// The error with its causes, which is where reqwest says what actually went wrong (the
/// guard's refusal, a refused connection).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One connection, kept between batches and opened again after any failure.
pub(super) struct SyslogSender {
    endpoint: SyslogEndpoint,
    egress: EgressPolicy,
    tls: Option<TlsConnector>,
    host_name: String,
    conn: tokio::sync::Mutex<Option<Box<dyn Stream>>>,
}

impl SyslogSender {
    fn new(endpoint: SyslogEndpoint, egress: EgressPolicy) -> Result<Self, TargetError> {
        let tls = if endpoint.tls {
            Some(tls_connector(endpoint.ca_file.as_deref())?)
        } else {
            None
        };
        Ok(Self {
            endpoint,
            egress,
            tls,
            host_name: format::local_host_name(),
            conn: tokio::sync::Mutex::new(None),
        })
    }

    async fn send(&self, events: &[Event]) -> Result<(), DeliveryError> {
        let mut frames = Vec::with_capacity(events.len() * 1024);
        for e in events {
            format::syslog_frame(e, &self.host_name, self.endpoint.payload, &mut frames)
                .map_err(|e| DeliveryError::new(format!("encoding the batch: {e}")))?;
        }
        let mut conn = self.conn.lock().await;
        if let Some(stream) = conn.as_mut()
            && !still_open(stream.as_mut())
        {
            *conn = None;
        }
        let stream = match conn.as_mut() {
            Some(s) => s,
            None => conn.insert(self.connect().await?),
        };
        let written = tokio::time::timeout(REQUEST_TIMEOUT, async {
            stream.write_all(&frames).await?;
            stream.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                *conn = None;
                Err(DeliveryError::new(format!("writing to syslog: {e}")))
            }
            Err(_) => {
                *conn = None;
                Err(DeliveryError::new("writing to syslog timed out"))
            }
        }
    }

    /// Resolve through the guard and connect to an address it allowed (never the name again,
    /// which could resolve elsewhere the second time).
    async fn connect(&self) -> Result<Box<dyn Stream>, DeliveryError> {
        let host = &self.endpoint.host;
        let addrs = self
            .egress
            .resolve(host)
            .await
            .map_err(|e| DeliveryError::new(e.to_string()))?;
        let mut last = String::from("no address");
        let mut tcp = None;
        for mut addr in addrs {
            addr.set_port(self.endpoint.port);
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    tcp = Some(s);
                    break;
                }
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => last = format!("{addr}: connect timed out"),
            }
        }
        let tcp = tcp.ok_or_else(|| DeliveryError::new(format!("connecting to syslog: {last}")))?;
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| DeliveryError::new(format!("syslog host {host}: {e}")))?;
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(name, tcp))
            .await
            .map_err(|_| DeliveryError::new("TLS handshake with syslog timed out"))?
            .map_err(|e| DeliveryError::new(format!("TLS handshake with syslog: {e}")))?;
        Ok(Box::new(stream))
    }
}

/// Whether a kept connection is still usable: a receiver that restarted closed it, and
/// writing into it would only fail later (or vanish into a dead socket's buffer).
fn still_open(stream: &mut dyn Stream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte).now_or_never() {
        None => true,          // nothing to read: open and quiet, as syslog receivers are
        Some(Ok(0)) => false,  // closed by the receiver
        Some(Ok(_)) => true,   // the receiver said something; syslog has no replies to read
        Some(Err(_)) => false, // reset
    }
}

fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<TlsConnector, TargetError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| TargetError {
                    var: "SYSLOG_CA_FILE",
                    message: format!("{}: {e}", path.display()),
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(TargetError {
                    var: "SYSLOG_CA_FILE",
                    message: format!("{}: no certificate in it", path.display()),
                });
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TargetError {
            var: "SYSLOG_URL",
            message: format!("TLS: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}
