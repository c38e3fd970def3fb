//! The event services every front door (REST, UI, MCP, CLI) calls: one place for input
//! validation, page-size clamping, tag rules and privacy gating.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use aoc_domain::{Comment, Cursor, Event, EventQuery, FilterOptions, Page};
use aoc_store::EventStore;

use crate::caller::Caller;
use crate::config::PrivacySettings;
use crate::error::{AppError, AppResult};

pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_LEN: usize = 64;
pub const MAX_COMMENT_LEN: usize = 10_000;
const MAX_FILTER_LEN: usize = 1_000;
const FILTER_OPTION_LIMIT: u32 = 500;

/// Filters as they arrive from a query string: all text, validated by [`EventParams::to_query`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventParams {
    pub service: Option<String>,
    pub actor: Option<String>,
    pub operation: Option<String>,
    pub result: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub search: Option<String>,
    pub page_size: Option<String>,
    pub cursor: Option<String>,
}

/// Parse a time bound: RFC 3339, or a date / date-time without offset taken as UTC.
pub fn parse_time(name: &str, value: &str) -> AppResult<DateTime<Utc>> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    Err(AppError::BadRequest(format!(
        "invalid {name} '{}': expected an RFC 3339 time such as 2026-01-31T12:00:00Z",
        truncate(v, 64)
    )))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn text_filter(name: &str, value: &Option<String>) -> AppResult<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > MAX_FILTER_LEN => Err(AppError::BadRequest(format!(
            "{name} is longer than {MAX_FILTER_LEN} characters"
        ))),
        Some(v) => Ok(Some(v.to_string())),
    }
}

impl EventParams {
    pub fn to_query(&self, privacy: &PrivacySettings, caller: &Caller) -> AppResult<EventQuery> {
        let start = self
            .start
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_time("start", s))
            .transpose()?;
        let end = self
            .end
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_time("end", s))
            .transpose()?;
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(AppError::BadRequest("start must not be after end".into()));
        }
        let page_size = match self.page_size.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(v.parse::<i64>().map_err(|_| {
                AppError::BadRequest(format!(
                    "invalid page_size '{}': expected a number",
                    truncate(v, 32)
                ))
            })?),
        };
        let cursor = match self.cursor.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(
                Cursor::decode(c)
                    .map_err(|e| AppError::BadRequest(format!("invalid cursor: {e}")))?,
            ),
        };
        let (hidden_services, hidden_operations) = hidden_for(privacy, caller);
        Ok(EventQuery {
            service: text_filter("service", &self.service)?,
            actor: text_filter("actor", &self.actor)?,
            operation: text_filter("operation", &self.operation)?,
            result: text_filter("result", &self.result)?,
            start,
            end,
            search: text_filter("search", &self.search)?,
            hidden_services,
            hidden_operations,
            page_size: EventQuery::clamp_page_size(page_size),
            cursor,
        })
    }
}

/// What privacy gating hides from this caller. Without auth the caller has no roles, so gated
/// events stay hidden: privacy settings are never silently ignored.
pub fn hidden_for(privacy: &PrivacySettings, caller: &Caller) -> (Vec<String>, Vec<String>) {
    if caller.has_any_role(&privacy.service_roles) {
        (Vec::new(), Vec::new())
    } else {
        (
            privacy.services.clone(),
            privacy.sensitive_operations.clone(),
        )
    }
}

fn visible(privacy: &PrivacySettings, caller: &Caller, event: &Event) -> bool {
    let (services, operations) = hidden_for(privacy, caller);
    !services
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&event.service))
        && !operations
            .iter()
            .any(|o| o.eq_ignore_ascii_case(&event.operation))
}

