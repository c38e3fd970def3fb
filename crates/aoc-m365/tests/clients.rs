//! The clients against Microsoft's HTTP contract, played by wiremock on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aoc_m365::{
    ContentBlob, GraphAuditSource, M365Client, M365Config, M365Error, Service, SkipReason,
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{
    body_string_contains, header, method, path, path_regex, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TENANT: &str = "00000000-0000-0000-0000-0000000000aa";
const SECRET: &str = "s3cr3t-client-value";

/// Login and Graph on one server, the Management API on another, as in the real clouds where
/// they are different hosts (and so different token scopes).
struct Tenant {
    graph: MockServer,
    manage: MockServer,
}

impl Tenant {
    async fn start() -> Tenant {
        Tenant {
            graph: MockServer::start().await,
            manage: MockServer::start().await,
        }
    }

    fn config(&self) -> M365Config {
        let mut c = M365Config::new(TENANT, "client-id", SecretString::from(SECRET));
        c.login_base_url = self.graph.uri();
        c.graph_base_url = self.graph.uri();
        c.manage_base_url = self.manage.uri();
        c.request_timeout = Duration::from_secs(5);
        c.max_attempts = 4;
        c.retry_base_delay = Duration::from_millis(1);
        c.retry_max_delay = Duration::from_millis(20);
        c.graph_min_interval = Duration::ZERO;
        c
    }

    fn client(&self) -> M365Client {
        M365Client::new(self.config()).unwrap()
    }

    fn graph_scope(&self) -> String {
        form_encode(&format!("{}/.default", self.graph.uri()))
    }

    fn manage_scope(&self) -> String {
        form_encode(&format!("{}/.default", self.manage.uri()))
    }

    /// Token endpoint answering every scope with `token`.
    async fn token(&self, token: &str) {
        Mock::given(method("POST"))
            .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
            .and(body_string_contains("grant_type=client_credentials"))
            .respond_with(token_response(token))
            .mount(&self.graph)
            .await;
    }

    fn feed(&self, op: &str) -> String {
        format!("/api/v1.0/{TENANT}/activity/feed/{op}")
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn token_response(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": token
    }))
}

fn t(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

fn records(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": format!("{prefix}-{i}")}))
        .collect()
}

async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Graph

#[tokio::test]
async fn directory_audits_follow_next_link_page_by_page() {
    let tn = Tenant::start().await;
    tn.token("tok-1").await;
    let next = format!(
        "{}/v1.0/auditLogs/directoryAudits?$skiptoken=page2",
        tn.graph.uri()
    );
    Mock::given(method("GET"))
        .and(path("/v1.0/auditLogs/directoryAudits"))
        .and(query_param(
            "$filter",
            "activityDateTime ge 2026-11-01T00:00:00Z and activityDateTime le 2026-11-01T06:00:00Z",
        ))
        .and(query_param("$top", "1000"))
        .and(query_param_is_missing("$skiptoken"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits",
            "value": records("a", 3),
            "@odata.nextLink": next
        })))
        .expect(1)
        .mount(&tn.graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/auditLogs/directoryAudits"))
        .and(query_param("$skiptoken", "page2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": records("b", 2)})))
        .expect(1)
        .mount(&tn.graph)
        .await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let summary = tn
        .client()
        .directory_audits(t(1, 0), t(1, 6), move |page| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(page);
                Ok::<(), std::io::Error>(())
            }
        })
        .await
        .unwrap();

    assert_eq!((summary.pages, summary.records), (2, 5));
    let pages = seen.lock().unwrap().clone();
    assert_eq!(pages[0].page_number, 1);
    assert_eq!(pages[0].source, GraphAuditSource::DirectoryAudits);
    assert_eq!(pages[0].records[0]["id"], "a-0");
    assert_eq!(pages[0].next_link.as_deref(), Some(next.as_str()));
    assert_eq!(pages[1].page_number, 2);
    assert_eq!(pages[1].records[1]["id"], "b-1");
    assert!(pages[1].next_link.is_none());

    // The filter goes out with %20 for spaces and a literal `$`, as in Graph's examples.
    let sent = requests_to(&tn.graph, "/v1.0/auditLogs/directoryAudits").await;
    assert!(
        sent[0]
            .url
            .query()
            .unwrap()
            .starts_with("$filter=activityDateTime%20ge%202026-11-01T00:00:00Z"),
        "{}",
        sent[0].url
    );
}

