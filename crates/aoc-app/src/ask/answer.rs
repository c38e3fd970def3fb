//! The answer in words without a model: the figures, the busiest actors, the newest events.

use super::{AggregationResult, Found};
use aoc_domain::ask::group_name;

/// Events described one by one at most.
const LISTED: usize = 3;

pub(super) fn build(
    understood: &[String],
    found: &Found,
    aggregation: Option<&AggregationResult>,
) -> String {
    let mut parts = Vec::new();
    let scope = if understood.is_empty() {
        String::new()
    } else {
        format!(" ({})", understood.join("; "))
    };
    let partial = if found.partial { "at least " } else { "" };
    match found.total {
        0 => parts.push(format!("No events match{scope}.")),
        1 => parts.push(format!("1 event matches{scope}.")),
        n => parts.push(format!("{partial}{n} events match{scope}.")),
    }
    if let Some(agg) = aggregation
        && let Some(by) = agg.by
        && !agg.groups.is_empty()
    {
        let ranked: Vec<String> = agg
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| format!("{}. {} ({})", i + 1, g.key, g.count))
            .collect();
        parts.push(format!(
            "Top {} by {}: {}.",
            agg.groups.len(),
            group_name(by),
            ranked.join(", ")
        ));
    } else if found.total > 0 {
        let actors = found.top_actors(3);
        if !actors.is_empty() {
            let names: Vec<String> = actors
                .iter()
                .map(|g| format!("{} ({})", g.key, g.count))
                .collect();
            let among = if (found.matched.len() as u64) < found.total {
                format!(" among the newest {}", found.matched.len())
            } else {
                String::new()
            };
            parts.push(format!("Most active{among}: {}.", names.join(", ")));
        }
    }
    if !found.shown.is_empty() {
        let latest: Vec<String> = found
            .shown
            .iter()
            .take(LISTED)
            .map(|e| {
                format!(
                    "{} ({} UTC, {})",
                    e.display_summary.trim_end_matches('.'),
                    e.timestamp.format("%Y-%m-%d %H:%M"),
                    e.result
                )
            })
            .collect();
        parts.push(format!("Latest: {}.", latest.join("; ")));
    }
    parts.join(" ")
}
