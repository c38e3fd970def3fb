//! Questions in plain language, read without a language model: "who reset passwords
//! yesterday?", "failed mail forwarding changes by adele@contoso.com since Monday", "top 5
//! operations this week in Europe/Paris". [`parse_question`] turns one into an [`AskQuery`]: the
//! `/api/events` filters it means (shown to the asker, who can apply them) plus what those
//! filters cannot say (operation patterns of an intent, an aggregation).
//!
//! Pure: the current time, the zone and the known names are inputs, so a question always reads
//! the same way in tests.

mod count;
mod people;
mod time;
mod vocab;
mod zones;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use count::{Aggregation, DEFAULT_TOP, GroupBy, MAX_TOP};
pub use vocab::{INTENTS, Intent, intent};
pub use zones::{Zone, known_zone_names};

use crate::Event;
use people::Mention;

/// What a question asks for. The first fields are `/api/events` filters of the same names;
/// `operations` (from an intent) and `aggregation` are applied by the ask service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AskQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Exact actor, as stored (matched from the known actors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Exact operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// `success` or `failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Free text, as `/api/events?search=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// The zone the time range was read in (`UTC`, `Europe/Paris`, `+02:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The kind of change asked about (`role_assigned`, `password_reset`, `deleted`, `consent`,
    /// `forwarding`, `sharing_link`, `wipe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// The intent as operation-name fragments: an event matches when its operation contains any
    /// of them, ignoring case (not an `/api/events` filter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// Entra ID events: the Management API's `AzureActiveDirectory` workload and every Graph
    /// directory audit, whose service is its category (`UserManagement`, `RoleManagement`...),
    /// so no one `service` filter covers them (not an `/api/events` filter).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub entra: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Aggregation>,
}

impl AskQuery {
    /// Whether the query asks for something the store cannot filter on (`entra`, an intent
    /// or operation fragments): matches are then found with [`AskQuery::matches_beyond_filters`].
    pub fn needs_matching(&self) -> bool {
        self.entra || self.intent.is_some() || !self.operations.is_empty()
    }

    /// Whether an event passes the parts of the query the store cannot apply.
    pub fn matches_beyond_filters(&self, event: &Event) -> bool {
        (!self.entra || is_entra(event)) && self.matches_intent(event)
    }

    fn matches_intent(&self, event: &Event) -> bool {
        let Some(name) = self.intent.as_deref() else {
            return self.operations.is_empty() || operation_matches(&self.operations, event);
        };
        if operation_matches(&self.operations, event) {
            return true;
        }
        match intent(name).and_then(|i| i.mentions) {
            Some(word) => event.raw.to_string().to_lowercase().contains(word),
            None => false,
        }
    }

    /// No filter at all: the question named nothing AOC understood.
    pub fn is_empty(&self) -> bool {
        let Self {
            service,
            actor,
            operation,
            result,
            search,
            start,
            end,
            time_zone: _,
            intent,
            operations,
            entra,
            aggregation: _,
        } = self;
        service.is_none()
            && actor.is_none()
            && operation.is_none()
            && result.is_none()
            && search.is_none()
            && start.is_none()
            && end.is_none()
            && intent.is_none()
            && operations.is_empty()
            && !entra
    }
}

/// An Entra ID event: the Management API's workload, or a Graph directory audit (fetched, or
/// imported: then its shape tells).
fn is_entra(event: &Event) -> bool {
    event.service.eq_ignore_ascii_case(ENTRA_SERVICE)
        || event.source == crate::Source::Directory
        || (event.source == crate::Source::Import
            && crate::RecordKind::detect(&event.raw) == Some(crate::RecordKind::Directory))
}

const ENTRA_SERVICE: &str = "AzureActiveDirectory";

fn operation_matches(patterns: &[String], event: &Event) -> bool {
    let op = event.operation.to_lowercase();
    patterns.iter().any(|p| op.contains(&p.to_lowercase()))
}

/// What the question is read against.
#[derive(Debug, Clone)]
pub struct AskContext<'a> {
    pub now: DateTime<Utc>,
    /// The zone used when the question names none.
    pub zone: Zone,
    /// Actors the asker may see (the filter options), spelled as stored.
    pub known_actors: &'a [String],
    /// Targets the asker may see.
    pub known_targets: &'a [String],
}

/// The reading of a question.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Parsed {
    pub query: AskQuery,
    /// How each part was read, in words ("time: yesterday (2026-03-02) in UTC").
    pub understood: Vec<String>,
    /// Parts that were ignored or could not be read.
    pub warnings: Vec<String>,
}

/// Longest question read; the rest is ignored (with a warning).
pub const MAX_QUESTION_CHARS: usize = 500;

const TRIM: &[char] = &[
    '?', '!', ',', ';', ':', '"', '\'', '(', ')', '[', ']', '{', '}', '.', '\u{201c}', '\u{201d}',
    '\u{2018}', '\u{2019}', '`',
];

/// Split like a question: whitespace-separated, punctuation around words dropped, a trailing
/// possessive `'s` dropped, lower case.
pub fn words_of(text: &str) -> Vec<String> {
    original_words(text)
        .into_iter()
        .map(|w| w.to_lowercase())
        .collect()
}

fn original_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            let w = w.trim_matches(TRIM);
            let w = w
                .strip_suffix("'s")
                .or_else(|| w.strip_suffix("\u{2019}s"))
                .unwrap_or(w);
            w.trim_matches(TRIM).to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// A quoted phrase ("..." or curly quotes): taken as free text, verbatim.