#[tokio::test]
async fn intune_audit_events_use_their_own_path_and_filter() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    let from = t(2, 3) + TimeDelta::milliseconds(250);
    Mock::given(method("GET"))
        .and(path("/v1.0/deviceManagement/auditEvents"))
        .and(query_param(
            "$filter",
            "activityDateTime ge 2026-11-02T03:00:00.250000Z and activityDateTime le 2026-11-02T04:00:00Z",
        ))
        .and(query_param("$top", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": records("i", 4)})))
        .expect(1)
        .mount(&tn.graph)
        .await;
    let pages: Vec<_> = tn
        .client()
        .intune_audit_events_stream(from, t(2, 4))
        .collect()
        .await;
    assert_eq!(pages.len(), 1);
    let page = pages.into_iter().next().unwrap().unwrap();
    assert_eq!(page.source, GraphAuditSource::IntuneAuditEvents);
    assert_eq!(page.records.len(), 4);
}

#[tokio::test]
async fn a_dropped_stream_stops_paging_and_an_inverted_window_asks_nothing() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    let next = format!(
        "{}/v1.0/auditLogs/directoryAudits?$skiptoken=2",
        tn.graph.uri()
    );
    Mock::given(path("/v1.0/auditLogs/directoryAudits"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": records("a", 1), "@odata.nextLink": next})),
        )
        .expect(1)
        .mount(&tn.graph)
        .await;
    Mock::given(path("/v1.0/auditLogs/directoryAudits"))
        .and(query_param("$skiptoken", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(0)
        .mount(&tn.graph)
        .await;
    let client = tn.client();
    {
        let mut stream = Box::pin(client.directory_audits_stream(t(1, 0), t(1, 1)));
        let first = stream.next().await.unwrap().unwrap();
        assert!(first.next_link.is_some());
    }
    let nothing: Vec<_> = client
        .directory_audits_stream(t(1, 5), t(1, 1))
        .collect()
        .await;
    assert!(nothing.is_empty());
}

#[tokio::test]
async fn graph_429_with_retry_after_then_success() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(path("/v1.0/auditLogs/directoryAudits"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_json(
                    json!({"error": {"code": "TooManyRequests", "message": "slow down"}}),
                ),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&tn.graph)
        .await;
    Mock::given(path("/v1.0/auditLogs/directoryAudits"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": records("x", 2)})))
        .expect(1)
        .mount(&tn.graph)
        .await;
    let summary = tn
        .client()
        .directory_audits(t(1, 0), t(1, 1), |_| async { Ok::<(), std::io::Error>(()) })
        .await
        .unwrap();
    assert_eq!(summary.records, 2);
}

#[tokio::test]
async fn persistent_throttling_gives_up_after_max_attempts_with_the_code() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(path("/v1.0/auditLogs/directoryAudits"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"error": {"code": "serviceNotAvailable", "message": "try later"}}),
        ))
        .expect(4)
        .mount(&tn.graph)
        .await;
    let err = tn
        .client()
        .directory_audits(t(1, 0), t(1, 1), |_| async { Ok::<(), std::io::Error>(()) })
        .await
        .unwrap_err();
    match &err {
        M365Error::Api {
            service,
            status,
            code,
            message,
            attempts,
        } => {
            assert_eq!(*service, Service::Graph);
            assert_eq!(*status, 503);
            assert_eq!(code.as_deref(), Some("serviceNotAvailable"));
            assert_eq!(message, "try later");
            assert_eq!(*attempts, 4);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_throttling());
    assert!(!err.to_string().contains("tok"));
}

#[tokio::test]
async fn malformed_pages_and_foreign_links_are_errors_not_panics() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(path("/v1.0/auditLogs/directoryAudits"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [],
            "@odata.nextLink": format!("{}/steal", elsewhere.uri())
        })))
        .mount(&tn.graph)
        .await;
    Mock::given(path("/v1.0/deviceManagement/auditEvents"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"value\": [tru"))
        .mount(&tn.graph)
        .await;
    let client = tn.client();
    let results: Vec<_> = client
        .directory_audits_stream(t(1, 0), t(1, 1))
        .collect()
        .await;
    assert_eq!(
        results.len(),
        1,
        "the page is withheld once its link is refused"
    );
    assert!(matches!(
        results[0],
        Err(M365Error::Malformed {
            service: Service::Graph,
            ..
        })
    ));
    let err = client
        .intune_audit_events(t(1, 0), t(1, 1), |_| async { Ok::<(), std::io::Error>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, M365Error::Malformed { .. }), "{err:?}");
}

