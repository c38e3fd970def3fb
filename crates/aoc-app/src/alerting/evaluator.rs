//! Rule evaluation as a consumer of the stored event sequence.
//!
//! Exactly-once alerts come from two things together: the consumer hands every stored event
//! over at least once (its cursor moves only after a batch was handled), and every alert has a
//! dedupe key the store keeps unique, so handling an event again finds its alert already there.
//! Keys: `event:{rule}:{event id}` for single-event rules, `window:{rule}:{group}:{bucket}` for
//! suppressed and threshold rules, where the bucket is a function of the events alone, never of
//! when evaluation ran.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use aoc_domain::rules::{CompiledRule, EventView, MatchContext};
use aoc_domain::{Event, Source};
use aoc_store::{AlertQuery, EventStore, GroupSpan, NewAlert, RuleMatch};

use super::metric_names;
use super::rules::RuleService;
use super::window::{crossings, merged_tags};
use crate::consumer::Consumer;
use crate::error::AppError;

/// Matches a threshold group's span is read with, at most (a burst far past any threshold).
const MAX_SPAN_MATCHES: u32 = 2_000;

/// A threshold rule and the events of a batch it matched, per group.
type RuleGroups<'e> = (Arc<CompiledRule>, BTreeMap<String, Vec<&'e Event>>);

/// The evaluator's consumer name (its cursor in the store).
pub const EVALUATOR_NAME: &str = "alert-rules";

/// Called with every alert the evaluator raised or found raised (notifications enqueue
/// idempotently, so a re-delivered alert is harmless).
#[async_trait]
pub trait AlertSink: Send + Sync {
    async fn alert(&self, alert: &aoc_store::Alert) -> Result<(), AppError>;
}

pub struct RuleEvaluator {
    store: Arc<dyn EventStore>,
    rules: RuleService,
    context: MatchContext,
    on_import: bool,
    sink: Option<Arc<dyn AlertSink>>,
}

impl RuleEvaluator {
    pub fn new(
        store: Arc<dyn EventStore>,
        rules: RuleService,
        internal_domains: Vec<String>,
        on_import: bool,
        sink: Option<Arc<dyn AlertSink>>,
    ) -> Self {
        Self {
            store,
            rules,
            context: MatchContext::new(internal_domains),
            on_import,
            sink,
        }
    }

