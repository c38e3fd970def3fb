//! `POST /api/ask` and `POST /api/events/{id}/explain` as services, for every door (REST, MCP).
//!
//! A question is read by `aoc_domain::ask` (no model needed), merged with the asker's active
//! filters, and run through the [`EventService`], so privacy gating applies exactly as for a
//! listing. The answer is built from counts, the busiest actors and the events; with a model
//! configured, a narrative replaces it, grounded in (and citing) the events returned, with any
//! other cited id removed. A model that fails or is slow leaves the built answer and a warning.

mod answer;
pub mod explain;
mod merge;

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use aoc_domain::Event;
use aoc_domain::ask::{Aggregation, AskContext, AskQuery, GroupBy, Zone, parse_question};

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::events::{EventParams, EventService};
use crate::llm::{LlmClient, cite, prompt};

pub use explain::{Change, Explanation};

/// Longest question accepted.
pub const MAX_QUESTION_CHARS: usize = 1000;
/// Events returned with an answer.
pub const EVENTS_SHOWN: usize = 50;
/// Events read at most to count an intent or rank groups; beyond it the figures are partial
/// (and say so).
pub const SCAN_LIMIT: usize = 5000;
const SCAN_PAGE: &str = "500";

/// The active `/api/events` filters of the asker's view, all optional and as the query string
/// would carry them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AskFilters {
    pub service: Option<String>,
    pub actor: Option<String>,
    pub operation: Option<String>,
    pub result: Option<String>,
    pub search: Option<String>,
    /// RFC 3339.
    pub start: Option<String>,
    /// RFC 3339.
    pub end: Option<String>,
}

/// `POST /api/ask`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AskRequest {
    /// The question, in plain language (at most 1000 characters).
    pub question: String,
    /// The filters active in the asker's view; the question narrows them.
    #[serde(default)]
    pub filters: AskFilters,
    /// The zone the question's dates are read in when it names none (an IANA name from AOC's
    /// table, or an offset such as `+02:00`); UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// One group of a ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupCount {
    pub key: String,
    pub count: u64,
}

/// The figures a counting question asked for.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AggregationResult {
    /// `count` or `top`.
    pub kind: String,
    /// What `top` grouped by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<GroupBy>,
    /// Matching events (of those read, when `complete` is false).
    pub total: u64,
    /// Largest groups first (`top` only).
    pub groups: Vec<GroupCount>,
    /// False when more than SCAN_LIMIT events had to be read: the figures cover the newest.
    pub complete: bool,
}

/// The answer of `POST /api/ask`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AskAnswer {
    /// The answer in words: the model's narrative when `llm_used`, else built from the figures.
    pub answer: String,
    /// What was run: the question's reading merged with the active filters. Its `service`,
    /// `actor`, `operation`, `result`, `search`, `start` and `end` are `/api/events` filters.
    pub query: AskQuery,
    /// How the question was read, part by part.
    pub understood: Vec<String>,
    /// The newest matching events (at most 50), newest first.
    pub events: Vec<Event>,
    /// How many events match (of those read, when the aggregation says incomplete).
    pub total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<AggregationResult>,
    pub llm_used: bool,
    /// Ids the narrative cites, each among `events`.
    pub cited_event_ids: Vec<String>,
    pub warnings: Vec<String>,
}

/// The ask and explain services.
#[derive(Clone)]
pub struct AskService {
    events: EventService,
    llm: Option<LlmClient>,
}

impl AskService {
    pub fn new(events: EventService, llm: Option<LlmClient>) -> Self {
        Self { events, llm }
    }

    pub fn llm_configured(&self) -> bool {
        self.llm.is_some()
    }