#[tokio::test]
async fn a_failing_page_handler_stops_paging() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    let next = format!(
        "{}/v1.0/auditLogs/directoryAudits?$skiptoken=2",
        tn.graph.uri()
    );
    Mock::given(path("/v1.0/auditLogs/directoryAudits"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": records("a", 1), "@odata.nextLink": next})),
        )
        .mount(&tn.graph)
        .await;
    Mock::given(path("/v1.0/auditLogs/directoryAudits"))
        .and(query_param("$skiptoken", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(0)
        .mount(&tn.graph)
        .await;
    let err = tn
        .client()
        .directory_audits(t(1, 0), t(1, 1), |_| async {
            Err(std::io::Error::other("disk full"))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, M365Error::Handler(_)));
    assert!(err.to_string().contains("disk full"));
}

#[tokio::test]
async fn get_by_ids_batches_by_1000_and_maps_display_names() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(method("POST"))
        .and(path("/v1.0/directoryObjects/getByIds"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let value: Vec<Value> = body["ids"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|id| id.as_str().unwrap() != "missing")
                .map(|id| {
                    json!({"@odata.type": "#microsoft.graph.user", "id": id, "displayName": format!("Name {}", id.as_str().unwrap())})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"value": value}))
        })
        .expect(3)
        .mount(&tn.graph)
        .await;
    let mut ids: Vec<String> = (0..1500).map(|i| format!("id-{i}")).collect();
    ids.push("id-7".into());
    ids.push("missing".into());
    let names = tn.client().get_by_ids(&ids).await.unwrap();
    assert_eq!(names.len(), 1500);
    assert_eq!(names["id-1499"], "Name id-1499");
    assert!(!names.contains_key("missing"));

    let sent = requests_to(&tn.graph, "/v1.0/directoryObjects/getByIds").await;
    let sizes: Vec<usize> = sent
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(
                body["types"],
                json!(["user", "group", "servicePrincipal", "application", "device"])
            );
            body["ids"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, vec![1000, 501]);
    assert!(
        tn.client()
            .get_by_ids::<&str>(&[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tn.client().get_by_ids(&["id-3"]).await.unwrap()["id-3"],
        "Name id-3"
    );
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[tokio::test]
async fn tokens_are_cached_per_scope_and_sent_to_the_right_api() {
    let tn = Tenant::start().await;
    let token_path = format!("/{TENANT}/oauth2/v2.0/token");
    Mock::given(method("POST"))
        .and(path(token_path.as_str()))
        .and(body_string_contains(format!("scope={}", tn.graph_scope())))
        .and(body_string_contains("client_id=client-id"))
        .and(body_string_contains(format!("client_secret={SECRET}")))
        .respond_with(token_response("graph-token"))
        .expect(1)
        .mount(&tn.graph)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path.as_str()))
        .and(body_string_contains(format!("scope={}", tn.manage_scope())))
        .respond_with(token_response("manage-token"))
        .expect(1)
        .mount(&tn.graph)
        .await;
    Mock::given(path("/v1.0/directoryObjects/getByIds"))
        .and(header("authorization", "Bearer graph-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(2)
        .mount(&tn.graph)
        .await;
    Mock::given(path(tn.feed("subscriptions/list")))
        .and(header("authorization", "Bearer manage-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(2)
        .mount(&tn.manage)
        .await;
    let client = tn.client();
    let ids = vec!["a".to_owned()];
    client.get_by_ids(&ids).await.unwrap();
    client.list_subscriptions().await.unwrap();
    client.get_by_ids(&ids).await.unwrap();
    client.clone().list_subscriptions().await.unwrap();
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let tn = Tenant::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(token_response("shared").set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&tn.graph)
        .await;
    Mock::given(path("/v1.0/directoryObjects/getByIds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(8)
        .mount(&tn.graph)
        .await;
    let client = tn.client();
    let calls = (0..8).map(|i| {
        let client = client.clone();
        tokio::spawn(async move { client.get_by_ids(&[format!("id-{i}")]).await })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let tn = Tenant::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(token_response("old"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&tn.graph)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(token_response("new"))
        .expect(1)
        .mount(&tn.graph)
        .await;
    Mock::given(path("/v1.0/directoryObjects/getByIds"))
        .and(header("authorization", "Bearer old"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired"}}),
        ))
        .expect(1)
        .mount(&tn.graph)
        .await;
    Mock::given(path("/v1.0/directoryObjects/getByIds"))
        .and(header("authorization", "Bearer new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&tn.graph)
        .await;
    tn.client().get_by_ids(&["x".to_owned()]).await.unwrap();
}

#[tokio::test]
async fn a_second_401_is_returned_not_looped_on() {
    let tn = Tenant::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(token_response("tok"))
        .expect(2)
        .mount(&tn.graph)
        .await;
    Mock::given(path(tn.feed("subscriptions/list")))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"code": "AF10001", "message": "The permission set () sent in the request did not include the expected permission ActivityFeed.Read."}}),
        ))
        .expect(2)
        .mount(&tn.manage)
        .await;
    let err = tn.client().list_subscriptions().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("AF10001"));
}

#[tokio::test]
async fn a_refused_secret_is_a_login_error_without_the_secret() {
    let tn = Tenant::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
            "error_codes": [7000215]
        })))
        .expect(1)
        .mount(&tn.graph)
        .await;
    let err = tn.client().get_by_ids(&["x".to_owned()]).await.unwrap_err();
    match &err {
        M365Error::Api {
            service,
            code,
            message,
            ..
        } => {
            assert_eq!(*service, Service::Login);
            assert_eq!(code.as_deref(), Some("invalid_client"));
            assert!(message.starts_with("AADSTS7000215"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let shown = format!("{err} {err:?} {:?}", tn.client());
    assert!(!shown.contains(SECRET), "{shown}");
}

#[tokio::test]
async fn a_hanging_server_times_out_as_a_transport_error() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(path("/v1.0/directoryObjects/getByIds"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": []}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&tn.graph)
        .await;
    let mut config = tn.config();
    config.request_timeout = Duration::from_millis(150);
    config.max_attempts = 2;
    let err = M365Client::new(config)
        .unwrap()
        .get_by_ids(&["x".to_owned()])
        .await
        .unwrap_err();
    match err {
        M365Error::Transport {
            service,
            timed_out,
            attempts,
            ..
        } => {
            assert_eq!(service, Service::Graph);
            assert!(timed_out);
            assert_eq!(attempts, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Management Activity API

#[tokio::test]
async fn ensure_subscriptions_starts_what_is_missing_and_accepts_af20024() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(method("GET"))
        .and(path(tn.feed("subscriptions/list")))
        .and(query_param("PublisherIdentifier", TENANT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"contentType": "Audit.Exchange", "status": "enabled", "webhook": null},
            {"contentType": "Audit.SharePoint", "status": "disabled", "webhook": null}
        ])))
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(method("POST"))
        .and(path(tn.feed("subscriptions/start")))
        .and(query_param("contentType", "Audit.SharePoint"))
        .and(query_param("PublisherIdentifier", TENANT))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"code": "AF20024", "message": "The subscription is already enabled. No property change."}}),
        ))
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(method("POST"))
        .and(path(tn.feed("subscriptions/start")))
        .and(query_param("contentType", "Audit.General"))
        .and(query_param("PublisherIdentifier", TENANT))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"contentType": "Audit.General", "status": "enabled", "webhook": null}),
        ))
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(method("POST"))
        .and(path(tn.feed("subscriptions/start")))
        .and(query_param("contentType", "Audit.Exchange"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&tn.manage)
        .await;
    let report = tn.client().ensure_subscriptions().await.unwrap();
    assert_eq!(
        report.already_enabled,
        vec!["Audit.Exchange", "Audit.SharePoint"]
    );
    assert_eq!(report.started, vec!["Audit.General"]);
    let starts = requests_to(&tn.manage, &tn.feed("subscriptions/start")).await;
    assert!(starts.iter().all(|r| {
        r.headers
            .get_all("content-length")
            .iter()
            .map(|v| v.as_bytes())
            .collect::<Vec<_>>()
            == vec![b"0"]
    }));
}

