//! The simulated tenant through its real boundary: HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};

use aoc_sim::{
    ContentType, Endpoint, EventRates, Generator, RunningSim, SimConfig, SimSource, Target,
    record_id, start,
};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GRAPH: &str = "https://graph.microsoft.com/.default";
const MANAGE: &str = "https://manage.office.com/.default";

fn frozen_now() -> DateTime<Utc> {
    // A Wednesday morning, so the office-hours rhythm is in full swing.
    "2026-03-04T10:00:00Z".parse().unwrap()
}

fn config() -> SimConfig {
    SimConfig {
        seed: 7,
        days: 3,
        now: Some(frozen_now()),
        events_per_day: EventRates {
            directory: 300,
            intune: 100,
            unified: 1500,
        },
        page_size: 40,
        content_page_size: 25,
        ..SimConfig::default()
    }
}

struct Client {
    http: reqwest::Client,
    sim: RunningSim,
}

impl Client {
    async fn new(cfg: SimConfig) -> Client {
        let sim = start(cfg).await.unwrap();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        Client { http, sim }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    fn tenant(&self) -> String {
        self.sim.handle.config().tenant_id.clone()
    }

    fn feed(&self, op: &str) -> String {
        self.url(&format!("/api/v1.0/{}/activity/feed/{op}", self.tenant()))
    }

    async fn token_response(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url(&format!("/{}/oauth2/v2.0/token", self.tenant())))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }

    async fn token(&self, scope: &str) -> String {
        let cfg = self.sim.handle.config().clone();
        let (status, body) = self
            .token_response(&[
                ("grant_type", "client_credentials"),
                ("client_id", &cfg.client_id),
                ("client_secret", &cfg.client_secret),
                ("scope", scope),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_u64().unwrap() > 0);
        body["access_token"].as_str().unwrap().to_string()
    }

    async fn get(&self, url: &str, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(url)
            .bearer_auth(token)
            .query(query)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, url: &str, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(url)
            .bearer_auth(token)
            .query(query)
            .send()
            .await
            .unwrap()
    }

    /// Follows `@odata.nextLink` to the end; returns every record in order.
    async fn graph_all(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, &str)],
    ) -> (Vec<Value>, usize) {
        let mut out = Vec::new();
        let mut pages = 0;
        let mut resp = self.get(&self.url(path), token, query).await;
        loop {
            assert_eq!(resp.status(), StatusCode::OK);
            let body: Value = resp.json().await.unwrap();
            pages += 1;
            out.extend(body["value"].as_array().unwrap().iter().cloned());
            match body["@odata.nextLink"].as_str() {
                Some(next) => {
                    assert!(next.starts_with(&self.sim.base_url), "{next}");
                    resp = self.get(next, token, &[]).await;
                }
                None => return (out, pages),
            }
        }
    }

    async fn control(&self, body: Value) -> Value {
        let resp = self
            .http
            .post(self.url("/_sim/control"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }
}

fn time(v: &Value, field: &str) -> DateTime<Utc> {
    v[field].as_str().unwrap().parse().unwrap()
}

fn creation_time(v: &Value) -> DateTime<Utc> {
    format!("{}Z", v["CreationTime"].as_str().unwrap())
        .parse()
        .unwrap()
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[tokio::test]
async fn generator_is_deterministic_per_seed() {
    let a: Vec<_> = Generator::new(99).take_mixed(2000).collect();
    let b: Vec<_> = Generator::new(99).take_mixed(2000).collect();
    let c: Vec<_> = Generator::new(100).take_mixed(2000).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let text = serde_json::to_string(&a).unwrap();
    for needle in [
        "Zoë Šťastná",
        "José Müller",
        "\"Parameters\"",
        "\"modifiedProperties\"",
        "Set-Mailbox",
        "MemberAdded",
        "AzureActiveDirectory",
        "SharingSet",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from generated records"
        );
    }

    // Records in a past window do not depend on when they are asked for.
    let g = Generator::new(5);
    let from = frozen_now() - Duration::days(2);
    let to = frozen_now() - Duration::days(1);
    let first: Vec<Value> = g.records_between(SimSource::Directory, from, to).collect();
    let again: Vec<Value> = Generator::new(5)
        .records_between(SimSource::Directory, from, to)
        .collect();
    assert_eq!(first, again);
    assert_eq!(first.len(), g.count_between(SimSource::Directory, from, to));
    assert!(first.iter().all(|r| {
        let t = time(r, "activityDateTime");
        t >= from && t <= to
    }));

    // Two simulators with the same seed serve the same pages.
    let one = Client::new(config()).await;
    let two = Client::new(config()).await;
    let (t1, t2) = (one.token(GRAPH).await, two.token(GRAPH).await);
    let q = [("$top", "30")];
    let (p1, _) = one
        .graph_all("/v1.0/deviceManagement/auditEvents", &t1, &q)
        .await;
    let (p2, _) = two
        .graph_all("/v1.0/deviceManagement/auditEvents", &t2, &q)
        .await;
    assert_eq!(p1, p2);
}

#[tokio::test]
async fn graph_paging_returns_every_record_once_newest_first() {
    let c = Client::new(config()).await;
    let token = c.token(GRAPH).await;
    let h = &c.sim.handle;
    for (source, path) in [
        (SimSource::Directory, "/v1.0/auditLogs/directoryAudits"),
        (SimSource::Intune, "/v1.0/deviceManagement/auditEvents"),
    ] {
        let (records, pages) = c.graph_all(path, &token, &[]).await;
        let ids: Vec<String> = records
            .iter()
            .map(|r| record_id(source, r).unwrap())
            .collect();
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{source}: duplicates across pages");
        let truth = h.unique_record_ids(source, h.origin(), h.now());
        assert_eq!(ids.len(), truth.len(), "{source}");
        assert_eq!(unique, truth.iter().collect::<HashSet<_>>());
        assert!(
            pages > 1 && pages == ids.len().div_ceil(40),
            "{source}: {pages} pages"
        );
        let times: Vec<_> = records
            .iter()
            .map(|r| time(r, "activityDateTime"))
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "{source}: not newest first"
        );
    }
    assert!(h.request_count(Endpoint::DirectoryAudits) > 1);
}

