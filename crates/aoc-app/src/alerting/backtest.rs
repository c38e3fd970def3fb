//! Try a rule before saving it: run it over the stored events of the last few days (those the
//! caller may see) and tell what it would have raised.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use aoc_domain::rules::{CompiledRule, MatchContext};
use aoc_domain::{Cursor, Event, EventQuery, MAX_PAGE_SIZE};
use aoc_store::EventStore;

use super::rules::RuleService;
use super::window::crossings;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::events::EventService;

pub const DEFAULT_DAYS: u32 = 7;
pub const MAX_DAYS: u32 = 90;
pub const DEFAULT_SAMPLE: u32 = 20;
pub const MAX_SAMPLE: u32 = 100;
/// Events looked at, at most: a test answers in seconds even on a large store.
pub const MAX_SCANNED: u64 = 200_000;

/// `POST /api/rules/test`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    /// The rule, as for `POST /api/rules`.
    #[schema(value_type = Object)]
    pub rule: Value,
    /// How many days back to look (default 7, at most 90).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 90)]
    pub days: Option<u32>,
    /// How many matched events to return (default 20, at most 100).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub sample: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleTestResult {
    pub days: u32,
    /// Events looked at.
    pub scanned: u64,
    /// Events the rule matches.
    pub matched: u64,
    /// Alerts it would have raised (for a threshold rule: windows that reached the count).
    pub alerts: u64,
    /// True when the scan stopped at its limit before the start of the period.
    pub truncated: bool,
    /// The newest matched events.
    pub sample: Vec<Event>,
}

pub async fn run(
    store: &Arc<dyn EventStore>,
    events: &EventService,
    internal_domains: &[String],
    test: &RuleTest,
    caller: &Caller,
) -> AppResult<RuleTestResult> {
    let days = test.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::BadRequest(format!(
            "days: expected 1 to {MAX_DAYS}"
        )));
    }
    let sample_size = test.sample.unwrap_or(DEFAULT_SAMPLE);
    if sample_size > MAX_SAMPLE {
        return Err(AppError::BadRequest(format!(
            "sample: at most {MAX_SAMPLE}"
        )));
    }
    let mut body = test.rule.clone();
    if let Value::Object(map) = &mut body {
        // A rule read back from the API carries these; the test does not need them.
        for key in ["id", "builtin", "created_at", "updated_at"] {
            map.remove(key);
        }
    }
    let rule = CompiledRule::new(RuleService::parse(&body)?)
        .map_err(|e| AppError::BadRequest(format!("rule.{e}")))?;
    let context = MatchContext::new(internal_domains.to_vec());

    let mut query = EventQuery {
        start: Some(Utc::now() - Duration::days(i64::from(days))),
        page_size: MAX_PAGE_SIZE,
        ..EventQuery::default()
    };
    events.visibility(caller).restrict(&mut query);

    let mut result = RuleTestResult {
        days,
        scanned: 0,
        matched: 0,
        alerts: 0,
        truncated: false,
        sample: Vec::new(),
    };
    let mut groups: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    let suppress_single = rule.rule().suppress_minutes.filter(|m| *m > 0);
    let mut suppressed = std::collections::HashSet::new();
    loop {
        let page = store.search(&query).await?;
        for event in &page.items {
            result.scanned += 1;
            if !rule.matches(event, &context) {
                continue;
            }
            result.matched += 1;
            if rule.rule().threshold.is_some() {
                if let Some(group) = rule.group_key(event) {
                    groups.entry(group).or_default().push(event.timestamp);
                }
            } else if let Some(minutes) = suppress_single {
                // One alert per actor and window.
                suppressed.insert((
                    event.actor_display.to_lowercase(),
                    event
                        .timestamp
                        .timestamp()
                        .div_euclid(i64::from(minutes) * 60),
                ));
            } else {
                result.alerts += 1;
            }
            if result.sample.len() < sample_size as usize {
                result.sample.push(event.clone());
            }
        }
        let Some(next) = page.next_cursor else { break };
        if result.scanned >= MAX_SCANNED {
            result.truncated = true;
            break;
        }
        query.cursor = Some(
            Cursor::decode(&next)
                .map_err(|e| AppError::Unavailable(format!("paging the rule test: {e}")))?,
        );
    }
    if let Some(threshold) = &rule.rule().threshold {
        let window = Duration::minutes(i64::from(threshold.minutes));
        let suppress = Duration::minutes(i64::from(
            rule.rule()
                .suppress_minutes
                .filter(|m| *m > 0)
                .unwrap_or(threshold.minutes),
        ));
        for times in groups.values_mut() {
            times.sort();
            result.alerts += crossings(times, threshold.count, window, suppress).len() as u64;
        }
    }
    result.alerts += suppressed.len() as u64;
    Ok(result)
}