fn blob_json(tn: &Tenant, id: &str, expires: DateTime<Utc>) -> Value {
    json!({
        "contentType": "Audit.Exchange",
        "contentId": id,
        "contentUri": format!("{}{}", tn.manage.uri(), tn.feed(&format!("audit/{id}"))),
        "contentCreated": "2026-11-01T10:00:00.000Z",
        "contentExpiration": expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

#[tokio::test]
async fn list_content_follows_next_page_uri_and_splits_days() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    let to = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        - TimeDelta::hours(1);
    let from = to - TimeDelta::hours(30);
    let mid = from + TimeDelta::hours(24);
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let later = Utc::now() + TimeDelta::days(7);
    // Like Microsoft's example, the next-page link repeats the range but not PublisherIdentifier.
    let next = format!(
        "{}{}?contentType=Audit.Exchange&startTime={}&endTime={}&nextPage=p2",
        tn.manage.uri(),
        tn.feed("subscriptions/content"),
        fmt(from),
        fmt(mid)
    );
    Mock::given(method("GET"))
        .and(path(tn.feed("subscriptions/content")))
        .and(query_param("contentType", "Audit.Exchange"))
        .and(query_param("startTime", fmt(from).as_str()))
        .and(query_param("endTime", fmt(mid).as_str()))
        .and(query_param("PublisherIdentifier", TENANT))
        .and(query_param_is_missing("nextPage"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("NextPageUri", next.as_str())
                .set_body_json(json!([
                    blob_json(&tn, "b1", later),
                    blob_json(&tn, "b2", later)
                ])),
        )
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(method("GET"))
        .and(path(tn.feed("subscriptions/content")))
        .and(query_param("nextPage", "p2"))
        .and(query_param("PublisherIdentifier", TENANT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            blob_json(&tn, "b2", later),
            blob_json(&tn, "b3", later)
        ])))
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(method("GET"))
        .and(path(tn.feed("subscriptions/content")))
        .and(query_param("startTime", fmt(mid).as_str()))
        .and(query_param("endTime", fmt(to).as_str()))
        .and(query_param("PublisherIdentifier", TENANT))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([blob_json(&tn, "b4", later)])),
        )
        .expect(1)
        .mount(&tn.manage)
        .await;

    let listing = tn
        .client()
        .list_content("Audit.Exchange", from, to)
        .await
        .unwrap();
    let ids: Vec<_> = listing
        .blobs
        .iter()
        .map(|b| b.content_id.as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["b1", "b2", "b3", "b4"],
        "distinct, in listed order"
    );
    assert_eq!(listing.plan.windows.len(), 2);
    assert_eq!(listing.plan.covered_until(), Some(to));
    assert!(listing.warnings.is_empty());
    let page2 = requests_to(&tn.manage, &tn.feed("subscriptions/content"))
        .await
        .into_iter()
        .find(|r| r.url.query().unwrap().contains("nextPage"))
        .unwrap();
    assert_eq!(
        page2
            .url
            .query_pairs()
            .filter(|(k, _)| k == "PublisherIdentifier")
            .count(),
        1
    );
}

