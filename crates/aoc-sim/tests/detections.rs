//! Planted detection positives and near misses (docs/DETECTIONS.md): coverage of the catalogue,
//! agreement with an independent reading of each rule, bursts, serving, determinism and the
//! `GET /_sim/detections` route.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use aoc_sim::{
    ContentType, EventRates, Expected, Generator, PlantedDetection, SimConfig, SimSource,
    record_id, start,
};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

const CATALOGUE: &str = include_str!("../../../docs/DETECTIONS.md");

/// Rule ids from the catalogue table, in order.
fn catalogue_ids() -> Vec<String> {
    CATALOGUE
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

fn week() -> (DateTime<Utc>, DateTime<Utc>) {
    let from: DateTime<Utc> = "2026-03-02T00:00:00Z".parse().unwrap();
    (from, from + Duration::days(7) - Duration::nanoseconds(100))
}

const PRIVILEGED: &[&str] = &[
    "Global Administrator",
    "Privileged Role Administrator",
    "Privileged Authentication Administrator",
    "Security Administrator",
    "Exchange Administrator",
    "SharePoint Administrator",
    "User Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
    "Conditional Access Administrator",
    "Authentication Administrator",
    "Intune Administrator",
    "Hybrid Identity Administrator",
];

const HIGH_SCOPES: &[&str] = &[
    "Mail.ReadWrite",
    "Mail.Send",
    "Files.ReadWrite.All",
    "Sites.FullControl.All",
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "Application.ReadWrite.All",
    "full_access_as_app",
];

/// No `ALERTS_INTERNAL_DOMAINS`: only the actor's own domain is inside.
const INTERNAL: &[&str] = &[];

/// A JSON-text value (`"\"Global Administrator\""`) decoded to its string, or the raw text.
fn decoded(v: &Value) -> String {
    let raw = v.as_str().unwrap_or_default();
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::String(s)) => s,
        _ => raw.to_string(),
    }
}