    /// Raise alerts in one store transaction and announce them.
    async fn raise_all(&self, alerts: Vec<NewAlert>) -> Result<Vec<aoc_store::Alert>, AppError> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let raised = self.store.raise_alerts(&alerts).await?;
        self.announce(raised).await
    }

    /// Count, log and hand to the sink each alert raised (or found raised already).
    async fn announce(
        &self,
        raised: Vec<(aoc_store::Alert, bool)>,
    ) -> Result<Vec<aoc_store::Alert>, AppError> {
        let mut stored_alerts = Vec::with_capacity(raised.len());
        for (stored, created) in raised {
            if created {
                metrics::counter!(
                    metric_names::ALERTS_RAISED,
                    "rule" => stored.rule_id.clone(),
                    "severity" => stored.severity.clone()
                )
                .increment(1);
                tracing::info!(
                    alert = stored.id,
                    rule = %stored.rule_id,
                    severity = %stored.severity,
                    summary = %stored.summary,
                    "alert raised"
                );
            }
            if let Some(sink) = &self.sink {
                sink.alert(&stored).await?;
            }
            stored_alerts.push(stored);
        }
        Ok(stored_alerts)
    }

    /// Single-event rules: one alert per event, or per (actor, window) when suppressed.
    fn single(
        rule: &CompiledRule,
        event: &Event,
        raised: &mut HashSet<String>,
        alerts: &mut Vec<NewAlert>,
    ) {
        let r = rule.rule();
        let (dedupe_key, group_key) = match r.suppress_minutes.filter(|m| *m > 0) {
            Some(minutes) => {
                let group = actor_group(event);
                let bucket = bucket(event.timestamp, minutes);
                (format!("window:{}:{group}:{bucket}", r.id), Some(group))
            }
            None => (format!("event:{}:{}", r.id, event.id), None),
        };
        // A suppressed rule matching again in the same batch and window finds its alert: no
        // need to ask the store again.
        if !raised.insert(dedupe_key.clone()) {
            return;
        }
        alerts.push(NewAlert {
            rule_id: r.id.clone(),
            rule_name: r.name.clone(),
            severity: r.severity.as_str().to_string(),
            dedupe_key,
            group_key,
            first_seen: event.timestamp,
            last_seen: event.timestamp,
            event_ids: vec![event.id.clone()],
            services: vec![event.service.clone()],
            summary: summary_of(event),
        });
    }

    /// Threshold rules: record the matches, then for each matched event ask whether the window
    /// ending at it holds enough; the first event that crosses raises the alert, later ones in
    /// the same suppression window find it.
    /// The matches must be recorded already (they count towards their own windows).
    async fn thresholds(
        &self,
        matches: Vec<(Arc<CompiledRule>, &Event, String)>,
    ) -> Result<(), AppError> {
        if matches.is_empty() {
            return Ok(());
        }

        // Per rule, per group, in time order: the window check only needs to run where the
        // count can have changed.
        let mut by_rule: BTreeMap<String, RuleGroups<'_>> = BTreeMap::new();
        let mut in_batch: HashMap<&str, &Event> = HashMap::new();
        for (rule, event, group) in matches {
            in_batch.insert(event.id.as_str(), event);
            by_rule
                .entry(rule.rule().id.clone())
                .or_insert_with(|| (rule.clone(), BTreeMap::new()))
                .1
                .entry(group)
                .or_default()
                .push(event);
        }
        for (rule_id, (rule, groups)) in by_rule {
            let r = rule.rule();
            let Some(threshold) = &r.threshold else {
                continue;
            };
            let window = Duration::minutes(i64::from(threshold.minutes));
            let suppress = Duration::minutes(i64::from(
                r.suppress_minutes
                    .filter(|m| *m > 0)
                    .unwrap_or(threshold.minutes),
            ));
            // Events arrive out of time order (Management API blobs, re-deliveries), so a window
            // that reaches the count may end at an event stored earlier or later than these:
            // every window holding one of a group's events lies in [first - window, last +
            // window]. One query counts that span for every group of the batch; fewer matches
            // than the count there (the usual case) settle the group.
            let mut spans = Vec::with_capacity(groups.len());
            for (group, events) in &groups {
                let (Some(first), Some(last)) = (
                    events.iter().map(|e| e.timestamp).min(),
                    events.iter().map(|e| e.timestamp).max(),
                ) else {
                    continue;
                };
                spans.push(GroupSpan {
                    group_key: group.clone(),
                    from: first - window,
                    to: last + window,
                });
            }
            let counts = self.store.rule_match_counts(&rule_id, &spans).await?;
            for (span, in_span) in spans.iter().zip(counts) {
                if in_span < u64::from(threshold.count) {
                    continue;
                }
                let group = &span.group_key;
                let (_, matched) = self
                    .store
                    .rule_matches_in(&rule_id, group, span.from, span.to, MAX_SPAN_MATCHES)
                    .await?;
                let times: Vec<DateTime<Utc>> = matched.iter().map(|(_, at)| *at).collect();
                for (start, end) in crossings(&times, threshold.count, window, suppress) {
                    let at = times[end];
                    let count = end + 1 - start;
                    let from = at - window;
                    let suppress_minutes =
                        u32::try_from(suppress.num_minutes()).unwrap_or(u32::MAX);
                    let dedupe_key = format!(
                        "window:{rule_id}:{group}:{}",
                        bucket(from, suppress_minutes.max(1))
                    );
                    if self
                        .alerted_otherwise(&rule_id, group, at - suppress, &dedupe_key)
                        .await?
                    {
                        continue;
                    }
                    let in_window = &matched[start..=end];
                    let service = self.service_of(&matched[end].0, &in_batch).await?;
                    let raised = self
                        .raise_all(vec![NewAlert {
                            rule_id: rule_id.clone(),
                            rule_name: r.name.clone(),
                            severity: r.severity.as_str().to_string(),
                            dedupe_key,
                            group_key: Some(group.clone()),
                            first_seen: in_window[0].1,
                            last_seen: at,
                            event_ids: in_window.iter().map(|(id, _)| id.clone()).collect(),
                            services: service.into_iter().collect(),
                            summary: format!(
                                "{count} matches of {} by {group} within {} minutes",
                                r.name, threshold.minutes
                            ),
                        }])
                        .await?;
                    // A threshold rule tags the events of its alert, not every event it counts
                    // (tagging each single download would cost a write per event and say
                    // nothing).
                    if !r.tags.is_empty() {
                        for alert in &raised {
                            self.tag_ids(&alert.event_ids, &r.tags).await?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The service of a matched event: from the batch when it is there, else from the store
    /// (None when the event is gone since, purged by retention).
    async fn service_of(
        &self,
        id: &str,
        in_batch: &HashMap<&str, &Event>,
    ) -> Result<Option<String>, AppError> {
        if let Some(event) = in_batch.get(id) {
            return Ok(Some(event.service.clone()));
        }
        Ok(self.store.get(id).await?.map(|e| e.service))
    }

    /// Add `tags` to the stored events with these ids (idempotent: an event that has them all
    /// is not written).
    async fn tag_ids(&self, ids: &[String], tags: &[String]) -> Result<(), AppError> {
        let mut changed = Vec::new();
        for id in ids {
            let Some(event) = self.store.get(id).await? else {
                continue;
            };
            if let Some(merged) = merged_tags(&event.tags, tags) {
                changed.push((id.clone(), merged));
            }
        }
        self.store.set_tags_many(&changed).await?;
        Ok(())
    }

    /// Has this rule alerted for this group, under another key, with events at or after
    /// `since`? Such an alert (from the previous bucket) still covers a burst that straddles
    /// the bucket edge. The alert under `key` itself does not count: raising it again is how a
    /// re-delivered batch finds it and hands it to the sink once more.
    async fn alerted_otherwise(
        &self,
        rule_id: &str,
        group: &str,
        since: DateTime<Utc>,
        key: &str,
    ) -> Result<bool, AppError> {
        let recent = self
            .store
            .list_alerts(&AlertQuery {
                rule_id: Some(rule_id.to_string()),
                limit: 50,
                ..AlertQuery::default()
            })
            .await?;
        Ok(recent.iter().any(|a| {
            a.group_key.as_deref() == Some(group) && a.last_seen >= since && a.dedupe_key != key
        }))
    }
}

/// Tags rules ask for, merged into each matched event's own: the events whose tags change.
fn changed_tags(tags: HashMap<&str, (&Event, HashSet<String>)>) -> Vec<(String, Vec<String>)> {
    tags.into_iter()
        .filter_map(|(id, (event, add))| {
            merged_tags(&event.tags, &add).map(|merged| (id.to_string(), merged))
        })
        .collect()
}

#[async_trait]
impl Consumer for RuleEvaluator {
    type Error = AppError;

    fn name(&self) -> &str {
        EVALUATOR_NAME
    }

    async fn handle(&self, events: &[Event]) -> Result<(), AppError> {
        let rules = self.rules.enabled().await?;
        metrics::counter!(metric_names::EVENTS_EVALUATED).increment(events.len() as u64);
        if rules.is_empty() {
            return Ok(());
        }
        let mut threshold_matches = Vec::new();
        let mut raised = HashSet::new();
        let mut alerts = Vec::new();
        let mut tags: HashMap<&str, (&Event, HashSet<String>)> = HashMap::new();
        for event in events {
            if event.source == Source::Import && !self.on_import {
                continue;
            }
            // One view per event: the lowercased raw text and the actor's UPN are worked out
            // once, whichever rules ask for them.
            let view = EventView::new(event);
            for rule in rules.iter() {
                if !rule.matches_view(&view, &self.context) {
                    continue;
                }
                let r = rule.rule();
                if !r.tags.is_empty() && r.threshold.is_none() {
                    tags.entry(event.id.as_str())
                        .or_insert_with(|| (event, HashSet::new()))
                        .1
                        .extend(r.tags.iter().cloned());
                }
                if r.threshold.is_some() {
                    if let Some(group) = rule.group_key(event) {
                        threshold_matches.push((rule.clone(), event, group));
                    }
                } else {
                    Self::single(rule, event, &mut raised, &mut alerts);
                }
            }
        }
        // The batch's matches, alerts and tags in one transaction; then the threshold windows,
        // which count the matches just recorded.
        let rows: Vec<RuleMatch> = threshold_matches
            .iter()
            .map(
                |(rule, event, group): &(Arc<CompiledRule>, &Event, String)| RuleMatch {
                    rule_id: rule.rule().id.clone(),
                    group_key: group.clone(),
                    event_id: event.id.clone(),
                    occurred_at: event.timestamp,
                },
            )
            .collect();
        let raised = self
            .store
            .write_evaluation(&rows, &alerts, &changed_tags(tags))
            .await?;
        self.announce(raised).await?;
        self.thresholds(threshold_matches).await
    }
}

/// The group a suppressed single-event rule counts per: who acted.
fn actor_group(event: &Event) -> String {
    event.actor_display.trim().to_lowercase()
}

/// Which `minutes`-long window (counted from the Unix epoch) `at` falls in.
fn bucket(at: DateTime<Utc>, minutes: u32) -> i64 {
    at.timestamp().div_euclid(i64::from(minutes.max(1)) * 60)
}

fn summary_of(event: &Event) -> String {
    let mut text = if event.display_summary.trim().is_empty() {
        format!("{} by {}", event.operation, event.actor_display)
    } else {
        event.display_summary.clone()
    };
    if text.chars().count() > 300 {
        text = text.chars().take(299).collect::<String>() + "…";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_depend_on_the_event_time_only() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T10:07:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(bucket(t, 10), bucket(t + Duration::minutes(2), 10));
        assert_ne!(bucket(t, 10), bucket(t + Duration::minutes(3), 10));
        assert_eq!(bucket(t, 0), bucket(t, 1));
    }
}