#[tokio::test]
async fn list_content_clamps_an_old_start_instead_of_failing() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(method("GET"))
        .and(path(tn.feed("subscriptions/content")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&tn.manage)
        .await;
    let now = Utc::now();
    let listing = tn
        .client()
        .list_content(
            "Audit.General",
            now - TimeDelta::days(10),
            now - TimeDelta::days(5),
        )
        .await
        .unwrap();
    assert!(listing.plan.clamped_from.is_some());
    assert!(
        listing.warnings.is_empty(),
        "a clamp is reported in the plan, not as a warning"
    );
    let sent = requests_to(&tn.manage, &tn.feed("subscriptions/content")).await;
    assert_eq!(sent.len(), 2, "about 2 days remain in reach");
    for r in &sent {
        let start = r
            .url
            .query_pairs()
            .find(|(k, _)| k == "startTime")
            .unwrap()
            .1
            .to_string();
        let start = chrono::NaiveDateTime::parse_from_str(&start, "%Y-%m-%dT%H:%M:%S")
            .unwrap()
            .and_utc();
        assert!(start > now - TimeDelta::days(7));
    }
}

#[tokio::test]
async fn list_content_starts_a_missing_subscription_and_retries_once() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(method("GET"))
        .and(path(tn.feed("subscriptions/content")))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"code": "AF20022", "message": "No subscription found for the specified content type"}}),
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(method("GET"))
        .and(path(tn.feed("subscriptions/content")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(method("POST"))
        .and(path(tn.feed("subscriptions/start")))
        .and(query_param("contentType", "Audit.SharePoint"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "enabled"})))
        .expect(1)
        .mount(&tn.manage)
        .await;
    let now = Utc::now();
    let listing = tn
        .client()
        .list_content("Audit.SharePoint", now - TimeDelta::hours(2), now)
        .await
        .unwrap();
    assert!(listing.blobs.is_empty());
}