#[tokio::test]
async fn graph_filter_window_is_honoured() {
    let c = Client::new(config()).await;
    let token = c.token(GRAPH).await;
    let h = &c.sim.handle;
    let from = frozen_now() - Duration::hours(30);
    let to = frozen_now() - Duration::hours(20);
    let filter = format!(
        "activityDateTime ge {} and activityDateTime le {}",
        iso(from),
        iso(to)
    );
    let (records, _) = c
        .graph_all(
            "/v1.0/auditLogs/directoryAudits",
            &token,
            &[("$filter", &filter), ("$top", "17")],
        )
        .await;
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| {
        let t = time(r, "activityDateTime");
        t >= from && t <= to
    }));
    assert_eq!(
        records.len(),
        h.unique_records(SimSource::Directory, from, to)
    );

    // A timestamp copied from a record selects exactly that record.
    let exact = records[3]["activityDateTime"].as_str().unwrap().to_string();
    let only = format!("activityDateTime ge {exact} and activityDateTime le {exact}");
    let (one, _) = c
        .graph_all(
            "/v1.0/auditLogs/directoryAudits",
            &token,
            &[("$filter", &only)],
        )
        .await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["id"], records[3]["id"]);

    for bad in [
        "category eq 'UserManagement'",
        "activityDateTime ge '2026-03-01T00:00:00Z'",
        "activityDateTime ge 2026-03-01",
    ] {
        let resp = c
            .get(
                &c.url("/v1.0/auditLogs/directoryAudits"),
                &token,
                &[("$filter", bad)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "BadRequest");
        assert!(body["error"]["innerError"]["request-id"].is_string());
    }
    for (k, v) in [
        ("$top", "0"),
        ("$top", "5000"),
        ("$skiptoken", "bogus"),
        ("$orderby", "activityDisplayName desc"),
        ("$orderby", "activityDateTime sideways"),
    ] {
        let resp = c
            .get(
                &c.url("/v1.0/deviceManagement/auditEvents"),
                &token,
                &[(k, v)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{k}={v}");
    }
}

/// Asserts Graph's documented error body: `{error: {code, message, innerError: {date,
/// request-id, client-request-id}}}`.
async fn graph_bad_request(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest", "{body}");
    let inner = &body["error"]["innerError"];
    for field in ["date", "request-id", "client-request-id"] {
        assert!(inner[field].is_string(), "{field}: {body}");
    }
    body["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn graph_top_is_capped_at_the_page_size_graph_allows() {
    // Default limits: a thousand records a page, as Graph's audit log lists allow.
    let c = Client::new(SimConfig {
        now: Some(frozen_now()),
        days: 3,
        events_per_day: EventRates {
            directory: 800,
            intune: 500,
            unified: 100,
        },
        ..SimConfig::default()
    })
    .await;
    let token = c.token(GRAPH).await;
    assert_eq!(c.sim.handle.config().max_page_size, 1000);
    for path in [
        "/v1.0/auditLogs/directoryAudits",
        "/v1.0/deviceManagement/auditEvents",
    ] {
        let (records, pages) = c.graph_all(path, &token, &[("$top", "1000")]).await;
        assert!(records.len() > 1000, "{path}: a tenant worth paging");
        assert_eq!(pages, records.len().div_ceil(1000), "{path}");

        let resp = c.get(&c.url(path), &token, &[("$top", "1001")]).await;
        let message = graph_bad_request(resp).await;
        assert!(
            message.contains("$top") && message.contains("1000"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn graph_orderby_activity_date_time_asc_and_desc() {
    let c = Client::new(config()).await;
    let token = c.token(GRAPH).await;
    let path = "/v1.0/auditLogs/directoryAudits";
    let filter = format!(
        "activityDateTime ge {} and activityDateTime le {}",
        iso(frozen_now() - Duration::hours(40)),
        iso(frozen_now() - Duration::hours(10))
    );
    let (desc, _) = c
        .graph_all(
            path,
            &token,
            &[
                ("$filter", filter.as_str()),
                ("$orderby", "activityDateTime desc"),
            ],
        )
        .await;
    let (asc, pages) = c
        .graph_all(
            path,
            &token,
            &[
                ("$filter", filter.as_str()),
                ("$orderby", "activityDateTime asc"),
                ("$top", "23"),
            ],
        )
        .await;
    assert!(pages > 2, "{pages} pages");
    let times: Vec<_> = asc.iter().map(|r| time(r, "activityDateTime")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    let mut reversed = desc.clone();
    reversed.reverse();
    assert_eq!(asc, reversed, "the same records, the other way round");

    // OData's default direction is ascending.
    let (plain, _) = c
        .graph_all(
            path,
            &token,
            &[
                ("$filter", filter.as_str()),
                ("$orderby", "activityDateTime"),
            ],
        )
        .await;
    assert_eq!(plain, asc);

    // A nextLink keeps its ordering; a token from one ordering is refused by the other.
    let first: Value = c
        .get(
            &c.url(path),
            &token,
            &[("$orderby", "activityDateTime asc"), ("$top", "5")],
        )
        .await
        .json()
        .await
        .unwrap();
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(next.contains("$orderby=activityDateTime%20asc"), "{next}");
    let token_param = next.split("$skiptoken=").nth(1).unwrap();
    let resp = c
        .get(
            &c.url(path),
            &token,
            &[
                ("$orderby", "activityDateTime desc"),
                ("$skiptoken", token_param),
            ],
        )
        .await;
    graph_bad_request(resp).await;
}

#[tokio::test]
async fn graph_filter_on_activity_display_name() {
    let c = Client::new(config()).await;
    let token = c.token(GRAPH).await;
    let h = &c.sim.handle;
    let path = "/v1.0/auditLogs/directoryAudits";
    let (from, to) = (frozen_now() - Duration::hours(48), frozen_now());
    let range = format!(
        "activityDateTime ge {} and activityDateTime le {}",
        iso(from),
        iso(to)
    );
    let truth: Vec<Value> = h
        .generator()
        .records_between(SimSource::Directory, from, to)
        .collect();
    let name_of = |r: &Value| r["activityDisplayName"].as_str().unwrap().to_string();
    let ids_where = |keep: &dyn Fn(&str) -> bool| -> HashSet<String> {
        truth
            .iter()
            .filter(|r| keep(&name_of(r)))
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let ids = |records: &[Value]| -> HashSet<String> {
        records
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };

    let name = name_of(&truth[0]);
    let eq = format!("{range} and activityDisplayName eq '{name}'");
    let (records, _) = c
        .graph_all(path, &token, &[("$filter", eq.as_str()), ("$top", "7")])
        .await;
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| name_of(r) == name));
    assert_eq!(ids(&records), ids_where(&|n| n == name));

    let starts = format!("startswith(activityDisplayName, 'Add ') and ({range})");
    let (records, _) = c
        .graph_all(path, &token, &[("$filter", starts.as_str())])
        .await;
    let expected = ids_where(&|n| n.starts_with("Add "));
    assert!(expected.len() > 10 && expected.len() < truth.len());
    assert_eq!(ids(&records), expected);
    assert!(records.iter().all(|r| {
        let t = time(r, "activityDateTime");
        t >= from && t <= to
    }));

    // Nothing matches: an empty page, not an error.
    let none = format!("activityDisplayName eq 'No such activity' and {range}");
    let (records, pages) = c
        .graph_all(path, &token, &[("$filter", none.as_str())])
        .await;
    assert_eq!((records.len(), pages), (0, 1));

    // Refused input gets Graph's error body.
    for bad in [
        "activityDisplayName eq Add",
        "activityDisplayName ne 'Add user'",
        "startswith(activityDisplayName, 'Add') or activityDisplayName eq 'Add user'",
    ] {
        let resp = c.get(&c.url(path), &token, &[("$filter", bad)]).await;
        let message = graph_bad_request(resp).await;
        assert!(
            message.starts_with("Invalid filter clause"),
            "{bad}: {message}"
        );
    }
    // An Intune auditEvent has no activityDisplayName.
    let resp = c
        .get(
            &c.url("/v1.0/deviceManagement/auditEvents"),
            &token,
            &[("$filter", "activityDisplayName eq 'Add user'")],
        )
        .await;
    let message = graph_bad_request(resp).await;
    assert!(
        message.contains("activityDisplayName") && message.contains("auditEvent"),
        "{message}"
    );
}

#[tokio::test]
async fn records_keep_arriving_as_time_passes() {
    let c = Client::new(config()).await;
    let token = c.token(GRAPH).await;
    let h = &c.sim.handle;
    let before = h.unique_records(SimSource::Directory, h.origin(), h.now());
    h.advance(Duration::hours(3));
    let after = h.unique_records(SimSource::Directory, h.origin(), h.now());
    assert!(after > before);
    let (records, _) = c
        .graph_all(
            "/v1.0/auditLogs/directoryAudits",
            &token,
            &[("$top", "500")],
        )
        .await;
    assert_eq!(records.len(), after);
    assert!(time(&records[0], "activityDateTime") > frozen_now());
    // Nothing in the future.
    assert!(
        records
            .iter()
            .all(|r| time(r, "activityDateTime") <= h.now())
    );
}

#[tokio::test]
async fn login_checks_credentials_scope_and_tenant() {
    let c = Client::new(config()).await;
    let cfg = c.sim.handle.config().clone();
    let (status, body) = c
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cfg.client_id),
            ("client_secret", "wrong"),
            ("scope", GRAPH),
        ])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:")
    );
    assert!(!body.to_string().contains(&cfg.client_secret));

    let (status, body) = c
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cfg.client_id),
            ("client_secret", &cfg.client_secret),
            ("scope", "https://graph.microsoft.com/AuditLog.Read.All"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");

    let (status, body) = c
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", "11111111-1111-1111-1111-111111111111"),
            ("client_secret", &cfg.client_secret),
            ("scope", GRAPH),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");

    let (status, body) = c.token_response(&[("grant_type", "password")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");

    let resp = c
        .http
        .post(c.url("/22222222-2222-2222-2222-222222222222/oauth2/v2.0/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_codes"], json!([90002]));

    // The simulator's own base URL is accepted as a resource and works on both APIs.
    let own = c.token(&format!("{}/.default", c.sim.base_url)).await;
    let resp = c
        .get(
            &c.url("/v1.0/auditLogs/directoryAudits"),
            &own,
            &[("$top", "1")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = c.get(&c.feed("subscriptions/list"), &own, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(c.sim.handle.request_count(Endpoint::Token), 6);
}

#[tokio::test]
async fn login_accepts_client_secret_basic() {
    use base64::Engine;
    let c = Client::new(config()).await;
    let cfg = c.sim.handle.config().clone();
    let token_url = c.url(&format!("/{}/oauth2/v2.0/token", c.tenant()));
    let post = |authorization: Option<String>, form: Vec<(&'static str, String)>| {
        let mut req = c.http.post(&token_url).form(&form);
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string());
            (status, challenge, resp.json::<Value>().await.unwrap())
        }
    };
    // RFC 6749 2.3.1: each part form-urlencoded, then `id:secret` in base64.
    let basic = |id: &str, secret: &str| {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                enc(id),
                enc(secret)
            ))
        )
    };
    let grant = || {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("scope", GRAPH.to_string()),
        ]
    };

    let (status, _, body) = post(Some(basic(&cfg.client_id, &cfg.client_secret)), grant()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap();
    let resp = c
        .get(
            &c.url("/v1.0/auditLogs/directoryAudits"),
            token,
            &[("$top", "1")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // The client id may be repeated in the body, as long as it is the same one.
    let mut with_id = grant();
    with_id.push(("client_id", cfg.client_id.to_uppercase()));
    let (status, _, body) = post(Some(basic(&cfg.client_id, &cfg.client_secret)), with_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A wrong secret: 401 invalid_client, challenged in the scheme the client used.
    let (status, challenge, body) = post(Some(basic(&cfg.client_id, "wrong")), grant()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    assert!(challenge.unwrap().starts_with("Basic realm="));

    // A header that is not Basic credentials.
    let (status, challenge, body) = post(Some("Basic not-base64!".into()), grant()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(challenge.is_some());

    // One authentication method per request (RFC 6749 2.3).
    let mut both = grant();
    both.push(("client_secret", cfg.client_secret.clone()));
    let (status, _, body) = post(Some(basic(&cfg.client_id, &cfg.client_secret)), both).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let mut other_id = grant();
    other_id.push(("client_id", "11111111-1111-1111-1111-111111111111".into()));
    let (status, _, body) = post(Some(basic(&cfg.client_id, &cfg.client_secret)), other_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS9002313:"),
        "{body}"
    );

    // client_secret_post still works, and its 401 carries no Basic challenge.
    let mut post_form = grant();
    post_form.push(("client_id", cfg.client_id.clone()));
    post_form.push(("client_secret", "wrong".into()));
    let (status, challenge, _) = post(None, post_form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.is_none());
}

#[tokio::test]
async fn tokens_are_checked_for_audience_and_revocation() {
    let c = Client::new(config()).await;
    let graph = c.token(GRAPH).await;
    let manage = c.token(MANAGE).await;

    let resp = c.get(&c.feed("subscriptions/list"), &graph, &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let resp = c
        .get(&c.url("/v1.0/auditLogs/directoryAudits"), &manage, &[])
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");

    let resp = c
        .http
        .get(c.url("/v1.0/auditLogs/directoryAudits"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = c
        .get(
            &c.url("/v1.0/auditLogs/directoryAudits"),
            "sim1.forged.token",
            &[],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let resp = c.get(&c.feed("subscriptions/list"), &manage, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Another tenant in the path.
    let other =
        c.url("/api/v1.0/33333333-3333-3333-3333-333333333333/activity/feed/subscriptions/list");
    let resp = c.get(&other, &manage, &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20010");

    c.sim.handle.revoke_tokens();
    let resp = c.get(&c.feed("subscriptions/list"), &manage, &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let fresh = c.token(MANAGE).await;
    let resp = c.get(&c.feed("subscriptions/list"), &fresh, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn get_by_ids_resolves_ids_seen_in_records() {
    let c = Client::new(config()).await;
    let token = c.token(GRAPH).await;
    let (records, _) = c
        .graph_all(
            "/v1.0/auditLogs/directoryAudits",
            &token,
            &[("$top", "500")],
        )
        .await;
    // Actors given only by id: a client must resolve them.
    let id_only: Vec<String> = records
        .iter()
        .filter_map(|r| {
            let u = &r["initiatedBy"]["user"];
            (u.is_object() && u["userPrincipalName"].is_null())
                .then(|| u["id"].as_str().unwrap().to_string())
        })
        .collect();
    let sp_only: Vec<String> = records
        .iter()
        .filter_map(|r| {
            let a = &r["initiatedBy"]["app"];
            (a.is_object() && a["displayName"].is_null())
                .then(|| a["servicePrincipalId"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(!id_only.is_empty() && !sp_only.is_empty());
    assert!(records.iter().any(|r| {
        let u = &r["initiatedBy"]["user"];
        u.is_object() && u["displayName"].is_null() && u["userPrincipalName"].is_string()
    }));
    let mp = records
        .iter()
        .flat_map(|r| r["targetResources"].as_array().unwrap().iter())
        .flat_map(|t| t["modifiedProperties"].as_array().unwrap().iter())
        .find(|m| m["newValue"].is_string())
        .unwrap();
    // oldValue/newValue are JSON encoded inside strings.
    assert!(serde_json::from_str::<Value>(mp["newValue"].as_str().unwrap()).is_ok());

    let group = records
        .iter()
        .flat_map(|r| r["targetResources"].as_array().unwrap().iter())
        .find(|t| t["type"] == "Group")
        .map(|t| t["id"].as_str().unwrap().to_string())
        .unwrap();
    let mut ids: Vec<String> = id_only.iter().chain(sp_only.iter()).cloned().collect();
    ids.push(group.clone());
    ids.sort();
    ids.dedup();
    let resp = c
        .http
        .post(c.url("/v1.0/directoryObjects/getByIds"))
        .bearer_auth(&token)
        .json(&json!({ "ids": ids, "types": ["user", "group", "servicePrincipal"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let found: HashMap<String, Value> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_string(), o.clone()))
        .collect();
    assert_eq!(found[&group]["@odata.type"], "#microsoft.graph.group");
    // A few service principals were deleted since their record: getByIds omits them.
    let resolved_sps = sp_only.iter().filter(|id| found.contains_key(*id)).count();
    assert!(resolved_sps > 0);
    for sp in &sp_only {
        if let Some(o) = found.get(sp) {
            assert_eq!(o["@odata.type"], "#microsoft.graph.servicePrincipal");
            assert!(o["displayName"].is_string());
        }
    }
    let resolved_users = id_only.iter().filter(|id| found.contains_key(*id)).count();
    assert!(resolved_users > 0);
    for id in &id_only {
        if let Some(u) = found.get(id) {
            assert_eq!(u["@odata.type"], "#microsoft.graph.user");
            assert!(u["userPrincipalName"].is_string());
        }
    }

    // Restricting types filters; bad bodies are Graph errors.
    let resp = c
        .http
        .post(c.url("/v1.0/directoryObjects/getByIds"))
        .bearer_auth(&token)
        .json(&json!({ "ids": [group], "types": ["user"] }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["value"], json!([]));
    let resp = c
        .http
        .post(c.url("/v1.0/directoryObjects/getByIds"))
        .bearer_auth(&token)
        .json(&json!({ "ids": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn management_subscription_and_window_rules() {
    let c = Client::new(config()).await;
    let token = c.token(MANAGE).await;
    let now = frozen_now();
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ct = [("contentType", "Audit.Exchange")];

    let resp = c.get(&c.feed("subscriptions/content"), &token, &ct).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20022");

    let start_q = [
        ("contentType", "Audit.Exchange"),
        (
            "PublisherIdentifier",
            "46b472a7-c68e-4adf-8ade-3db49497518e",
        ),
    ];
    let resp = c
        .post(&c.feed("subscriptions/start"), &token, &start_q)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "contentType": "Audit.Exchange", "status": "enabled", "webhook": null })
    );
    let resp = c
        .post(&c.feed("subscriptions/start"), &token, &start_q)
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20024");
    let resp = c
        .post(
            &c.feed("subscriptions/start"),
            &token,
            &[("contentType", "Audit.Nope")],
        )
        .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20020");

    let resp = c.get(&c.feed("subscriptions/list"), &token, &[]).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!([{ "contentType": "Audit.Exchange", "status": "enabled", "webhook": null }])
    );

    let rejected = [
        vec![
            ("startTime", fmt(now - Duration::hours(25))),
            ("endTime", fmt(now)),
        ],
        vec![("startTime", fmt(now - Duration::hours(2)))],
        vec![("endTime", fmt(now))],
        vec![
            ("startTime", fmt(now - Duration::days(8))),
            ("endTime", fmt(now - Duration::days(7) - Duration::hours(1))),
        ],
        vec![
            ("startTime", fmt(now)),
            ("endTime", fmt(now - Duration::hours(1))),
        ],
    ];
    for window in rejected {
        let mut q: Vec<(&str, &str)> = vec![("contentType", "Audit.Exchange")];
        q.extend(window.iter().map(|(k, v)| (*k, v.as_str())));
        let resp = c.get(&c.feed("subscriptions/content"), &token, &q).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{q:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "AF20055", "{q:?}");
    }
    // Exactly 24 hours, in the documented date formats, is fine.
    for (s, e) in [
        (fmt(now - Duration::hours(24)), fmt(now)),
        ("2026-03-03".to_string(), "2026-03-04".to_string()),
        (
            "2026-03-03T10:00".to_string(),
            "2026-03-04T09:00".to_string(),
        ),
    ] {
        let q = [
            ("contentType", "Audit.Exchange"),
            ("startTime", s.as_str()),
            ("endTime", e.as_str()),
        ];
        let resp = c.get(&c.feed("subscriptions/content"), &token, &q).await;
        assert_eq!(resp.status(), StatusCode::OK, "{s} {e}");
    }
    let resp = c
        .get(
            &c.feed("subscriptions/content"),
            &token,
            &[("contentType", "Audit.Exchange"), ("nextPage", "x")],
        )
        .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20031");

    c.sim.handle.disable_subscription(ContentType::Exchange);
    let resp = c.get(&c.feed("subscriptions/content"), &token, &ct).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20023");
    let resp = c.post(&c.feed("subscriptions/stop"), &token, &ct).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = c.get(&c.feed("subscriptions/content"), &token, &ct).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20022");
}

#[tokio::test]
async fn management_content_pages_and_blobs_match_ground_truth() {
    let mut cfg = config();
    cfg.subscriptions = ContentType::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    let c = Client::new(cfg).await;
    let token = c.token(MANAGE).await;
    let h = &c.sim.handle;
    let now = h.now();

    let mut unique = HashSet::new();
    let mut deliveries = 0usize;
    let mut content_ids = HashSet::new();
    let mut late = 0usize;
    let mut paged = false;
    let mut sample_blob = None;
    for ct in ContentType::ALL {
        let mut window_start = h.origin();
        while window_start < now {
            let window_end = (window_start + Duration::hours(24)).min(now + Duration::hours(1));
            let (s, e) = (
                window_start.format("%Y-%m-%dT%H:%M:%S").to_string(),
                window_end.format("%Y-%m-%dT%H:%M:%S").to_string(),
            );
            let q = [
                ("contentType", ct.as_str()),
                ("startTime", s.as_str()),
                ("endTime", e.as_str()),
                (
                    "PublisherIdentifier",
                    "46b472a7-c68e-4adf-8ade-3db49497518e",
                ),
            ];
            let mut resp = c.get(&c.feed("subscriptions/content"), &token, &q).await;
            loop {
                assert_eq!(resp.status(), StatusCode::OK);
                let next = resp
                    .headers()
                    .get("NextPageUri")
                    .map(|v| v.to_str().unwrap().to_string());
                let page: Vec<Value> = resp.json().await.unwrap();
                assert!(page.len() <= 25);
                for entry in page {
                    let created = time(&entry, "contentCreated");
                    assert!(created >= window_start && created < window_end && created <= now);
                    assert_eq!(entry["contentType"], ct.as_str());
                    assert!(
                        content_ids.insert(entry["contentId"].as_str().unwrap().to_string()),
                        "listed twice"
                    );
                    let uri = entry["contentUri"].as_str().unwrap();
                    assert!(uri.starts_with(&c.sim.base_url));
                    let blob = c.get(uri, &token, &[]).await;
                    assert_eq!(blob.status(), StatusCode::OK);
                    let records: Vec<Value> = blob.json().await.unwrap();
                    assert!(!records.is_empty());
                    sample_blob.get_or_insert_with(|| uri.to_string());
                    for r in records {
                        let t = creation_time(&r);
                        assert!(created - t >= Duration::minutes(59), "published too early");
                        if created - t > Duration::days(2) {
                            late += 1;
                        }
                        deliveries += 1;
                        unique.insert((
                            r["OrganizationId"].as_str().unwrap().to_string(),
                            r["Id"].as_str().unwrap().to_string(),
                        ));
                    }
                }
                match next {
                    Some(uri) => {
                        paged = true;
                        assert!(uri.contains("nextPage=") && uri.contains("PublisherIdentifier="));
                        resp = c.get(&uri, &token, &[]).await;
                    }
                    None => break,
                }
            }
            window_start = window_end;
        }
    }
    assert!(paged, "no NextPageUri seen");
    let truth: HashSet<_> = h
        .unique_record_ids(SimSource::Unified, h.origin(), now)
        .into_iter()
        .map(|id| (h.config().tenant_id.clone(), id))
        .collect();
    assert_eq!(unique, truth);
    assert!(deliveries > unique.len(), "no duplicate deliveries");
    assert!(late > 0, "no late records");
    // Late records whose blob is not out yet are not in the ground truth.
    let all_records = h
        .generator()
        .count_between(SimSource::Unified, h.origin(), now);
    assert!(truth.len() < all_records);

    // Content expires after seven days.
    let uri = sample_blob.unwrap();
    h.advance(Duration::days(8));
    let resp = c.get(&uri, &token, &[]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20051");
    let bad = c.feed("audit/not-a-content-id");
    let resp = c.get(&bad, &token, &[]).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF20052");
}

#[tokio::test]
async fn management_listing_pages_with_the_default_page_size() {
    // The demo tenant's settings: a day of one content type takes more than one page.
    let c = Client::new(SimConfig {
        now: Some(frozen_now()),
        subscriptions: vec!["Audit.Exchange".into()],
        ..SimConfig::default()
    })
    .await;
    let token = c.token(MANAGE).await;
    let page_size = c.sim.handle.config().content_page_size;
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let (start, end) = (fmt(frozen_now() - Duration::hours(24)), fmt(frozen_now()));
    let resp = c
        .get(
            &c.feed("subscriptions/content"),
            &token,
            &[
                ("contentType", "Audit.Exchange"),
                ("startTime", start.as_str()),
                ("endTime", end.as_str()),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let next = resp
        .headers()
        .get("NextPageUri")
        .expect("a full day does not fit one page")
        .to_str()
        .unwrap()
        .to_string();
    let first: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(first.len(), page_size);
    assert!(next.starts_with(&c.feed("subscriptions/content")), "{next}");
    let resp = c.get(&next, &token, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let second: Vec<Value> = resp.json().await.unwrap();
    assert!(!second.is_empty());
    assert!(second.iter().all(|b| !first.contains(b)));
}

#[tokio::test]
async fn content_becomes_available_hours_after_its_records() {
    let mut cfg = config();
    cfg.subscriptions = vec!["Audit.SharePoint".into()];
    let c = Client::new(cfg).await;
    let token = c.token(MANAGE).await;
    let h = &c.sim.handle;
    let recent = Duration::minutes(50);
    let before = h.unique_records(SimSource::Unified, h.now() - recent, h.now());
    assert_eq!(before, 0, "content can't be published within the hour");
    // Omitting both times lists the last 24 hours.
    let resp = c
        .get(
            &c.feed("subscriptions/content"),
            &token,
            &[("contentType", "Audit.SharePoint")],
        )
        .await;
    let listed: Vec<Value> = resp.json().await.unwrap();
    assert!(!listed.is_empty());
    assert!(
        listed
            .iter()
            .all(|e| time(e, "contentCreated") >= h.now() - Duration::hours(24))
    );
    h.advance(Duration::hours(3));
    assert!(h.unique_records(SimSource::Unified, frozen_now() - recent, frozen_now()) > 0);
}

#[tokio::test]
async fn throttling_outage_and_failing_source_switches() {
    let mut cfg = config();
    cfg.subscriptions = vec!["Audit.Exchange".into()];
    let c = Client::new(cfg).await;
    let h = &c.sim.handle;
    let graph = c.token(GRAPH).await;
    let manage = c.token(MANAGE).await;
    let audits = c.url("/v1.0/auditLogs/directoryAudits");
    let events = c.url("/v1.0/deviceManagement/auditEvents");

    h.throttle(Target::Graph, 2, Some(7));
    for _ in 0..2 {
        let resp = c.get(&audits, &graph, &[]).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()["retry-after"], "7");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "TooManyRequests");
    }
    assert_eq!(c.get(&audits, &graph, &[]).await.status(), StatusCode::OK);

    // Intune sometimes throttles without saying for how long.
    h.throttle(Target::Intune, 1, None);
    let resp = c.get(&audits, &graph, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK, "directory is not targeted");
    let resp = c.get(&events, &graph, &[]).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(!resp.headers().contains_key("retry-after"));

    h.throttle(Target::Management, 1, None);
    let resp = c
        .get(
            &c.feed("subscriptions/list"),
            &manage,
            &[("PublisherIdentifier", "abc")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AF429");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PublisherId=abc")
    );

    h.unavailable(Target::Any, 1, Some(2));
    let resp = c.get(&c.feed("subscriptions/list"), &manage, &[]).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_eq!(
        c.get(&c.feed("subscriptions/list"), &manage, &[])
            .await
            .status(),
        StatusCode::OK
    );

    h.fail(Target::Intune, 500);
    for _ in 0..3 {
        let resp = c.get(&events, &graph, &[]).await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = resp.json().await.unwrap();
        assert!(body["error"]["code"].is_string());
    }
    assert_eq!(c.get(&audits, &graph, &[]).await.status(), StatusCode::OK);
    h.fail(Target::Intune, 403);
    assert_eq!(
        c.get(&events, &graph, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    h.clear_failure(Target::Intune);
    assert_eq!(c.get(&events, &graph, &[]).await.status(), StatusCode::OK);

    h.throttle(Target::Login, 1, Some(1));
    let cfg = h.config().clone();
    let (status, body) = c
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cfg.client_id),
            ("client_secret", &cfg.client_secret),
            ("scope", GRAPH),
        ])
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["error"].is_string());

    let counts = h.request_counts();
    assert_eq!(counts[&Endpoint::DirectoryAudits], 5);
    assert_eq!(counts[&Endpoint::AuditEvents], 6);
    assert_eq!(counts[&Endpoint::SubscriptionsList], 3);
    h.reset_counts();
    assert_eq!(h.request_count(Endpoint::DirectoryAudits), 0);
}

#[tokio::test]
async fn control_endpoint_drives_the_same_switches() {
    let c = Client::new(config()).await;
    let graph = c.token(GRAPH).await;
    let audits = c.url("/v1.0/auditLogs/directoryAudits");

    let state = c
        .control(json!({
            "throttle": { "target": "directory", "count": 1, "retry_after_secs": 3 },
            "unavailable": { "target": "graph", "count": 1 },
            "start_subscription": "Audit.General",
        }))
        .await;
    assert_eq!(state["pending_faults"].as_array().unwrap().len(), 2);
    assert_eq!(state["subscriptions"]["Audit.General"], "enabled");
    assert_eq!(state["frozen"], true);

    let first = c.get(&audits, &graph, &[]).await;
    assert_eq!(first.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(first.headers()["retry-after"], "3");
    let second = c.get(&audits, &graph, &[]).await;
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!second.headers().contains_key("retry-after"));
    assert_eq!(c.get(&audits, &graph, &[]).await.status(), StatusCode::OK);

    c.control(json!({ "fail": { "target": "graph", "status": 500 } }))
        .await;
    assert_eq!(
        c.get(&audits, &graph, &[]).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let state = c
        .control(json!({ "clear_fail": "graph", "advance_secs": 3600, "reset_counts": true }))
        .await;
    assert_eq!(state["counts"], json!({}));
    let now: DateTime<Utc> = state["now"].as_str().unwrap().parse().unwrap();
    assert_eq!(now, frozen_now() + Duration::hours(1));

    let truth: Value = c
        .http
        .get(c.url("/_sim/truth"))
        .query(&[("source", "directory"), ("ids", "true")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (records, _) = c
        .graph_all(
            "/v1.0/auditLogs/directoryAudits",
            &graph,
            &[("$top", "999")],
        )
        .await;
    assert_eq!(truth["count"].as_u64().unwrap() as usize, records.len());

    let resp = c
        .http
        .post(c.url("/_sim/control"))
        .json(&json!({ "explode": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn router_works_without_a_configured_base_url() {
    // `router()` on its own takes link bases from the Host header.
    use aoc_sim::{SimHandle, serve_handle};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = SimHandle::new(config()).unwrap();
    assert!(handle.base_url().is_none());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_handle(listener, handle, async move {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    let cfg = config();
    let token: Value = http
        .post(format!("http://{addr}/{}/oauth2/v2.0/token", cfg.tenant_id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.as_str()),
            ("scope", GRAPH),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body: Value = http
        .get(format!("http://{addr}/v1.0/auditLogs/directoryAudits"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["@odata.nextLink"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{addr}/"))
    );
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