    pub async fn ask(&self, request: &AskRequest, caller: &Caller) -> AppResult<AskAnswer> {
        let question = request.question.trim();
        if question.is_empty() {
            return Err(AppError::BadRequest("question must not be empty".into()));
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AppError::BadRequest(format!(
                "question is longer than {MAX_QUESTION_CHARS} characters"
            )));
        }
        let zone = match request.time_zone.as_deref().map(str::trim) {
            None | Some("") => Zone::utc(),
            Some(z) => Zone::parse(z).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "unknown time_zone '{}': use an offset such as +02:00 or one of {}",
                    z.chars().take(64).collect::<String>(),
                    aoc_domain::ask::known_zone_names()
                        .take(8)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        };
        // Only names this caller may see are matched: the filter options are gated too, and
        // targets come from the newest events the caller may see.
        let known = self.events.filter_options(caller).await?;
        let targets = self.recent_targets(caller).await?;
        let parsed = parse_question(
            question,
            &AskContext {
                now: Utc::now(),
                zone,
                known_actors: &known.actors,
                known_targets: &targets,
            },
        );
        let mut warnings = parsed.warnings.clone();
        let merged = merge::merge(&parsed.query, &request.filters, &mut warnings)?;
        let found = self.find(&merged, caller).await?;
        if found.partial {
            warnings.push(format!(
                "more than {SCAN_LIMIT} events match the filters: figures cover the newest {SCAN_LIMIT}"
            ));
        }
        if merged.query.is_empty() {
            warnings
                .push("no filter was recognised in the question: showing the newest events".into());
        }
        let aggregation = merged
            .query
            .aggregation
            .as_ref()
            .map(|a| found.aggregate(a));
        let built = answer::build(&parsed.understood, &found, aggregation.as_ref());
        let mut out = AskAnswer {
            answer: built,
            query: merged.query.clone(),
            understood: parsed.understood.clone(),
            total: found.total,
            events: found.shown.clone(),
            aggregation,
            llm_used: false,
            cited_event_ids: Vec::new(),
            warnings,
        };
        if let Some(llm) = &self.llm
            && !out.events.is_empty()
        {
            self.narrate(llm, question, &mut out).await;
        }
        Ok(out)
    }

    /// Distinct target names of the newest visible events (the store keeps no target list).
    async fn recent_targets(&self, caller: &Caller) -> AppResult<Vec<String>> {
        let params = EventParams {
            page_size: Some(SCAN_PAGE.into()),
            ..EventParams::default()
        };
        let page = self.events.list(&params, caller).await?;
        let mut seen = HashSet::new();
        Ok(page
            .items
            .iter()
            .flat_map(|e| e.target_displays.iter())
            .filter(|t| t.chars().count() >= 3 && seen.insert(t.to_lowercase()))
            .cloned()
            .collect())
    }

    /// Replace the built answer by the model's narrative over the events returned (or keep it
    /// and warn).
    async fn narrate(&self, llm: &LlmClient, question: &str, out: &mut AskAnswer) {
        let given: Vec<Event> = out.events.iter().take(llm.max_events).cloned().collect();
        let facts = json!({
            "matching_events": out.total,
            "events_given": given.len(),
            "read_as": out.understood,
            "aggregation": out.aggregation,
        });
        let user = prompt::ask_user(question, &given, &facts);
        match llm.complete(&prompt::ask_system(), &user).await {
            Ok(text) => {
                let ids: HashSet<&str> = given.iter().map(|e| e.id.as_str()).collect();
                let checked = cite::check(&text, &ids);
                if !checked.unknown.is_empty() {
                    out.warnings.push(format!(
                        "the narrative cited {} id(s) that are not among the events returned; \
                         they were removed",
                        checked.unknown.len()
                    ));
                }
                out.answer = checked.text;
                out.cited_event_ids = checked.cited;
                out.llm_used = true;
            }
            Err(e) => {
                tracing::warn!(error = %e, endpoint = llm.endpoint(), "ask: language model failed");
                out.warnings
                    .push(format!("{e}; this answer was built without it"));
            }
        }
    }

    /// The matching events: one page when the store can apply every filter, else a scan of up
    /// to SCAN_LIMIT events with the rest applied here.
    async fn find(&self, merged: &merge::Merged, caller: &Caller) -> AppResult<Found> {
        let needs_scan = merged.query.needs_matching()
            || !merged.extra_terms.is_empty()
            || matches!(merged.query.aggregation, Some(Aggregation::Top { .. }));
        let mut params = merged.params.clone();
        if !needs_scan {
            params.page_size = Some(EVENTS_SHOWN.to_string());
            let page = self.events.list(&params, caller).await?;
            let total = self.events.count(&params, caller).await?;
            return Ok(Found {
                matched: page.items.clone(),
                shown: page.items,
                total,
                partial: false,
            });
        }
        params.page_size = Some(SCAN_PAGE.into());
        let mut matched = Vec::new();
        let mut read = 0usize;
        let mut partial = false;
        loop {
            let page = self.events.list(&params, caller).await?;
            read += page.items.len();
            matched.extend(page.items.into_iter().filter(|e| {
                merged.query.matches_beyond_filters(e) && merge::has_terms(e, &merged.extra_terms)
            }));
            match page.next_cursor {
                Some(c) if read < SCAN_LIMIT => params.cursor = Some(c),
                Some(_) => {
                    partial = true;
                    break;
                }
                None => break,
            }
        }
        Ok(Found {
            shown: matched.iter().take(EVENTS_SHOWN).cloned().collect(),
            total: matched.len() as u64,
            matched,
            partial,
        })
    }

    /// `POST /api/events/{id}/explain`: the event as the caller may see it (hidden = 404).
    pub async fn explain(&self, id: &str, caller: &Caller) -> AppResult<Explanation> {
        let event = self.events.get(id, caller).await?;
        let mut explanation = explain::build(&event);
        if let Some(llm) = &self.llm {
            let built = serde_json::to_value(&explanation).unwrap_or_default();
            let user = prompt::explain_user(&event, &built);
            match llm.complete(&prompt::explain_system(), &user).await {
                Ok(text) => {
                    let ids: HashSet<&str> = [event.id.as_str()].into_iter().collect();
                    let checked = cite::check(&text, &ids);
                    if !checked.unknown.is_empty() {
                        explanation.warnings.push(format!(
                            "the narrative cited {} id(s) other than this event's; they were removed",
                            checked.unknown.len()
                        ));
                    }
                    explanation.narrative = Some(checked.text);
                    explanation.llm_used = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, endpoint = llm.endpoint(), "explain: language model failed");
                    explanation
                        .warnings
                        .push(format!("{e}; this explanation was built without it"));
                }
            }
        }
        Ok(explanation)
    }
}

