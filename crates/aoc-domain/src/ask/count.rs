//! Counting questions: "how many", "who made the most changes", "top 5 operations".

use serde::{Deserialize, Serialize};

/// What to group events by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    Actor,
    Operation,
    Service,
    Target,
    Result,
}

/// Count the matching events, or rank groups of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Aggregation {
    /// How many events match.
    Count,
    /// The `limit` largest groups, by count.
    Top { by: GroupBy, limit: u32 },
}

pub const DEFAULT_TOP: u32 = 5;
pub const MAX_TOP: u32 = 50;

fn group_word(word: &str) -> Option<GroupBy> {
    Some(match word {
        "actor" | "actors" | "user" | "users" | "admin" | "admins" | "administrators"
        | "people" | "person" | "who" | "accounts" => GroupBy::Actor,
        "operation" | "operations" | "action" | "actions" | "activities" | "activity"
        | "changes" | "events" => GroupBy::Operation,
        "service" | "services" | "workload" | "workloads" => GroupBy::Service,
        "target" | "targets" | "object" | "objects" => GroupBy::Target,
        "result" | "results" | "outcome" | "outcomes" => GroupBy::Result,
        _ => return None,
    })
}

/// The aggregation a question asks for, if it is a counting question.
pub fn aggregation_in(words: &[String]) -> Option<Aggregation> {
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let has = |w: &str| words.iter().any(|x| x == w);
    // "top 5 operations", "top operations", "5 most common services"
    for i in 0..words.len() {
        if word(i) == "top" {
            let (limit, j) = match word(i + 1).parse::<u32>() {
                Ok(n) => (n, i + 2),
                Err(_) => (DEFAULT_TOP, i + 1),
            };
            let by = (j..words.len().min(j + 3))
                .find_map(|k| group_word(word(k)))
                .unwrap_or(GroupBy::Actor);
            return Some(Aggregation::Top {
                by,
                limit: limit.clamp(1, MAX_TOP),
            });
        }
    }
    if has("most") || has("busiest") {
        let limit = words
            .iter()
            .find_map(|w| w.parse::<u32>().ok())
            .unwrap_or(DEFAULT_TOP)
            .clamp(1, MAX_TOP);
        // "who made the most changes" ranks people even though "changes" names operations.
        let by = if has("who")
            || has("which") && words.iter().any(|w| group_word(w) == Some(GroupBy::Actor))
        {
            GroupBy::Actor
        } else {
            let after = words
                .iter()
                .position(|w| w == "most" || w == "busiest")
                .unwrap_or(0);
            words[after..]
                .iter()
                .find_map(|w| group_word(w))
                .unwrap_or(GroupBy::Actor)
        };
        return Some(Aggregation::Top { by, limit });
    }
    if has("how") && (has("many") || has("much")) || has("count") || has("number") {
        // "how many per service", "count by actor"
        for i in 0..words.len() {
            if matches!(word(i), "per" | "by" | "each")
                && let Some(by) = group_word(word(i + 1))
            {
                return Some(Aggregation::Top { by, limit: 10 });
            }
        }
        return Some(Aggregation::Count);
    }
    None
}
