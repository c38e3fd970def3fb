//! The alert-rule half of `aoc bench`: what evaluating the built-in pack plus a realistic set of
//! custom rules costs against what ingest of the same events cost (issue 13 asks for at most
//! 10%). The evaluator runs as the service runs it: a consumer of the stored event sequence,
//! `run_once` batch after batch from the first stored event.
//!
//! Besides the evaluator itself, three stripped-down consumers walk the same sequence so the
//! time can be split: reading the sequence alone, reading plus matching every rule (as the
//! evaluator calls the matcher, and with one shared view per event), and what is left is the
//! evaluator's store calls (alerts, threshold matches, tags).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};

use aoc_app::consumer::{Consumer, run_once};
use aoc_app::{AppContext, AppError, Caller, Settings};
use aoc_domain::Event;
use aoc_domain::rules::{CompiledRule, EventView, MatchContext};
use aoc_store::{EventStore, NewAlert, RuleMatch};

use super::ingest::rate;

/// Custom rules stored on top of the built-in pack (the figure issue 13 names).
pub const CUSTOM_RULES: usize = 50;
/// Events per `handle` call: the service's evaluator batch.
const BATCH: u32 = 1000;

/// What the alert phase measured on one store.
#[derive(Debug, Clone, Default)]
pub struct AlertFigures {
    pub builtin_rules: usize,
    pub custom_rules: usize,
    /// Events the evaluator looked at (every stored event).
    pub events: u64,
    /// Ingest time of those events (both rounds).
    pub ingest: Duration,
    /// The evaluator with the built-in pack and the custom rules, on a store with no alerts.
    pub full: Duration,
    /// The evaluator with the built-in pack alone (run after `full`: its alerts exist already
    /// and its tags are set, so the store calls it makes are upserts that change nothing).
    pub builtin_only: Duration,
    /// Reading the sequence and moving a cursor, nothing else.
    pub read: Duration,
    /// Reading plus matching every enabled rule, a fresh view per (rule, event) as the
    /// evaluator calls the matcher.
    pub matching: Duration,
    /// The same with one view per event shared by all rules.
    pub matching_shared: Duration,
    pub alerts_full: u64,
    pub alerts_builtin: u64,
    pub calls: StoreCalls,
    pub probe: CallCosts,
    /// A fresh ingest of the first round's events with the evaluator running beside it (the
    /// consumer round with the median ingest rate).
    pub concurrent: Concurrent,
    /// Every consumer round's ingest rate with the evaluator beside it.
    pub concurrent_rates: Vec<f64>,
}

/// What one store call of each kind the evaluator makes costs on this store, timed apart
/// (after the passes, so nothing else competes): with [`StoreCalls`] it says where the
/// evaluator's store time goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallCosts {
    /// `raise_alert` of a new alert (insert and read back).
    pub raise_alert: Duration,
    /// One row of a `record_rule_matches` batch of [`BATCH`] rows.
    pub record_rule_match: Duration,
    /// One `rule_matches_in` window query.
    pub rule_matches_in: Duration,
    /// One `set_tags`.
    pub set_tags: Duration,
}

impl CallCosts {
    /// The evaluator's store time these costs predict for `calls` (an upper bound for the
    /// window queries: none is made inside a window that has alerted already).
    pub fn predicted(&self, calls: &StoreCalls) -> [(&'static str, Duration); 3] {
        let times = |d: Duration, n: u64| d.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));
        [
            ("raise_alert", times(self.raise_alert, calls.raise_alert)),
            (
                "threshold (record + window query)",
                times(
                    self.record_rule_match + self.rule_matches_in,
                    calls.threshold_matches,
                ),
            ),
            ("set_tags", times(self.set_tags, calls.set_tags)),
        ]
    }
}

/// The store calls the full rule set implies, counted while matching.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreCalls {
    /// Single-event rule matches: one `raise_alert` each.
    pub raise_alert: u64,
    /// Threshold rule matches: rows for `record_rule_matches`, and (at most) one
    /// `rule_matches_in` window query each.
    pub threshold_matches: u64,
    /// Events whose tags change: one `set_tags` each.
    pub set_tags: u64,
}