fn quoted(text: &str) -> Option<(String, String)> {
    for (open, close) in [('"', '"'), ('\u{201c}', '\u{201d}')] {
        if let Some(a) = text.find(open) {
            let after = &text[a + open.len_utf8()..];
            if let Some(b) = after.find(close) {
                let phrase = after[..b].trim().to_string();
                if !phrase.is_empty() {
                    let rest = format!("{} {}", &text[..a], &after[b + close.len_utf8()..]);
                    return Some((phrase, rest));
                }
            }
        }
    }
    None
}

/// Read a question (see the module doc).
pub fn parse_question(question: &str, ctx: &AskContext<'_>) -> Parsed {
    let mut warnings = Vec::new();
    let mut understood = Vec::new();
    let mut query = AskQuery::default();
    let mut text: String = question.chars().take(MAX_QUESTION_CHARS).collect();
    if question.chars().count() > MAX_QUESTION_CHARS {
        warnings.push(format!(
            "only the first {MAX_QUESTION_CHARS} characters of the question were read"
        ));
    }
    if let Some((phrase, rest)) = quoted(&text) {
        understood.push(format!("text: \"{phrase}\""));
        query.search = Some(phrase);
        text = rest;
    }
    let original = original_words(&text);
    let mut words: Vec<String> = original.iter().map(|w| w.to_lowercase()).collect();

    // People first, so a name's words are not read as anything else.
    for found in people::find_mentions(&words, &original, ctx.known_actors, ctx.known_targets) {
        match found.mention {
            Mention::Actor(name) => {
                if let Some(first) = &query.actor {
                    warnings.push(format!(
                        "several people named; showing events by {first} only (not {name})"
                    ));
                } else {
                    understood.push(format!("actor: {name}"));
                    query.actor = Some(name);
                }
            }
            Mention::Text(name) => {
                if let Some(first) = &query.search {
                    warnings.push(format!(
                        "several objects named; searching for \"{first}\" only (not \"{name}\")"
                    ));
                } else {
                    understood.push(format!("text: \"{name}\""));
                    query.search = Some(name);
                }
            }
        }
        for w in words.iter_mut().skip(found.first_word).take(found.words) {
            w.clear();
        }
    }

    let zone = read_zone(&mut words, &original, &ctx.zone, &mut warnings);
    if let Some(range) = time::find_range(&words, ctx.now, &zone) {
        understood.push(format!("time: {} in {}", range.label, zone.name()));
        query.start = Some(range.start);
        query.end = Some(range.end);
        query.time_zone = Some(zone.name().to_string());
    }

    let services = vocab::services_in(&words);
    if let Some(first) = services.first() {
        if first == ENTRA_SERVICE {
            understood.push("service: Entra ID (directory audits and AzureActiveDirectory)".into());
            query.entra = true;
        } else {
            understood.push(format!("service: {first}"));
            query.service = Some(first.clone());
        }
        if services.len() > 1 {
            warnings.push(format!(
                "several services named; showing {first} only (not {})",
                services[1..].join(", ")
            ));
        }
    }

    let intents = vocab::intents_in(&words);
    if let Some(first) = intents.first() {
        understood.push(format!("about: {}", first.name.replace('_', " ")));
        query.intent = Some(first.name.to_string());
        query.operations = first.operations.iter().map(|s| s.to_string()).collect();
        if intents.len() > 1 {
            let rest: Vec<String> = intents[1..]
                .iter()
                .map(|i| i.name.replace('_', " "))
                .collect();
            warnings.push(format!(
                "several kinds of change named; showing {} only (not {})",
                first.name.replace('_', " "),
                rest.join(", ")
            ));
        }
    }

    if let Some(outcome) = vocab::outcome_in(&words) {
        understood.push(format!("result: {outcome}"));
        query.result = Some(outcome.to_string());
    }

    query.aggregation = count::aggregation_in(&words);
    match &query.aggregation {
        Some(Aggregation::Count) => understood.push("count the events".into()),
        Some(Aggregation::Top { by, limit }) => {
            understood.push(format!("top {limit} by {}", group_name(*by)))
        }
        None => {}
    }
    Parsed {
        query,
        understood,
        warnings,
    }
}

pub fn group_name(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Actor => "actor",
        GroupBy::Operation => "operation",
        GroupBy::Service => "service",
        GroupBy::Target => "target",
        GroupBy::Result => "result",
    }
}

/// The zone the question names ("in UTC", "UTC+2", "Europe/Paris"), its words cleared; the
/// default when it names none, or one the table does not know (with a warning).
fn read_zone(
    words: &mut [String],
    original: &[String],
    default: &Zone,
    warnings: &mut Vec<String>,
) -> Zone {
    for (i, word) in words.iter_mut().enumerate() {
        let w = word.clone();
        if w.is_empty() {
            continue;
        }
        let offset_like = (w.starts_with("utc") || w.starts_with("gmt"))
            || ((w.starts_with('+') || w.starts_with('-'))
                && w[1..].chars().next().is_some_and(|c| c.is_ascii_digit()));
        let named = w.contains('/')
            && w.split('/')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphabetic() || c == '_'));
        if !offset_like && !named {
            continue;
        }
        match Zone::parse(&w) {
            Some(zone) => {
                word.clear();
                return zone;
            }
            None if named => {
                word.clear();
                warnings.push(format!(
                    "unknown time zone {}; times are read in {} (write an offset such as UTC+2 instead)",
                    original.get(i).map(String::as_str).unwrap_or(&w),
                    default.name()
                ));
                return default.clone();
            }
            None => {}
        }
    }
    default.clone()
}
