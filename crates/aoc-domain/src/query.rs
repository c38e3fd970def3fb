use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Comment, Cursor, Event, Source};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

/// A validated search over stored events. Exact-match filters are compared as given;
/// `search` is free text (see the store's documentation for what it matches).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventQuery {
    pub service: Option<String>,
    pub actor: Option<String>,
    pub operation: Option<String>,
    pub result: Option<String>,
    /// Inclusive lower bound.
    pub start: Option<DateTime<Utc>>,
    /// Inclusive upper bound.
    pub end: Option<DateTime<Utc>>,
    pub search: Option<String>,
    /// Services hidden from this caller (privacy gating); applied by every read path.
    pub hidden_services: Vec<String>,
    /// Operations hidden from this caller (privacy gating).
    pub hidden_operations: Vec<String>,
    /// Already clamped to 1..=MAX_PAGE_SIZE.
    pub page_size: u32,
    /// Continue after this key (newest first).
    pub cursor: Option<Cursor>,
}

impl EventQuery {
    /// Clamp a requested page size into 1..=MAX_PAGE_SIZE (None -> default).
    pub fn clamp_page_size(requested: Option<i64>) -> u32 {
        match requested {
            None => DEFAULT_PAGE_SIZE,
            Some(n) => n.clamp(1, i64::from(MAX_PAGE_SIZE)) as u32,
        }
    }
}

/// One page of results, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page {
    pub items: Vec<Event>,
    /// Opaque cursor for the next page; None on the last page.
    pub next_cursor: Option<String>,
}

/// Which shape a list of events takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventView {
    /// Every field, the raw record included: what a list returned before views existed.
    #[default]
    Full,
    /// [`EventSummary`] rows: what a list needs, read without the stored bodies.
    Summary,
}

impl std::str::FromStr for EventView {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "full" => Ok(EventView::Full),
            "summary" => Ok(EventView::Summary),
            other => Err(format!(
                "invalid view '{}': expected full or summary",
                other.chars().take(32).collect::<String>()
            )),
        }
    }
}

/// An event as a list row: every field of [`Event`] except the source's own objects
/// (`actor`, `targets`, `raw`), which the stores keep in a body that a list does not need to
/// read. `GET /api/events/{id}` returns the whole event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventSummary {
    pub id: String,
    pub source: Source,
    /// RFC 3339, UTC.
    pub timestamp: DateTime<Utc>,
    pub service: String,
    pub operation: String,
    /// `success`, `failure`, `partial` or `unknown`.
    pub result: String,
    /// The source's own result value, "" when the record has none.
    pub result_detail: String,
    pub actor_display: String,
    pub target_displays: Vec<String>,
    pub display_summary: String,
    pub dedupe_key: String,
    pub tags: Vec<String>,
    pub comments: Vec<Comment>,
}

impl From<Event> for EventSummary {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            source: e.source,
            timestamp: e.timestamp,
            service: e.service,
            operation: e.operation,
            result: e.result,
            result_detail: e.result_detail,
            actor_display: e.actor_display,
            target_displays: e.target_displays,
            display_summary: e.display_summary,
            dedupe_key: e.dedupe_key,
            tags: e.tags,
            comments: e.comments,
        }
    }
}

/// One page of [`EventSummary`] rows, newest first; the same events and cursors as the
/// [`Page`] of the same query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SummaryPage {
    pub items: Vec<EventSummary>,
    /// Opaque cursor for the next page; None on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page> for SummaryPage {
    fn from(page: Page) -> Self {
        Self {
            items: page.items.into_iter().map(EventSummary::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// Distinct values for the UI's dropdowns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FilterOptions {
    pub services: Vec<String>,
    pub operations: Vec<String>,
    pub results: Vec<String>,
    pub actors: Vec<String>,
}