impl AlertFigures {
    pub fn events_per_second(&self) -> f64 {
        rate(self.events, self.full)
    }

    pub fn builtin_events_per_second(&self) -> f64 {
        rate(self.events, self.builtin_only)
    }

    /// Evaluation time as a percentage of the ingest time of the same events.
    pub fn cost_percent(&self) -> f64 {
        percent(self.full, self.ingest)
    }

    pub fn builtin_cost_percent(&self) -> f64 {
        percent(self.builtin_only, self.ingest)
    }

    /// The evaluator's time beyond reading and matching: its store calls.
    pub fn store_calls_time(&self) -> Duration {
        self.full.saturating_sub(self.matching)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "builtin_rules": self.builtin_rules,
            "custom_rules": self.custom_rules,
            "events": self.events,
            "ingest_seconds": self.ingest.as_secs_f64(),
            "evaluate_seconds": self.full.as_secs_f64(),
            "events_per_second": self.events_per_second(),
            "cost_percent_of_ingest": self.cost_percent(),
            "alerts_raised": self.alerts_full,
            "ingest_while_evaluating": self.concurrent.to_json(),
            "ingest_while_evaluating_rates": self.concurrent_rates,
            "builtin_only": {
                "evaluate_seconds": self.builtin_only.as_secs_f64(),
                "events_per_second": self.builtin_events_per_second(),
                "cost_percent_of_ingest": self.builtin_cost_percent(),
                "alerts_raised": self.alerts_builtin,
            },
            "breakdown": {
                "read_sequence_seconds": self.read.as_secs_f64(),
                "read_and_match_seconds": self.matching.as_secs_f64(),
                "read_and_match_shared_view_seconds": self.matching_shared.as_secs_f64(),
                "store_calls_seconds": self.store_calls_time().as_secs_f64(),
                "raise_alert_calls": self.calls.raise_alert,
                "threshold_matches": self.calls.threshold_matches,
                "set_tags_calls": self.calls.set_tags,
                "per_call_ms": {
                    "raise_alert": ms(self.probe.raise_alert),
                    "record_rule_match_row": ms(self.probe.record_rule_match),
                    "rule_matches_in": ms(self.probe.rule_matches_in),
                    "set_tags": ms(self.probe.set_tags),
                },
                "predicted_store_seconds": self
                    .probe
                    .predicted(&self.calls)
                    .iter()
                    .map(|(what, d)| ((*what).to_string(), json!(d.as_secs_f64())))
                    .collect::<serde_json::Map<_, _>>(),
            },
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percent(part: Duration, whole: Duration) -> f64 {
    let whole = whole.as_secs_f64();
    if whole > 0.0 {
        100.0 * part.as_secs_f64() / whole
    } else {
        0.0
    }
}

/// Store the built-in pack and [`CUSTOM_RULES`] custom rules in `store` and evaluate every
/// stored event with them; `ingest` is how long ingesting those events took.
pub async fn run(
    store: Arc<dyn EventStore>,
    url: &str,
    ingest: Duration,
) -> anyhow::Result<AlertFigures> {
    let settings = Settings::from_map(&HashMap::from([
        ("DATABASE_URL".to_string(), url.to_string()),
        ("ALERTS_ENABLED".to_string(), "true".to_string()),
    ]))?;
    let ctx = AppContext::with_store(settings, store.clone())?;
    let caller = Caller::system("bench");
    let Some(evaluator) = ctx.rule_evaluator().await? else {
        anyhow::bail!("alert rules are disabled in the bench settings");
    };
    let builtin_rules = ctx.rules.enabled().await?.len();
    let mut custom_ids = Vec::with_capacity(CUSTOM_RULES);
    for body in custom_rules() {
        custom_ids.push(ctx.rules.create(&body, &caller).await?.rule["id"].clone());
    }
    let rules = ctx.rules.enabled().await?;
    let context = MatchContext::new(ctx.settings.alerts.internal_domains.iter());
    eprintln!(
        "  alert rules: {} built-in + {} custom",
        builtin_rules,
        rules.len().saturating_sub(builtin_rules)
    );

    let read_only = ReadOnly;
    let (read, events) = drain(store.as_ref(), &read_only).await?;
    eprintln!(
        "    read the sequence: {events} events in {:.1} s",
        read.as_secs_f64()
    );
    let per_rule = MatchOnly::new(
        "bench-match-per-rule",
        rules.clone(),
        context.clone(),
        false,
    );
    let (matching, _) = drain(store.as_ref(), &per_rule).await?;
    let shared = MatchOnly::new("bench-match-shared", rules.clone(), context, true);
    let (matching_shared, _) = drain(store.as_ref(), &shared).await?;
    let calls = per_rule.calls();
    eprintln!(
        "    read + match: {:.1} s (one view per event: {:.1} s); {} alert upserts, {} threshold \
         matches, {} tag updates implied",
        matching.as_secs_f64(),
        matching_shared.as_secs_f64(),
        calls.raise_alert,
        calls.threshold_matches,
        calls.set_tags
    );

    let (full, evaluated) = drain(store.as_ref(), &evaluator).await?;
    let alerts_full = alert_total(store.as_ref(), None).await?;
    eprintln!(
        "    evaluate, all rules: {evaluated} events in {:.1} s: {:.0} events/s, {alerts_full} \
         alerts; {:.1}% of ingest time",
        full.as_secs_f64(),
        rate(evaluated, full),
        percent(full, ingest)
    );

    for id in custom_ids.iter().filter_map(Value::as_str) {
        ctx.rules
            .update(id, &json!({ "enabled": false }), &caller)
            .await?;
    }
    let builtin = Renamed {
        name: "bench-builtin-only",
        inner: &evaluator,
    };
    let (builtin_only, _) = drain(store.as_ref(), &builtin).await?;
    let builtin_ids: HashSet<String> = ctx
        .rules
        .enabled()
        .await?
        .iter()
        .map(|r| r.rule().id.clone())
        .collect();
    let alerts_builtin = alert_total(store.as_ref(), Some(&builtin_ids)).await?;
    eprintln!(
        "    evaluate, built-in pack alone: {:.1} s: {:.0} events/s, {alerts_builtin} alerts; \
         {:.1}% of ingest time",
        builtin_only.as_secs_f64(),
        rate(evaluated, builtin_only),
        percent(builtin_only, ingest)
    );

    let probe = probe_calls(store.as_ref()).await?;
    eprintln!(
        "    one store call: raise_alert {:.3} ms, record_rule_matches {:.3} ms a row, \
         rule_matches_in {:.3} ms, set_tags {:.3} ms",
        ms(probe.raise_alert),
        ms(probe.record_rule_match),
        ms(probe.rule_matches_in),
        ms(probe.set_tags)
    );
    for (what, d) in probe.predicted(&calls) {
        eprintln!("      predicted {what}: {:.1} s", d.as_secs_f64());
    }

    Ok(AlertFigures {
        builtin_rules,
        custom_rules: custom_ids.len(),
        events: evaluated,
        ingest,
        full,
        builtin_only,
        read,
        matching,
        matching_shared,
        alerts_full,
        alerts_builtin,
        calls,
        probe,
        // Measured separately, on a fresh store (`ingest_while_evaluating`).
        concurrent: Concurrent::default(),
        concurrent_rates: Vec::new(),
    })
}

/// Calls timed per kind.
const PROBE_CALLS: usize = 500;

/// Time each kind of store call the evaluator makes, on stored events, as the evaluator makes
/// it (the alerts, matches and tags it leaves are of a rule id no rule has).
async fn probe_calls(store: &dyn EventStore) -> anyhow::Result<CallCosts> {
    let events = store.events_after(None, BATCH).await?.events;
    anyhow::ensure!(!events.is_empty(), "no stored events to probe with");
    let rule_id = "bench-probe";
    let per = |d: Duration, n: usize| d / u32::try_from(n.max(1)).unwrap_or(u32::MAX);

    let t = Instant::now();
    for (i, e) in events.iter().cycle().take(PROBE_CALLS).enumerate() {
        store
            .raise_alert(&NewAlert {
                rule_id: rule_id.into(),
                rule_name: "bench probe".into(),
                severity: "low".into(),
                dedupe_key: format!("probe:{i}:{}", e.id),
                group_key: None,
                first_seen: e.timestamp,
                last_seen: e.timestamp,
                event_ids: vec![e.id.clone()],
                services: vec![e.service.clone()],
                summary: e.display_summary.clone(),
            })
            .await?;
    }
    let raise_alert = per(t.elapsed(), PROBE_CALLS);

    let rows: Vec<RuleMatch> = events
        .iter()
        .map(|e| RuleMatch {
            rule_id: rule_id.into(),
            group_key: e.actor_display.to_lowercase(),
            event_id: e.id.clone(),
            occurred_at: e.timestamp,
        })
        .collect();
    let t = Instant::now();
    store.record_rule_matches(&rows).await?;
    let record_rule_match = per(t.elapsed(), rows.len());

    let t = Instant::now();
    for m in rows.iter().cycle().take(PROBE_CALLS) {
        store
            .rule_matches_in(
                rule_id,
                &m.group_key,
                m.occurred_at - chrono::Duration::minutes(10),
                m.occurred_at,
                200,
            )
            .await?;
    }
    let rule_matches_in = per(t.elapsed(), PROBE_CALLS);

    let t = Instant::now();
    for e in events.iter().cycle().take(PROBE_CALLS) {
        let mut tags = e.tags.clone();
        tags.push("bench-probe".into());
        store.set_tags(&e.id, &tags).await?;
    }
    let set_tags = per(t.elapsed(), PROBE_CALLS);

    Ok(CallCosts {
        raise_alert,
        record_rule_match,
        rule_matches_in,
        set_tags,
    })
}

/// Run a consumer from its (fresh) cursor to the end of the sequence; returns the time taken and
/// the events handled.
async fn drain<C: Consumer + ?Sized>(
    store: &dyn EventStore,
    consumer: &C,
) -> anyhow::Result<(Duration, u64)> {
    let start = Instant::now();
    let mut events = 0u64;
    loop {
        let n = run_once(store, consumer, BATCH)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", consumer.name()))?;
        if n == 0 {
            break;
        }
        events += n as u64;
    }
    Ok((start.elapsed(), events))
}

/// Alerts in the store, of the rules in `rules` (all rules when None).
async fn alert_total(
    store: &dyn EventStore,
    rules: Option<&HashSet<String>>,
) -> anyhow::Result<u64> {
    Ok(store
        .alert_counts()
        .await?
        .iter()
        .filter(|c| rules.is_none_or(|ids| ids.contains(&c.rule_id)))
        .map(|c| c.count)
        .sum())
}

/// Reads the sequence and does nothing with it.
struct ReadOnly;

#[async_trait]
impl Consumer for ReadOnly {
    type Error = AppError;

    fn name(&self) -> &str {
        "bench-read-only"
    }

    async fn handle(&self, _events: &[Event]) -> Result<(), AppError> {
        Ok(())
    }
}

/// Matches every rule against every event, as the evaluator does, without touching the store;
/// counts the store calls the matches would cost.
struct MatchOnly {
    name: &'static str,
    rules: Arc<Vec<Arc<CompiledRule>>>,
    context: MatchContext,
    shared_view: bool,
    raise_alert: AtomicU64,
    threshold_matches: AtomicU64,
    set_tags: AtomicU64,
}

impl MatchOnly {
    fn new(
        name: &'static str,
        rules: Arc<Vec<Arc<CompiledRule>>>,
        context: MatchContext,
        shared_view: bool,
    ) -> Self {
        Self {
            name,
            rules,
            context,
            shared_view,
            raise_alert: AtomicU64::new(0),
            threshold_matches: AtomicU64::new(0),
            set_tags: AtomicU64::new(0),
        }
    }

    fn calls(&self) -> StoreCalls {
        StoreCalls {
            raise_alert: self.raise_alert.load(Ordering::Relaxed),
            threshold_matches: self.threshold_matches.load(Ordering::Relaxed),
            set_tags: self.set_tags.load(Ordering::Relaxed),
        }
    }

    fn matches(&self, rule: &CompiledRule, event: &Event, view: &EventView<'_>) -> bool {
        if self.shared_view {
            rule.matches_view(view, &self.context)
        } else {
            rule.matches(event, &self.context)
        }
    }
}

#[async_trait]
impl Consumer for MatchOnly {
    type Error = AppError;

    fn name(&self) -> &str {
        self.name
    }

    async fn handle(&self, events: &[Event]) -> Result<(), AppError> {
        let (mut raise, mut threshold, mut tagged) = (0, 0, 0);
        for event in events {
            let view = EventView::new(event);
            let mut new_tags = false;
            for rule in self.rules.iter() {
                if !self.matches(rule, event, &view) {
                    continue;
                }
                let r = rule.rule();
                new_tags |= r
                    .tags
                    .iter()
                    .any(|t| !event.tags.iter().any(|e| e.eq_ignore_ascii_case(t)));
                if r.threshold.is_some() {
                    threshold += u64::from(rule.group_key(event).is_some());
                } else {
                    raise += 1;
                }
            }
            tagged += u64::from(new_tags);
        }
        self.raise_alert.fetch_add(raise, Ordering::Relaxed);
        self.threshold_matches
            .fetch_add(threshold, Ordering::Relaxed);
        self.set_tags.fetch_add(tagged, Ordering::Relaxed);
        Ok(())
    }
}

/// An evaluator under another consumer name: a second pass over the sequence with its own
/// cursor.
struct Renamed<'a, C> {
    name: &'static str,
    inner: &'a C,
}

#[async_trait]
impl<C: Consumer> Consumer for Renamed<'_, C> {
    type Error = C::Error;

