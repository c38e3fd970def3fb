use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Cursor, Event};

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

/// Distinct values for the UI's dropdowns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FilterOptions {
    pub services: Vec<String>,
    pub operations: Vec<String>,
    pub results: Vec<String>,
    pub actors: Vec<String>,
}
