//! The question's reading merged with the asker's active filters: the question narrows. A
//! filter the question names differently is replaced (and said so); time ranges intersect; a
//! second free-text term is applied here, after the store's search.

use aoc_domain::Event;
use aoc_domain::ask::AskQuery;

use super::{AskFilters, params_of};
use crate::error::{AppError, AppResult};
use crate::events::{EventParams, parse_time};

pub(crate) struct Merged {
    pub query: AskQuery,
    pub params: EventParams,
    /// Free-text terms every match must contain too (ignoring case).
    pub extra_terms: Vec<String>,
}

fn blank_to_none(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn pick(
    name: &str,
    parsed: &Option<String>,
    active: &Option<String>,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let active = blank_to_none(active);
    match (parsed, active) {
        (Some(p), Some(a)) if !p.eq_ignore_ascii_case(&a) => {
            warnings.push(format!(
                "the question asks for {name} {p}: it replaces the active filter {name} {a}"
            ));
            Some(p.clone())
        }
        (Some(p), _) => Some(p.clone()),
        (None, a) => a,
    }
}

pub(crate) fn merge(
    parsed: &AskQuery,
    filters: &AskFilters,
    warnings: &mut Vec<String>,
) -> AppResult<Merged> {
    let mut query = parsed.clone();
    query.service = pick("service", &parsed.service, &filters.service, warnings);
    query.actor = pick("actor", &parsed.actor, &filters.actor, warnings);
    query.operation = pick("operation", &parsed.operation, &filters.operation, warnings);
    query.result = pick("result", &parsed.result, &filters.result, warnings);
    let mut extra_terms = Vec::new();
    match (&parsed.search, blank_to_none(&filters.search)) {
        (Some(_), Some(active)) => extra_terms.push(active),
        (None, active) => query.search = active,
        (Some(_), None) => {}
    }
    let active_start = blank_to_none(&filters.start)
        .map(|s| parse_time("filters.start", &s))
        .transpose()?;
    let active_end = blank_to_none(&filters.end)
        .map(|s| parse_time("filters.end", &s))
        .transpose()?;
    query.start = match (parsed.start, active_start) {
        (Some(p), Some(a)) => Some(p.max(a)),
        (p, a) => p.or(a),
    };
    query.end = match (parsed.end, active_end) {
        (Some(p), Some(a)) => Some(p.min(a)),
        (p, a) => p.or(a),
    };
    if let (Some(s), Some(e)) = (query.start, query.end)
        && s > e
    {
        return Err(AppError::BadRequest(
            "the question's time range does not overlap the active filters' range".into(),
        ));
    }
    let params = params_of(&query);
    Ok(Merged {
        query,
        params,
        extra_terms,
    })
}

/// Whether the event's words (summary, actor, targets, operation, raw record) contain every
/// term, ignoring case.
pub(crate) fn has_terms(event: &Event, terms: &[String]) -> bool {
    if terms.is_empty() {
        return true;
    }
    let text = format!(
        "{}\n{}\n{}\n{}\n{}",
        event.display_summary,
        event.actor_display,
        event.target_displays.join("\n"),
        event.operation,
        event.raw
    )
    .to_lowercase();
    terms.iter().all(|t| text.contains(&t.to_lowercase()))
}