/// Trim each tag, reject empty or over-long ones, drop repeats (first spelling wins) and cap
/// the count.
pub fn validate_tags(tags: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let t = tag.trim();
        let len = t.chars().count();
        if len == 0 || len > MAX_TAG_LEN {
            return Err(AppError::BadRequest(format!(
                "each tag must be 1 to {MAX_TAG_LEN} characters"
            )));
        }
        if t.chars().any(char::is_control) {
            return Err(AppError::BadRequest(
                "tags must not contain control characters".into(),
            ));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(AppError::BadRequest(format!(
            "at most {MAX_TAGS} tags per event"
        )));
    }
    Ok(out)
}

/// Histogram of matching events with an automatic bucket size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Histogram {
    pub bucket_seconds: i64,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub buckets: Vec<HistogramBucket>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct HistogramBucket {
    pub start: DateTime<Utc>,
    pub count: u64,
}

/// Pick the smallest "nice" bucket that keeps the range within about `target` buckets.
pub fn bucket_seconds_for(span_seconds: i64, target: u32) -> i64 {
    const NICE: [i64; 12] = [
        60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800,
    ];
    let target = i64::from(target.max(1));
    NICE.iter()
        .copied()
        .find(|b| span_seconds / b <= target)
        .unwrap_or(604800)
}

#[derive(Clone)]
pub struct EventService {
    store: Arc<dyn EventStore>,
    privacy: PrivacySettings,
}