#[tokio::test]
async fn list_content_gives_up_when_the_subscription_stays_missing() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(method("GET"))
        .and(path(tn.feed("subscriptions/content")))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"code": "AF20023", "message": "The subscription was disabled by a tenant admin"}}),
        ))
        .expect(2)
        .mount(&tn.manage)
        .await;
    Mock::given(method("POST"))
        .and(path(tn.feed("subscriptions/start")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&tn.manage)
        .await;
    let now = Utc::now();
    let err = tn
        .client()
        .list_content("Audit.SharePoint", now - TimeDelta::hours(2), now)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AF20023"));
}

#[tokio::test]
async fn fetch_blobs_skips_expired_tags_every_download_and_survives_failures() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    let later = Utc::now() + TimeDelta::days(3);
    let blob = |id: &str, expires: DateTime<Utc>| -> ContentBlob {
        let v = blob_json(&tn, id, expires);
        serde_json::from_value(v).unwrap()
    };
    let plain = blob("20261101$ok$audit_exchange$Audit_Exchange", later);
    let mut with_query = blob("withquery", later);
    with_query.content_uri.push_str("?region=emea");
    let expired = blob("expired", Utc::now() - TimeDelta::minutes(1));
    let gone = blob("gone", later);
    let broken = blob("broken", later);
    let throttled = blob("throttled", later);

    Mock::given(method("GET"))
        .and(path(
            tn.feed("audit/20261101$ok$audit_exchange$Audit_Exchange"),
        ))
        .and(query_param("PublisherIdentifier", TENANT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(records("ok", 3))))
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(method("GET"))
        .and(path(tn.feed("audit/withquery")))
        .and(query_param("region", "emea"))
        .and(query_param("PublisherIdentifier", TENANT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(records("q", 1))))
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(path(tn.feed("audit/expired")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&tn.manage)
        .await;
    Mock::given(path(tn.feed("audit/gone")))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"code": "AF20051", "message": "Content requested with the key gone has already expired."}}),
        ))
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(path(tn.feed("audit/broken")))
        .respond_with(ResponseTemplate::new(200).set_body_string("[{\"Id\":"))
        .expect(1)
        .mount(&tn.manage)
        .await;
    // The Management API throttles with 403 + AF429, not 429.
    Mock::given(path(tn.feed("audit/throttled")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": "AF429", "message": "Too many requests. Method=GetBlob, PublisherId=00000000-0000-0000-0000-000000000000"}})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(path(tn.feed("audit/throttled")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(records("t", 2))))
        .expect(1)
        .mount(&tn.manage)
        .await;

    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let report = tn
        .client()
        .fetch_blobs(
            vec![plain, with_query, expired, gone, broken, throttled],
            3,
            move |content| {
                let sink = sink.clone();
                async move {
                    sink.lock()
                        .unwrap()
                        .push((content.blob.content_id.clone(), content.records.len()));
                    Ok::<(), std::io::Error>(())
                }
            },
        )
        .await
        .unwrap();

    assert_eq!(report.fetched, 3);
    assert_eq!(report.records, 6);
    assert!(!report.is_complete());
    let mut got = got.lock().unwrap().clone();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("20261101$ok$audit_exchange$Audit_Exchange".to_owned(), 3),
            ("throttled".to_owned(), 2),
            ("withquery".to_owned(), 1)
        ]
    );
    let mut skipped: Vec<_> = report
        .skipped
        .iter()
        .map(|s| s.content_id.as_str())
        .collect();
    skipped.sort();
    assert_eq!(skipped, vec!["expired", "gone"]);
    assert!(report.skipped.iter().any(|s| matches!(
        &s.reason,
        SkipReason::Gone { status: 400, code: Some(c) } if c == "AF20051"
    )));
    assert!(
        report
            .skipped
            .iter()
            .any(|s| matches!(s.reason, SkipReason::Expired { .. }))
    );
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].content_id, "broken");
    assert!(matches!(
        report.failed[0].error,
        M365Error::Malformed { .. }
    ));

    // Every Management request carried exactly one PublisherIdentifier.
    for r in tn.manage.received_requests().await.unwrap() {
        let n = r
            .url
            .query_pairs()
            .filter(|(k, v)| k == "PublisherIdentifier" && v == TENANT)
            .count();
        assert_eq!(n, 1, "{}", r.url);
    }
}

