//! `get_summary`: how many events, by service, operation, actor and outcome, over a range.
//!
//! Built only from the event service's reads (count, filter options, pages, histogram), so the
//! caller's privacy gating holds. The total and the per-service counts are exact; operations,
//! actors and outcomes are tallied over the newest `SCAN_LIMIT` matching events, and the answer
//! says when that was a sample.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aoc_app::events::{EventParams, HistogramParams};
use aoc_app::{AppContext, AppResult, Caller};

/// Events read to tally operations, actors and outcomes.
pub const SCAN_LIMIT: usize = 5_000;
const SCAN_PAGE: u32 = 500;
/// Services counted one by one (a tenant has a handful).
const MAX_SERVICES: usize = 50;
pub const DEFAULT_TOP: u32 = 10;
pub const MAX_TOP: u32 = 50;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct SummaryParams {
    /// Inclusive lower bound, RFC 3339 (e.g. `2026-03-01T00:00:00Z`). Default: all stored time.
    pub start: Option<String>,
    /// Inclusive upper bound, RFC 3339.
    pub end: Option<String>,
    /// Only this service (exact).
    pub service: Option<String>,
    /// Only events matching this free text.
    pub search: Option<String>,
    /// How many operations and actors to list, 1 to 50 (default 10).
    pub top: Option<u32>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Count {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Matching events (exact).
    pub total: u64,
    /// Events per service (exact), most first.
    pub by_service: Vec<Count>,
    /// Most frequent operations among the scanned events.
    pub top_operations: Vec<Count>,
    /// Most active actors among the scanned events.
    pub top_actors: Vec<Count>,
    /// Outcomes among the scanned events.
    pub by_result: Vec<Count>,
    /// Events the operation, actor and outcome tallies were made from.
    pub scanned: u64,
    /// True when `scanned` is less than `total`: the tallies cover the newest events only.
    pub sampled: bool,
    /// Seconds per histogram bucket.
    pub bucket_seconds: i64,
    /// Events over time (empty buckets left out).
    pub histogram: Vec<Bucket>,
}

fn base_params(p: &SummaryParams) -> EventParams {
    EventParams {
        service: p.service.clone(),
        start: p.start.clone(),
        end: p.end.clone(),
        search: p.search.clone(),
        ..EventParams::default()
    }
}

pub async fn summarize(ctx: &AppContext, p: &SummaryParams, caller: &Caller) -> AppResult<Summary> {
    let top = p.top.unwrap_or(DEFAULT_TOP).clamp(1, MAX_TOP) as usize;
    let params = base_params(p);
    // Validates the filters once, with the service's messages.
    let query = ctx.events.query(&params, caller)?;
    let total = ctx.events.count(&params, caller).await?;

    let services = match &p.service {
        Some(s) if !s.trim().is_empty() => vec![s.trim().to_string()],
        _ => ctx.events.filter_options(caller).await?.services,
    };
    let mut by_service = Vec::new();
    for service in services.into_iter().take(MAX_SERVICES) {
        let per = EventParams {
            service: Some(service.clone()),
            ..params.clone()
        };
        let count = ctx.events.count(&per, caller).await?;
        if count > 0 {
            by_service.push(Count {
                value: service,
                count,
            });
        }
    }
    sort_counts(&mut by_service);

    let mut operations: HashMap<String, u64> = HashMap::new();
    let mut actors: HashMap<String, u64> = HashMap::new();
    let mut results: HashMap<String, u64> = HashMap::new();
    let mut scanned = 0usize;
    let mut cursor: Option<String> = None;
    while scanned < SCAN_LIMIT {
        let page_params = EventParams {
            page_size: Some(SCAN_PAGE.to_string()),
            cursor: cursor.clone(),
            ..params.clone()
        };
        let page = ctx.events.list(&page_params, caller).await?;
        for e in page.items.iter().take(SCAN_LIMIT - scanned) {
            *operations.entry(e.operation.clone()).or_default() += 1;
            *actors.entry(e.actor_display.clone()).or_default() += 1;
            *results.entry(e.result.clone()).or_default() += 1;
        }
        scanned += page.items.len().min(SCAN_LIMIT - scanned);
        match page.next_cursor {
            Some(next) if !page.items.is_empty() => cursor = Some(next),
            _ => break,
        }
    }

    let histogram = ctx
        .events
        .histogram(
            &HistogramParams {
                filters: params,
                buckets: Some("24".into()),
            },
            caller,
        )
        .await?;

    Ok(Summary {
        start: query.start.or(histogram.start),
        end: query.end.or(histogram.end),
        total,
        by_service,
        top_operations: top_of(operations, top),
        top_actors: top_of(actors, top),
        by_result: top_of(results, MAX_TOP as usize),
        scanned: scanned as u64,
        sampled: (scanned as u64) < total,
        bucket_seconds: histogram.bucket_seconds,
        histogram: histogram
            .buckets
            .into_iter()
            .filter(|b| b.count > 0)
            .map(|b| Bucket {
                start: b.start,
                count: b.count,
            })
            .collect(),
    })
}

/// Most first; ties by value, so the answer is the same every time.
fn sort_counts(counts: &mut [Count]) {
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
}

fn top_of(map: HashMap<String, u64>, n: usize) -> Vec<Count> {
    let mut counts: Vec<Count> = map
        .into_iter()
        .filter(|(value, _)| !value.is_empty())
        .map(|(value, count)| Count { value, count })
        .collect();
    sort_counts(&mut counts);
    counts.truncate(n);
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_keeps_the_most_frequent_with_stable_ties() {
        let map: HashMap<String, u64> = [("b", 2), ("a", 2), ("c", 5), ("", 9), ("d", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let top = top_of(map, 3);
        let values: Vec<&str> = top.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, ["c", "a", "b"]);
    }
}