fn graph_props(rec: &Value) -> Vec<(String, String)> {
    rec["targetResources"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| {
            t["modifiedProperties"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|p| {
            (
                p["displayName"].as_str().unwrap_or_default().to_string(),
                decoded(&p["newValue"]),
            )
        })
        .collect()
}

fn external(address: &str, actor: &str) -> bool {
    let address = address.trim().trim_start_matches("smtp:");
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let domain = domain.to_ascii_lowercase();
    let own = actor
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default();
    !INTERNAL.contains(&domain.as_str()) && domain != own
}

/// An independent reading of the single-record rules of docs/DETECTIONS.md: which rule, if any,
/// this record fires.
fn fires(source: SimSource, rec: &Value) -> Option<&'static str> {
    match source {
        SimSource::Directory => {
            let name = rec["activityDisplayName"].as_str()?;
            let props = graph_props(rec);
            let prop = |n: &str| props.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            match name {
                "Add member to role" | "Add member to role completed (PIM activation)" => {
                    prop("Role.DisplayName")
                        .filter(|r| PRIVILEGED.contains(&r.as_str()))
                        .map(|_| "privileged-role-assigned")
                }
                "Consent to application" => {
                    let admin = prop("ConsentContext.IsAdminConsent").as_deref() == Some("True");
                    let perms = prop("ConsentAction.Permissions").unwrap_or_default();
                    let high = perms
                        .split(|c: char| c.is_whitespace() || c == ',' || c == ']')
                        .any(|w| HIGH_SCOPES.contains(&w));
                    (admin || high).then_some("consent-to-application")
                }
                "Add service principal credentials"
                | "Update application – Certificates and secrets management " => {
                    Some("app-credentials-added")
                }
                "Delete conditional access policy" => Some("conditional-access-weakened"),
                "Update conditional access policy" => props
                    .iter()
                    .any(|(_, v)| v.contains("\"state\":\"disabled\""))
                    .then_some("conditional-access-weakened"),
                "Admin deleted security info" => Some("auth-methods-reset"),
                "Update user" => props
                    .iter()
                    .any(|(k, _)| k == "StrongAuthenticationMethod")
                    .then_some("auth-methods-reset"),
                _ => None,
            }
        }
        SimSource::Intune => matches!(
            rec["activity"].as_str()?,
            "wipe ManagedDevice" | "retire ManagedDevice"
        )
        .then_some("intune-wipe-retire"),
        SimSource::Unified => {
            let op = rec["Operation"].as_str()?;
            let actor = rec["UserId"].as_str().unwrap_or_default();
            let params: HashMap<&str, &str> = rec["Parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p["Name"].as_str()?, p["Value"].as_str()?)))
                .collect();
            let forwards = |names: &[&str]| {
                names
                    .iter()
                    .filter_map(|n| params.get(n))
                    .any(|v| v.split([',', ';']).any(|a| external(a, actor)))
            };
            match op {
                "Add member to role." => rec["ModifiedProperties"]
                    .as_array()?
                    .iter()
                    .any(|p| {
                        p["Name"] == "Role.DisplayName"
                            && PRIVILEGED.contains(&p["NewValue"].as_str().unwrap_or_default())
                    })
                    .then_some("privileged-role-assigned"),
                "Set-Mailbox" if forwards(&["ForwardingSmtpAddress", "ForwardingAddress"]) => {
                    Some("mail-forwarding-external")
                }
                "Set-Mailbox" if params.get("AuditEnabled") == Some(&"False") => {
                    Some("audit-logging-disabled")
                }
                "New-InboxRule" | "Set-InboxRule"
                    if forwards(&["ForwardTo", "ForwardAsAttachmentTo", "RedirectTo"]) =>
                {
                    Some("mail-forwarding-external")
                }
                "Add-MailboxPermission"
                    if params
                        .get("AccessRights")
                        .is_some_and(|v| v.contains("FullAccess")) =>
                {
                    Some("mailbox-permission-granted")
                }
                "Add-RecipientPermission" if params.get("AccessRights") == Some(&"SendAs") => {
                    Some("mailbox-permission-granted")
                }
                "Set-AdminAuditLogConfig"
                    if params.get("UnifiedAuditLogIngestionEnabled") == Some(&"False") =>
                {
                    Some("audit-logging-disabled")
                }
                "New-TransportRule" => Some("transport-rule-created"),
                "AnonymousLinkCreated" => Some("anonymous-link-created"),
                _ => None,
            }
        }
    }
}

fn is_download(op: &str) -> bool {
    matches!(op, "FileDownloaded" | "FileSyncDownloadedFull")
}

fn is_delete(op: &str) -> bool {
    matches!(op, "FileDeleted" | "FileRecycled")
}

/// Most records one actor has within any 10 minutes, per actor, for operations `pick` selects.
fn densest(records: &[Value], pick: fn(&str) -> bool) -> HashMap<String, usize> {
    let mut times: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for r in records {
        if pick(r["Operation"].as_str().unwrap_or_default()) {
            let t = format!("{}Z", r["CreationTime"].as_str().unwrap())
                .parse()
                .unwrap();
            times
                .entry(r["UserId"].as_str().unwrap_or_default().to_string())
                .or_default()
                .push(t);
        }
    }
    times
        .into_iter()
        .map(|(actor, mut ts)| {
            ts.sort();
            let mut best = 0;
            let mut lo = 0;
            for hi in 0..ts.len() {
                while ts[hi] - ts[lo] > Duration::minutes(10) {
                    lo += 1;
                }
                best = best.max(hi - lo + 1);
            }
            (actor, best)
        })
        .collect()
}

fn all_records(g: &Generator, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(SimSource, Value)> {
    SimSource::ALL
        .into_iter()
        .flat_map(|s| g.records_between(s, from, to).map(move |r| (s, r)))
        .collect()
}

#[test]
fn every_catalogue_rule_has_positives_and_near_misses_in_a_week() {
    let ids = catalogue_ids();
    assert_eq!(ids.len(), 13, "{ids:?}");
    let (from, to) = week();
    for seed in [42, 1, 2, 3] {
        let planted = Generator::new(seed).detections_between(from, to);
        for id in &ids {
            for expected in [Expected::Positive, Expected::Negative] {
                assert!(
                    planted
                        .iter()
                        .any(|d| &d.rule_id == id && d.expected == expected),
                    "seed {seed}: no {expected:?} for {id}"
                );
            }
        }
        let known: HashSet<_> = ids.iter().collect();
        assert!(planted.iter().all(|d| known.contains(&d.rule_id)));
    }
}

#[test]
fn planted_records_agree_with_the_rules_and_nothing_else_fires() {
    let g = Generator::new(42);
    let (from, to) = week();
    let planted = g.detections_between(from, to);
    let by_id: HashMap<(SimSource, &str), &PlantedDetection> = planted
        .iter()
        .map(|d| ((d.source, d.record_id.as_str()), d))
        .collect();
    let records = all_records(&g, from, to);
    let mut seen = HashSet::new();
    for (source, rec) in &records {
        let id = record_id(*source, rec).unwrap();
        let plant = by_id.get(&(*source, id.as_str()));
        if plant.is_some() {
            seen.insert((*source, id.clone()));
        }
        let fired = fires(*source, rec);
        match (plant, fired) {
            (Some(p), fired) if p.group.is_none() => match p.expected {
                Expected::Positive => assert_eq!(fired, Some(p.rule_id.as_str()), "{rec}"),
                Expected::Negative => assert_eq!(fired, None, "{rec}"),
            },
            (_, Some(rule)) => panic!("unplanted record fires {rule}: {rec}"),
            _ => {}
        }
    }
    // Every planted record is one of the records served in the range.
    assert_eq!(seen.len(), planted.len());

    // Thresholds: only positive bursts reach 50 in 10 minutes, and each of them does.
    let unified: Vec<Value> = records
        .iter()
        .filter(|(s, _)| *s == SimSource::Unified)
        .map(|(_, r)| r.clone())
        .collect();
    for (rule, pick) in [
        ("mass-download", is_download as fn(&str) -> bool),
        ("mass-delete", is_delete),
    ] {
        let dense = densest(&unified, pick);
        let groups = |expected| -> BTreeSet<String> {
            planted
                .iter()
                .filter(|d| d.rule_id == rule && d.expected == expected)
                .filter_map(|d| d.group.clone())
                .collect()
        };
        let (positive, negative) = (groups(Expected::Positive), groups(Expected::Negative));
        assert!(!positive.is_empty() && !negative.is_empty(), "{rule}");
        for actor in &negative {
            assert!(
                dense[actor] < 50,
                "{rule} near miss {actor}: {}",
                dense[actor]
            );
        }
        for (actor, n) in &dense {
            if *n >= 50 {
                assert!(positive.contains(actor), "{rule}: {actor} {n} unplanted");
            }
        }
        for actor in &positive {
            assert!(dense[actor] >= 50, "{rule} {actor}: {}", dense[actor]);
        }
    }
}

#[test]
fn bursts_are_one_actor_and_the_right_size() {
    let g = Generator::new(9);
    let (from, to) = week();
    let planted = g.detections_between(from, to);
    let mut bursts: BTreeMap<(String, String, DateTime<Utc>), Vec<&PlantedDetection>> =
        BTreeMap::new();
    for d in planted.iter().filter(|d| d.group.is_some()) {
        assert_eq!(d.source, SimSource::Unified);
        // Bursts of one actor and rule are hours apart: group them by day.
        let day = d.time.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
        bursts
            .entry((d.rule_id.clone(), d.group.clone().unwrap(), day))
            .or_default()
            .push(d);
    }
    let records: HashMap<String, Value> = g
        .records_between(SimSource::Unified, from, to)
        .map(|r| (record_id(SimSource::Unified, &r).unwrap(), r))
        .collect();
    let mut positives = 0;
    for ((rule, actor, _), members) in &bursts {
        let expected = members[0].expected;
        assert!(members.iter().all(|m| m.expected == expected));
        for m in members {
            let r = &records[&m.record_id];
            assert_eq!(r["UserId"].as_str(), Some(actor.as_str()));
            let op = r["Operation"].as_str().unwrap();
            assert!(
                if rule == "mass-download" {
                    is_download(op)
                } else {
                    is_delete(op)
                },
                "{rule}: {op}"
            );
        }
        let span = members.last().unwrap().time - members[0].time;
        match expected {
            Expected::Positive => {
                positives += 1;
                assert!(members.len() >= 50, "{}", members.len());
                assert!(span <= Duration::minutes(10), "{span}");
            }
            Expected::Negative => assert!(
                members.len() < 30 || span >= Duration::hours(4),
                "{} over {span}",
                members.len()
            ),
        }
    }
    // Every kind of burst comes every other day.
    assert!(positives >= 6, "{positives}");
    // A burst is told apart by rule and actor alone: nobody floods twice in a week.
    let mut floods = HashSet::new();
    for (rule, actor, _) in bursts
        .iter()
        .filter(|(_, m)| m[0].expected == Expected::Positive)
        .map(|(k, _)| k)
    {
        assert!(floods.insert((rule, actor)), "{rule} twice by {actor}");
    }
}

#[test]
fn planting_is_rare_deterministic_and_window_consistent() {
    let (from, to) = week();
    let g = Generator::new(42);
    let planted = g.detections_between(from, to);
    assert_eq!(planted, Generator::new(42).detections_between(from, to));
    assert_ne!(planted, Generator::new(43).detections_between(from, to));

    // Single records: about one in three hundred.
    let singles = planted.iter().filter(|d| d.group.is_none()).count();
    let total: usize = SimSource::ALL
        .into_iter()
        .map(|s| g.count_between(s, from, to))
        .sum();
    let per = total / singles.max(1);
    assert!((200..=600).contains(&per), "one in {per}");

    // Any sub-window gives exactly the detections inside it.
    let cut = from + Duration::hours(50) + Duration::minutes(7);
    let mut halves = g.detections_between(from, cut);
    halves.extend(g.detections_between(cut + Duration::nanoseconds(100), to));
    assert_eq!(halves, planted);
    let narrow = (from + Duration::hours(30), from + Duration::hours(31));
    let expected: Vec<_> = planted
        .iter()
        .filter(|d| d.time >= narrow.0 && d.time <= narrow.1)
        .cloned()
        .collect();
    assert_eq!(g.detections_between(narrow.0, narrow.1), expected);

    // Counting and listing stay in step with bursts woven in.
    for s in SimSource::ALL {
        assert_eq!(
            g.records_between(s, from, to).count(),
            g.count_between(s, from, to)
        );
    }
}

#[test]
fn planting_off_gives_the_plain_timeline() {
    let (from, to) = week();
    let rates = EventRates::default();
    let off = Generator::with_planting(42, rates, aoc_sim::DEFAULT_TENANT_ID, false);
    let on = Generator::new(42);
    assert!(!off.plants_detections() && on.plants_detections());
    assert!(off.detections_between(from, to).is_empty());
    assert_eq!(
        off.count_between(SimSource::Directory, from, to),
        on.count_between(SimSource::Directory, from, to)
    );
    // The bursts are the only extra records.
    let bursts = on
        .detections_between(from, to)
        .iter()
        .filter(|d| d.group.is_some())
        .count();
    assert_eq!(
        off.count_between(SimSource::Unified, from, to) + bursts,
        on.count_between(SimSource::Unified, from, to)
    );
    for (source, rec) in all_records(&off, from, to) {
        assert_eq!(fires(source, &rec), None, "{rec}");
    }
}

/// The route lists what the APIs serve: Graph paging for Entra and Intune, content blobs for
/// the Management API.
#[tokio::test]
async fn detections_route_lists_records_the_apis_serve() {
    let now: DateTime<Utc> = "2026-03-06T18:00:00Z".parse().unwrap();
    let cfg = SimConfig {
        seed: 11,
        days: 4,
        now: Some(now),
        subscriptions: ContentType::ALL
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        ..SimConfig::default()
    };
    let sim = start(cfg.clone()).await.unwrap();
    let http = reqwest::Client::new();
    let base = sim.base_url.clone();

    let start_q = (now - Duration::days(4)).to_rfc3339();
    let resp = http
        .get(format!("{base}/_sim/detections"))
        .query(&[("start", start_q.as_str()), ("end", &now.to_rfc3339())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let listed: Vec<PlantedDetection> = serde_json::from_value(body["detections"].clone()).unwrap();
    assert!(!listed.is_empty());
    let first = &body["detections"][0];
    for key in [
        "rule_id",
        "expected",
        "source",
        "record_id",
        "time",
        "group",
    ] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    assert!(
        listed
            .iter()
            .any(|d| d.group.is_some() && d.expected == Expected::Positive)
    );

    let token = |scope: &'static str| {
        let http = http.clone();
        let url = format!("{base}/{}/oauth2/v2.0/token", cfg.tenant_id);
        let (id, secret) = (cfg.client_id.clone(), cfg.client_secret.clone());
        async move {
            let body: Value = http
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id.as_str()),
                    ("client_secret", secret.as_str()),
                    ("scope", scope),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["access_token"].as_str().unwrap().to_string()
        }
    };

    let mut served: HashSet<(SimSource, String)> = HashSet::new();
    let graph = token("https://graph.microsoft.com/.default").await;
    for (source, path) in [
        (SimSource::Directory, "/v1.0/auditLogs/directoryAudits"),
        (SimSource::Intune, "/v1.0/deviceManagement/auditEvents"),
    ] {
        let mut next = Some(format!("{base}{path}?$top=999"));
        while let Some(url) = next {
            let page: Value = http
                .get(url)
                .bearer_auth(&graph)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for r in page["value"].as_array().unwrap() {
                served.insert((source, record_id(source, r).unwrap()));
            }
            next = page["@odata.nextLink"].as_str().map(str::to_string);
        }
    }
    let manage = token("https://manage.office.com/.default").await;
    let feed = format!("{base}/api/v1.0/{}/activity/feed", cfg.tenant_id);
    for ct in ContentType::ALL {
        let mut day = now - Duration::days(4);
        while day < now {
            let end = (day + Duration::hours(24)).min(now);
            let (s, e) = (
                day.format("%Y-%m-%dT%H:%M:%S").to_string(),
                end.format("%Y-%m-%dT%H:%M:%S").to_string(),
            );
            let mut next = Some(format!(
                "{feed}/subscriptions/content?contentType={}&startTime={s}&endTime={e}",
                ct.as_str()
            ));
            while let Some(url) = next {
                let resp = http.get(url).bearer_auth(&manage).send().await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                next = resp
                    .headers()
                    .get("NextPageUri")
                    .map(|v| v.to_str().unwrap().to_string());
                let entries: Vec<Value> = resp.json().await.unwrap();
                for entry in entries {
                    let blob: Vec<Value> = http
                        .get(entry["contentUri"].as_str().unwrap())
                        .bearer_auth(&manage)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    for r in blob {
                        served.insert((
                            SimSource::Unified,
                            record_id(SimSource::Unified, &r).unwrap(),
                        ));
                    }
                }
            }
            day = end;
        }
    }
    for d in &listed {
        assert!(
            served.contains(&(d.source, d.record_id.clone())),
            "{d:?} not served"
        );
    }
    // The in-process list agrees, less what is not fetchable yet.
    let all = sim
        .handle
        .generator()
        .detections_between(now - Duration::days(4), now);
    assert!(listed.iter().all(|d| all.contains(d)));
    assert!(
        listed.len() * 10 >= all.len() * 9,
        "{} of {}",
        listed.len(),
        all.len()
    );

    let resp = http
        .get(format!("{base}/_sim/detections?start=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

/// Planted single records across many seeds, so every variant of every entry meets the
/// independent reading of its rule.
#[test]
fn planted_variants_agree_with_the_rules_across_seeds() {
    let (from, to) = week();
    let mut variants = HashSet::new();
    for seed in 0..24 {
        let g = Generator::new(seed);
        for d in g
            .detections_between(from, to)
            .iter()
            .filter(|d| d.group.is_none())
        {
            let rec = g
                .records_between(d.source, d.time, d.time)
                .find(|r| record_id(d.source, r).as_deref() == Some(d.record_id.as_str()))
                .expect("planted record is served at its time");
            let fired = fires(d.source, &rec);
            match d.expected {
                Expected::Positive => assert_eq!(fired, Some(d.rule_id.as_str()), "{rec}"),
                Expected::Negative => assert_eq!(fired, None, "{rec}"),
            }
            let what = rec
                .get("activityDisplayName")
                .or_else(|| rec.get("activity"))
                .or_else(|| rec.get("Operation"))
                .cloned()
                .unwrap_or_default();
            variants.insert((d.rule_id.clone(), d.expected, what.to_string()));
        }
    }
    // Both flavours of most entries show up: more variants than rule/polarity pairs.
    assert!(variants.len() >= 40, "{}", variants.len());
}