#[tokio::test]
async fn content_uris_on_another_host_are_not_fetched() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    let blob = ContentBlob {
        content_uri: "http://127.0.0.1:9/api/v1.0/x/activity/feed/audit/abc".into(),
        content_id: "abc".into(),
        content_type: "Audit.General".into(),
        content_created: None,
        content_expiration: None,
    };
    let report = tn
        .client()
        .fetch_blobs(vec![blob], 1, |_| async { Ok::<(), std::io::Error>(()) })
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1);
    assert!(matches!(
        report.failed[0].error,
        M365Error::Malformed { .. }
    ));
}

#[tokio::test]
async fn management_503_then_success_and_a_custom_publisher_identifier() {
    let tn = Tenant::start().await;
    tn.token("tok").await;
    Mock::given(path_regex("/subscriptions/list$"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&tn.manage)
        .await;
    Mock::given(path_regex("/subscriptions/list$"))
        .and(query_param("PublisherIdentifier", "vendor-tenant"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"contentType": "Audit.Exchange", "status": "enabled", "webhook": null}
        ])))
        .expect(1)
        .mount(&tn.manage)
        .await;
    let mut config = tn.config();
    config.publisher_identifier = Some("vendor-tenant".into());
    let subs = M365Client::new(config)
        .unwrap()
        .list_subscriptions()
        .await
        .unwrap();
    assert_eq!(subs.len(), 1);
    assert!(subs[0].is_enabled());
}

