//! The tools' inputs (their JSON schemas, with descriptions, are what assistants read) and the
//! shapes they answer with.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aoc_app::alerting::AlertParams;
use aoc_app::ask::{AskFilters, AskRequest};
use aoc_app::events::EventParams;
use aoc_domain::Event;

/// Most events one timeline returns.
pub const MAX_TIMELINE: u32 = 500;
pub const DEFAULT_TIMELINE: u32 = 100;

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct SearchEventsParams {
    /// Exact service (workload), e.g. `Exchange`, `SharePoint`, `AzureActiveDirectory`,
    /// `MicrosoftTeams`, `Intune`. `get_summary` lists the services present.
    pub service: Option<String>,
    /// Exact actor as displayed (usually a UPN such as `admin@contoso.com`).
    pub actor: Option<String>,
    /// Exact operation, e.g. `Add member to role.` or `FileDownloaded`.
    pub operation: Option<String>,
    /// Outcome: `success`, `failure`, `partial` or `unknown`.
    pub result: Option<String>,
    /// Inclusive lower bound, RFC 3339 (e.g. `2026-03-01T00:00:00Z`; a bare date is UTC).
    pub start: Option<String>,
    /// Inclusive upper bound, RFC 3339.
    pub end: Option<String>,
    /// Free text: a substring of the actor, a target, the operation or the summary, or words
    /// of the raw record.
    pub search: Option<String>,
    /// Events per page, 1 to 500 (default 50).
    pub page_size: Option<u32>,
    /// The `next_cursor` of the previous page, to read older events.
    pub cursor: Option<String>,
}

impl SearchEventsParams {
    pub fn to_event_params(&self) -> EventParams {
        EventParams {
            service: self.service.clone(),
            actor: self.actor.clone(),
            operation: self.operation.clone(),
            result: self.result.clone(),
            start: self.start.clone(),
            end: self.end.clone(),
            search: self.search.clone(),
            page_size: self.page_size.map(|n| n.to_string()),
            cursor: self.cursor.clone(),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetEventParams {
    /// The event's id, as `search_events` returns it.
    pub id: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListAlertsParams {
    /// `open`, `acknowledged` or `resolved`.
    pub status: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: Option<String>,
    /// A rule id.
    pub rule: Option<String>,
    /// Alerts raised at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Alerts raised at or before this time (RFC 3339).
    pub until: Option<String>,
    /// Alerts per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListAlertsParams {
    pub fn to_alert_params(&self) -> AlertParams {
        AlertParams {
            status: self.status.clone(),
            severity: self.severity.clone(),
            rule: self.rule.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
            limit: self.limit.map(|n| n.to_string()),
            cursor: self.cursor.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct TimelineParams {
    /// Exact actor (usually a UPN): the events this person or app did.
    pub actor: Option<String>,
    /// A target (user, group, file, mailbox...): matched as free text, so a UPN or a display
    /// name finds the events naming it.
    pub target: Option<String>,
    /// Inclusive lower bound, RFC 3339.
    pub start: Option<String>,
    /// Inclusive upper bound, RFC 3339.
    pub end: Option<String>,
    /// Most events to return, 1 to 500 (default 100); the newest are kept.
    pub limit: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct AskParams {
    /// A question in plain language, e.g. "who reset passwords yesterday?" or "top 5
    /// operations this week". Answered from the events the caller may see, without a language
    /// model when none is configured.
    pub question: String,
    /// Narrow to this service (exact) before the question's own filters.
    pub service: Option<String>,
    /// Narrow to this actor (exact) first.
    pub actor: Option<String>,
    /// Inclusive lower bound, RFC 3339, when the question names no time.
    pub start: Option<String>,
    /// Inclusive upper bound, RFC 3339.
    pub end: Option<String>,
    /// The zone the question's dates are read in (an IANA name such as `Europe/Paris`, or an
    /// offset such as `+02:00`); UTC when absent.
    pub time_zone: Option<String>,
}

impl AskParams {
    pub fn to_request(&self) -> AskRequest {
        AskRequest {
            question: self.question.clone(),
            filters: AskFilters {
                service: self.service.clone(),
                actor: self.actor.clone(),
                start: self.start.clone(),
                end: self.end.clone(),
                ..AskFilters::default()
            },
            time_zone: self.time_zone.clone(),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExplainEventParams {
    /// The event's id, as `search_events` returns it.
    pub id: String,
}

/// An event without its raw record: what a list shows. `get_event` gives the whole event.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventView {
    pub id: String,
    pub timestamp: DateTime<Utc>,
    pub service: String,
    pub operation: String,
    pub result: String,
    pub actor: String,
    pub targets: Vec<String>,
    pub summary: String,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.clone(),
            timestamp: e.timestamp,
            service: e.service.clone(),
            operation: e.operation.clone(),
            result: e.result.clone(),
            actor: e.actor_display.clone(),
            targets: e.target_displays.clone(),
            summary: e.display_summary.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EventPageView {
    pub events: Vec<EventView>,
    /// Pass back as `cursor` for older events; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TimelineView {
    /// Oldest first.
    pub events: Vec<EventView>,
    /// More matching events exist than `limit` allowed (the oldest were left out).
    pub truncated: bool,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}