    fn name(&self) -> &str {
        self.name
    }

    async fn handle(&self, events: &[Event]) -> Result<(), C::Error> {
        self.inner.handle(events).await
    }
}

/// Severities the custom rules cycle through.
const SEVERITIES: [&str; 3] = ["low", "medium", "high"];

/// The custom rules: ten kinds of rule people write, five variants each, over what the
/// simulated tenant records (so some match and some never do, as in a real deployment).
pub fn custom_rules() -> Vec<Value> {
    (0..CUSTOM_RULES)
        .map(|i| {
            let variant = i / 10;
            let (what, mut body) = custom_rule(i % 10, variant);
            if let Value::Object(map) = &mut body {
                map.insert("name".into(), json!(format!("bench {i:02}: {what}")));
                map.insert("severity".into(), json!(SEVERITIES[i % SEVERITIES.len()]));
            }
            body
        })
        .collect()
}

fn pick<T: Copy>(items: &[T], variant: usize) -> T {
    items[variant % items.len()]
}

fn custom_rule(kind: usize, v: usize) -> (&'static str, Value) {
    match kind {
        // Service and operations, with an outcome.
        0 => {
            let (service, ops, result) = pick(
                &[
                    (
                        "Exchange",
                        &["Remove-MailboxPermission", "Remove-InboxRule"][..],
                        "failure",
                    ),
                    (
                        "Entra ID",
                        &["Reset user password", "Delete user"][..],
                        "failure",
                    ),
                    (
                        "Intune",
                        &["Delete ManagedDevice", "Patch ManagedDevice"][..],
                        "failure",
                    ),
                    (
                        "Teams",
                        &["MemberRoleChanged", "TeamCreated"][..],
                        "failure",
                    ),
                    ("OneDrive", &["FileDeleted", "FileUploaded"][..], "failure"),
                ],
                v,
            );
            (
                "service and operations",
                json!({"match": {"service": service, "operation": ops, "result": result}}),
            )
        }
        // Alternatives.
        1 => {
            let (service, a, b, word) = pick(
                &[
                    (
                        "Entra ID",
                        "Add member to group",
                        "Remove member from group",
                        "finance",
                    ),
                    (
                        "Exchange",
                        "Remove-TransportRule",
                        "Remove-RecipientPermission",
                        "ceo",
                    ),
                    (
                        "SharePoint",
                        "SiteDeleted",
                        "FileVersionsAllDeleted",
                        "contract",
                    ),
                    ("Entra ID", "Add owner to group", "Add group", "privileged"),
                    (
                        "Intune",
                        "retire ManagedDevice",
                        "Patch ManagedDevice",
                        "kiosk",
                    ),
                ],
                v,
            );
            (
                "alternatives",
                json!({"match": {"service": service, "any": [
                    {"operation": a},
                    {"operation": b, "result": "failure"},
                    {"search": word},
                ]}}),
            )
        }
        // A raw parameter exists, or equals a value.
        2 => {
            let (op, name, value) = pick(
                &[
                    ("Set-Mailbox", "HiddenFromAddressListsEnabled", Some("True")),
                    ("Set-Mailbox", "LitigationHoldEnabled", Some("False")),
                    ("Set-CASMailbox", "OWAEnabled", None),
                    ("Set-TransportRule", "Enabled", Some("False")),
                    ("Set-Mailbox", "RetainDeletedItemsFor", Some("0.00:00:00")),
                ],
                v,
            );
            let path = format!("Parameters[Name={name}].Value");
            let condition = match value {
                Some(value) => json!({"path": path, "op": "eq", "value": value}),
                None => json!({"path": path, "op": "exists"}),
            };
            (
                "raw parameter",
                json!({"match": {"service": "Exchange", "operation": op, "conditions": [condition]}}),
            )
        }
        // A raw field contains one of some words.
        3 => {
            let (service, path, words) = pick(
                &[
                    (
                        "SharePoint",
                        "SourceFileName",
                        &["payroll", "passwords", ".pst"][..],
                    ),
                    ("OneDrive", "SourceFileName", &["backup", ".kdbx"][..]),
                    (
                        "SharePoint",
                        "SiteUrl",
                        &["/sites/board", "/sites/legal-hold"][..],
                    ),
                    ("Exchange", "ClientIP", &["185.220.101.", "45.155.205."][..]),
                    (
                        "Entra ID",
                        "targetResources[].displayName",
                        &["admin", "break"][..],
                    ),
                ],
                v,
            );
            (
                "raw field contains",
                json!({"match": {"service": service,
                    "conditions": [{"path": path, "op": "contains", "value": words}]},
                    "tags": ["sensitive"]}),
            )
        }
        // A raw field is one of some values.
        4 => {
            let (service, path, values) = pick(
                &[
                    (
                        "Exchange",
                        "Parameters[Name=Identity].Value",
                        &["ceo@contoso.com", "cfo@contoso.com"][..],
                    ),
                    (
                        "SharePoint",
                        "UserAgent",
                        &["curl/8.0", "python-requests/2.31"][..],
                    ),
                    ("Entra ID", "category", &["RoleManagement", "Policy"][..]),
                    (
                        "Intune",
                        "activityType",
                        &[
                            "Delete DeviceCompliancePolicy",
                            "Delete DeviceConfiguration",
                        ][..],
                    ),
                    ("Teams", "TeamName", &["Board", "Executive Leadership"][..]),
                ],
                v,
            );
            (
                "raw field in a list",
                json!({"match": {"service": service,
                    "conditions": [{"path": path, "op": "in", "value": values}]}}),
            )
        }
        // A negated condition.
        5 => {
            let (service, op, path, value) = pick(
                &[
                    ("Entra ID", "Update user", "result", "success"),
                    ("Exchange", "Set-Mailbox", "ResultStatus", "True"),
                    (
                        "Entra ID",
                        "Add member to group",
                        "initiatedBy.user.userPrincipalName",
                        "x",
                    ),
                    ("Exchange", "New-InboxRule", "ResultStatus", "True"),
                    ("Entra ID", "Add service principal", "result", "success"),
                ],
                v,
            );
            (
                "negated condition",
                json!({"match": {"service": service, "operation": op,
                    "conditions": [{"path": path, "op": "eq", "value": value, "not": true}]}}),
            )
        }
        // Free text anywhere in the record: every event's raw JSON is searched.
        6 => {
            let word = pick(
                &["payroll", "legal hold", "vpn", "salary", "acquisition"],
                v,
            );
            let body = if v.is_multiple_of(2) {
                json!({"match": {"search": word}})
            } else {
                json!({"match": {"service": "SharePoint", "search": word}})
            };
            ("free text", body)
        }
        // Thresholds.
        7 => {
            let (ops, count, minutes, group_by) = pick(
                &[
                    (&["FileAccessed"][..], 500, 5, "actor"),
                    (&["Reset user password"][..], 5, 60, "actor"),
                    (&["MemberRemoved"][..], 20, 10, "actor"),
                    (&["Remove member from group"][..], 10, 30, "target"),
                    (&["Delete user"][..], 5, 60, "actor"),
                ],
                v,
            );
            (
                "threshold",
                json!({"match": {"operation": ops},
                    "threshold": {"count": count, "minutes": minutes, "group_by": group_by}}),
            )
        }
        // One alert per actor per window.
        8 => {
            let (op, minutes) = pick(
                &[
                    ("Disable account", 1440),
                    ("Add owner to group", 720),
                    ("Remove member from role", 240),
                    ("Delete MobileApp", 240),
                    ("TeamCreated", 1440),
                ],
                v,
            );
            (
                "suppressed",
                json!({"match": {"operation": op}, "suppress_minutes": minutes}),
            )
        }
        // Who acted, or on whom.
        _ => {
            let body = match v % 5 {
                0 => json!({"match": {"actor": "admin", "service": "Entra ID"}}),
                1 => json!({"match": {"target": "ceo"}, "tags": ["vip"]}),
                2 => json!({"match": {"actor": "svc-", "service": "Exchange"}}),
                3 => {
                    json!({"match": {"target": "payroll", "operation": ["FileDownloaded", "FileSyncDownloadedFull"]}})
                }
                _ => json!({"match": {"actor": "breakglass"}, "tags": ["break-glass"]}),
            };
            ("actor or target", body)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use aoc_domain::rules::Rule;

    #[test]
    fn every_custom_rule_is_valid_and_named_once() {
        let bodies = custom_rules();
        assert_eq!(bodies.len(), CUSTOM_RULES);
        let mut names = HashSet::new();
        for body in &bodies {
            let rule = Rule::parse(body).unwrap_or_else(|e| panic!("{body}: {e}"));
            CompiledRule::new(rule.clone()).unwrap();
            assert!(names.insert(rule.name), "{body}");
        }
        let thresholds = bodies
            .iter()
            .filter(|b| b.get("threshold").is_some())
            .count();
        let searches = bodies
            .iter()
            .filter(|b| b["match"].get("search").is_some())
            .count();
        assert_eq!(thresholds, 5);
        assert_eq!(searches, 5);
    }
}

/// Ingest with the evaluator running beside it, as `aoc serve` runs them: what issue 13's "at
/// most 10% of ingest throughput" is about, since evaluation is not on the ingest path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Concurrent {
    pub events: u64,
    /// Ingest time of `events` into a fresh store while the evaluator (built-in pack plus the
    /// custom rules) runs.
    pub ingest: Duration,
    /// How long the evaluator needed after ingest finished to have looked at every event.
    pub catch_up: Duration,
    pub alerts: u64,
    /// Sequence reads served from the events ingest kept in memory, and reads that decoded
    /// the batch from the database.
    pub from_memory: (u64, u64),
    /// This process's peak RSS during the phase (ingest, evaluator and the events kept in
    /// memory for it), when the kernel lets the peak be reset.
    pub peak_rss: Option<u64>,
}

impl Concurrent {
    pub fn events_per_second(&self) -> f64 {
        rate(self.events, self.ingest)
    }

    pub fn to_json(self) -> Value {
        json!({
            "events": self.events,
            "ingest_seconds": self.ingest.as_secs_f64(),
            "events_per_second": self.events_per_second(),
            "evaluator_catch_up_seconds": self.catch_up.as_secs_f64(),
            "batches_read_from_memory": self.from_memory.0,
            "batches_read_from_database": self.from_memory.1,
            "peak_rss_bytes": self.peak_rss,
            "alerts_raised": self.alerts,
        })
    }
}

/// Ingest `n` records (the first round's records: same seed, no re-deliveries) into the empty
/// store at `url`, with nothing beside it: what the consumer rounds are compared with.
pub async fn plain_ingest(
    url: &str,
    n: u64,
    in_flight: usize,
    seed: u64,
) -> anyhow::Result<super::ingest::IngestRound> {
    use anyhow::Context;
    let store = aoc_store::open(url)
        .await
        .context("cannot open the store")?;
    first_round_again(store, n, in_flight, seed).await
}

/// Ingest the first round's `n` records (same seed, no re-deliveries) into `store`.
async fn first_round_again(
    store: Arc<dyn EventStore>,
    n: u64,
    in_flight: usize,
    seed: u64,
) -> anyhow::Result<super::ingest::IngestRound> {
    let records: super::ingest::Records =
        Box::new(aoc_sim::Generator::new(seed).take_mixed(usize::try_from(n)?));
    let (round, _, _) = super::ingest::run_round(
        store,
        Arc::new(aoc_domain::Normalizer::default()),
        records,
        super::ingest::RoundPlan {
            records: n,
            duplicate_per_mille: 0,
            in_flight,
        },
        false,
    )
    .await?;
    Ok(round)
}

/// Ingest `n` records (the first round's records: same seed, no re-deliveries) into the empty
/// store at `url` while the rule evaluator runs as a background task, then wait for it to
/// catch up.
pub async fn ingest_while_evaluating(
    url: &str,
    n: u64,
    in_flight: usize,
    seed: u64,
) -> anyhow::Result<Concurrent> {
    use anyhow::Context;
    let store = aoc_store::open(url)
        .await
        .context("cannot open the store")?;
    let settings = Settings::from_map(&HashMap::from([
        ("DATABASE_URL".to_string(), url.to_string()),
        ("ALERTS_ENABLED".to_string(), "true".to_string()),
    ]))?;
    let ctx = AppContext::with_store(settings, store.clone())?;
    let Some(evaluator) = ctx.rule_evaluator().await? else {
        anyhow::bail!("alert rules are disabled in the bench settings");
    };
    let caller = Caller::system("bench");
    for body in custom_rules() {
        ctx.rules.create(&body, &caller).await?;
    }
    let reset = super::server::reset_own_peak();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let background = {
        let store = store.clone();
        tokio::spawn(async move {
            let options = aoc_app::consumer::RunOptions {
                batch: BATCH,
                idle: Duration::from_millis(200),
                retry: Duration::from_secs(1),
            };
            aoc_app::consumer::run_until(store.as_ref(), &evaluator, options, async {
                let _ = stopped.await;
            })
            .await;
        })
    };
    let round = first_round_again(store.clone(), n, in_flight, seed).await?;
    let waiting = Instant::now();
    loop {
        let lag =
            aoc_app::consumer::lag(store.as_ref(), aoc_app::alerting::EVALUATOR_NAME, 1).await?;
        if lag.events_behind == 0 && lag.position.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let catch_up = waiting.elapsed();
    let _ = stop.send(());
    background.await?;
    let alerts = store.alert_counts().await?.iter().map(|c| c.count).sum();
    Ok(Concurrent {
        events: round.new,
        ingest: round.elapsed,
        catch_up,
        alerts,
        from_memory: store
            .recent_events()
            .map(aoc_store::RecentEvents::hits_and_misses)
            .unwrap_or_default(),
        peak_rss: super::server::memory("self").peak.filter(|_| reset),
    })
}