// ---------------------------------------------------------------------------------------------
// Against the simulated tenant: Microsoft's contract as aoc-sim reads it, counted by the
// simulator's own request log.

fn sim_client(sim: &aoc_sim::RunningSim) -> M365Client {
    let c = sim.handle.config();
    let mut config = M365Config::new(
        &c.tenant_id,
        &c.client_id,
        SecretString::from(c.client_secret.clone()),
    );
    config.login_base_url = sim.base_url.clone();
    config.graph_base_url = sim.base_url.clone();
    config.manage_base_url = sim.base_url.clone();
    config.graph_min_interval = Duration::ZERO;
    M365Client::new(config).unwrap()
}

#[tokio::test]
async fn graph_audits_come_a_thousand_a_page_from_the_simulated_tenant() {
    let sim = aoc_sim::start(aoc_sim::SimConfig {
        days: 2,
        now: Some(Utc::now()),
        // Enough for a few pages even over a quiet weekend.
        events_per_day: aoc_sim::EventRates {
            directory: 2500,
            intune: 2500,
            unified: 100,
        },
        ..aoc_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let h = &sim.handle;
    let client = sim_client(&sim);
    let ok = |_page: aoc_m365::GraphPage| async { Ok::<(), std::io::Error>(()) };
    let directory = client
        .directory_audits(h.origin(), h.now(), ok)
        .await
        .unwrap();
    let intune = client
        .intune_audit_events(h.origin(), h.now(), ok)
        .await
        .unwrap();
    for (summary, source, endpoint) in [
        (
            directory,
            aoc_sim::SimSource::Directory,
            aoc_sim::Endpoint::DirectoryAudits,
        ),
        (
            intune,
            aoc_sim::SimSource::Intune,
            aoc_sim::Endpoint::AuditEvents,
        ),
    ] {
        let truth = h.unique_records(source, h.origin(), h.now());
        assert!(truth > 1000, "{source}: {truth} records, worth paging");
        assert_eq!(summary.records, truth, "{source}");
        // The simulator's default page (no $top) is 50: a thousand a page needs 20 times fewer
        // requests.
        assert_eq!(summary.pages, truth.div_ceil(1000), "{source}");
        assert_eq!(h.request_count(endpoint), summary.pages as u64, "{source}");
    }
}

#[tokio::test]
async fn content_listing_follows_next_page_uri_of_the_simulated_tenant() {
    // The demo tenant's defaults, on a clock a few hours behind ours so its blobs are out.
    let sim = aoc_sim::start(aoc_sim::SimConfig {
        now: Some(Utc::now()),
        subscriptions: vec!["Audit.Exchange".into()],
        ..aoc_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let h = &sim.handle;
    let page_size = h.config().content_page_size;
    let listing = sim_client(&sim)
        .list_content("Audit.Exchange", h.now() - TimeDelta::hours(72), h.now())
        .await
        .unwrap();
    let windows = listing.plan.windows.len();
    assert_eq!(windows, 3);
    let requests = h.request_count(aoc_sim::Endpoint::SubscriptionsContent);
    assert!(
        requests > windows as u64,
        "{requests} listing requests for {windows} windows: no NextPageUri was followed"
    );
    assert!(
        listing.blobs.len() > windows * page_size,
        "{} blobs in {windows} windows of {page_size}-entry pages",
        listing.blobs.len()
    );
    let distinct: std::collections::HashSet<_> =
        listing.blobs.iter().map(|b| &b.content_id).collect();
    assert_eq!(distinct.len(), listing.blobs.len());
}