impl EventService {
    pub fn new(store: Arc<dyn EventStore>, privacy: PrivacySettings) -> Self {
        Self { store, privacy }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    pub fn query(&self, params: &EventParams, caller: &Caller) -> AppResult<EventQuery> {
        params.to_query(&self.privacy, caller)
    }

    pub async fn list(&self, params: &EventParams, caller: &Caller) -> AppResult<Page> {
        let query = self.query(params, caller)?;
        Ok(self.store.search(&query).await?)
    }

    pub async fn count(&self, params: &EventParams, caller: &Caller) -> AppResult<u64> {
        let query = self.query(params, caller)?;
        Ok(self.store.count_matching(&query).await?)
    }

    pub async fn get(&self, id: &str, caller: &Caller) -> AppResult<Event> {
        match self.store.get(id).await? {
            Some(e) if visible(&self.privacy, caller, &e) => Ok(e),
            _ => Err(not_found(id)),
        }
    }

    pub async fn filter_options(&self, caller: &Caller) -> AppResult<FilterOptions> {
        let query = self.query(&EventParams::default(), caller)?;
        Ok(self
            .store
            .filter_options(&query, FILTER_OPTION_LIMIT)
            .await?)
    }

    pub async fn set_tags(&self, id: &str, tags: &[String], caller: &Caller) -> AppResult<Event> {
        let tags = validate_tags(tags)?;
        self.get(id, caller).await?;
        self.store
            .set_tags(id, &tags)
            .await?
            .ok_or_else(|| not_found(id))
    }

    pub async fn add_comment(&self, id: &str, text: &str, caller: &Caller) -> AppResult<Event> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AppError::BadRequest(
                "comment text must not be empty".into(),
            ));
        }
        if text.chars().count() > MAX_COMMENT_LEN {
            return Err(AppError::BadRequest(format!(
                "comment text is longer than {MAX_COMMENT_LEN} characters"
            )));
        }
        self.get(id, caller).await?;
        let comment = Comment {
            author: caller.name.clone(),
            text: text.to_string(),
            created_at: Utc::now(),
        };
        self.store
            .add_comment(id, &comment)
            .await?
            .ok_or_else(|| not_found(id))
    }

    pub async fn histogram(
        &self,
        params: &EventParams,
        target_buckets: u32,
        caller: &Caller,
    ) -> AppResult<Histogram> {
        let query = self.query(params, caller)?;
        let end = query.end.unwrap_or_else(Utc::now);
        let start = match query.start {
            Some(s) => s,
            None => {
                // Without a start the span is the data's: find the oldest matching event cheaply
                // by asking for the histogram at the coarsest size first.
                let coarse = self.store.histogram(&query, 604800).await?;
                coarse
                    .first()
                    .map(|(t, _)| *t)
                    .unwrap_or(end - chrono::Duration::days(1))
            }
        };
        let span = (end - start).num_seconds().max(60);
        let bucket_seconds = bucket_seconds_for(span, target_buckets.clamp(1, 500));
        let buckets: Vec<HistogramBucket> = self
            .store
            .histogram(&query, bucket_seconds)
            .await?
            .into_iter()
            .map(|(start, count)| HistogramBucket { start, count })
            .collect();
        // An open range starts where the data does, not at the coarse pass's week edge (which
        // would draw up to a week of empty axis).
        let start = match (query.start, buckets.first()) {
            (None, Some(first)) => first.start.max(start),
            _ => start,
        };
        Ok(Histogram {
            bucket_seconds,
            start: Some(start),
            end: Some(end),
            buckets,
        })
    }

    /// Walk every matching event in pages (keyset), for streaming exports.
    pub async fn export_page(&self, query: &EventQuery) -> AppResult<Page> {
        Ok(self.store.search(query).await?)
    }
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("event '{}' not found", truncate(id, 128)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn tags_are_trimmed_deduped_and_bounded() {
        let ok = validate_tags(&[" a ".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(ok, vec!["a", "b"]);
        assert!(validate_tags(&["  ".into()]).is_err());
        assert!(validate_tags(&["x".repeat(65)]).is_err());
        assert!(validate_tags(&["x".repeat(64)]).is_ok());
        let many: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
        assert!(validate_tags(&many).is_err());
        assert!(validate_tags(&many[..32]).is_ok());
    }

    #[test]
    fn time_bounds_accept_common_forms_and_reject_junk() {
        assert!(parse_time("start", "2026-01-02T03:04:05Z").is_ok());
        assert!(parse_time("start", "2026-01-02T03:04:05.1234567+02:00").is_ok());
        assert!(parse_time("start", "2026-01-02").is_ok());
        assert!(parse_time("start", "2026-01-02T03:04").is_ok());
        assert!(matches!(
            parse_time("start", "yesterday"),
            Err(AppError::BadRequest(_))
        ));
    }

    #[test]
    fn params_validate_and_clamp() {
        let privacy = PrivacySettings::default();
        let caller = Caller::anonymous();
        let q = EventParams {
            page_size: Some("100000".into()),
            ..Default::default()
        }
        .to_query(&privacy, &caller)
        .unwrap();
        assert_eq!(q.page_size, 500);
        let q = EventParams {
            page_size: Some("0".into()),
            ..Default::default()
        }
        .to_query(&privacy, &caller)
        .unwrap();
        assert_eq!(q.page_size, 1);
        for bad in [
            EventParams {
                page_size: Some("ten".into()),
                ..Default::default()
            },
            EventParams {
                cursor: Some("%%%".into()),
                ..Default::default()
            },
            EventParams {
                start: Some("2026-02-01".into()),
                end: Some("2026-01-01".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(
                bad.to_query(&privacy, &caller),
                Err(AppError::BadRequest(_))
            ));
        }
    }

    #[test]
    fn privacy_hides_unless_role() {
        let privacy = PrivacySettings {
            services: vec!["Exchange".into()],
            sensitive_operations: vec!["Set-Mailbox".into()],
            service_roles: vec!["PrivacyReader".into()],
        };
        let anon = Caller::anonymous();
        assert_eq!(hidden_for(&privacy, &anon).0, vec!["Exchange"]);
        let reader = Caller {
            roles: vec!["privacyreader".into()],
            ..Caller::anonymous()
        };
        assert!(hidden_for(&privacy, &reader).0.is_empty());
    }

    #[test]
    fn bucket_sizes_are_nice_and_bounded() {
        assert_eq!(bucket_seconds_for(3600, 60), 60);
        assert_eq!(bucket_seconds_for(86400, 60), 1800);
        assert_eq!(bucket_seconds_for(30 * 86400, 60), 43200);
        assert_eq!(bucket_seconds_for(10 * 365 * 86400, 60), 604800);
    }
}