/// The events a question matched.
pub(crate) struct Found {
    /// Every match read (for rankings).
    matched: Vec<Event>,
    /// The newest, returned.
    shown: Vec<Event>,
    total: u64,
    partial: bool,
}

impl Found {
    fn aggregate(&self, aggregation: &Aggregation) -> AggregationResult {
        match aggregation {
            Aggregation::Count => AggregationResult {
                kind: "count".into(),
                by: None,
                total: self.total,
                groups: Vec::new(),
                complete: !self.partial,
            },
            Aggregation::Top { by, limit } => AggregationResult {
                kind: "top".into(),
                by: Some(*by),
                total: self.total,
                groups: top(&self.matched, *by, *limit as usize),
                complete: !self.partial,
            },
        }
    }

    /// The busiest actors among the matches (for the built answer).
    fn top_actors(&self, n: usize) -> Vec<GroupCount> {
        top(&self.matched, GroupBy::Actor, n)
    }
}

fn group_keys(e: &Event, by: GroupBy) -> Vec<String> {
    match by {
        GroupBy::Actor => vec![e.actor_display.clone()],
        GroupBy::Operation => vec![e.operation.clone()],
        GroupBy::Service => vec![e.service.clone()],
        GroupBy::Result => vec![e.result.clone()],
        GroupBy::Target => e.target_displays.clone(),
    }
}

/// The `n` largest groups; ties in name order, so the answer is stable.
fn top(events: &[Event], by: GroupBy, n: usize) -> Vec<GroupCount> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for e in events {
        for key in group_keys(e, by) {
            if !key.is_empty() {
                *counts.entry(key).or_default() += 1;
            }
        }
    }
    let mut groups: Vec<GroupCount> = counts
        .into_iter()
        .map(|(key, count)| GroupCount { key, count })
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    groups.truncate(n);
    groups
}

/// The event filters a merged question runs with.
pub(crate) fn params_of(query: &AskQuery) -> EventParams {
    EventParams {
        service: query.service.clone(),
        actor: query.actor.clone(),
        operation: query.operation.clone(),
        result: query.result.clone(),
        search: query.search.clone(),
        start: query
            .start
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        end: query
            .end
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        ..EventParams::default()
    }
}
