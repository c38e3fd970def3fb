//! The event services every front door (REST, UI, MCP, CLI) calls: one place for input
//! validation, page-size clamping, tag rules, privacy gating and the activity entries of
//! tag and comment changes.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use aoc_domain::{
    Comment, Cursor, Event, EventQuery, EventView, FilterOptions, Page, SummaryPage, Visibility,
};
use aoc_store::EventStore;
use aoc_store::retry;

use crate::activity::ActivityLog;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::privacy::Privacy;

/// How long a read waits out a database that dropped its connection (a restart, a failover)
/// before the caller gets a 503 with Retry-After: reads are safe to repeat, and a person is
/// waiting.
const READ_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_LEN: usize = 64;
pub const MAX_COMMENT_LEN: usize = 10_000;
const MAX_FILTER_LEN: usize = 1_000;
const FILTER_OPTION_LIMIT: u32 = 500;

/// Filters as they arrive from a query string: all text, validated by [`EventParams::to_query`].
/// The `param` attributes tell the OpenAPI document what validation accepts.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Exact service (workload or category).
    #[param(max_length = 1000, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub service: Option<String>,
    /// Exact actor, as displayed.
    #[param(max_length = 1000, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub actor: Option<String>,
    /// Exact operation.
    #[param(max_length = 1000, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub operation: Option<String>,
    /// Outcome: `success`, `failure`, `partial` or `unknown`, in any case (a source's own word,
    /// such as `False` or `Succeeded`, is read as its outcome).
    #[param(max_length = 1000, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub result: Option<String>,
    /// Inclusive lower bound, RFC 3339 (a date, or a date-time without offset, is taken as UTC).
    #[param(format = DateTime)]
    pub start: Option<String>,
    /// Inclusive upper bound, RFC 3339; not before `start`.
    #[param(format = DateTime)]
    pub end: Option<String>,
    /// Free text: a substring of the actor, a target, the operation or the summary, or words of
    /// the raw record.
    #[param(max_length = 1000, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub search: Option<String>,
    /// Events per page (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub page_size: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 4096)]
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
        // No stored text holds them, and the text indexes refuse some (NUL) outright.
        Some(v) if v.chars().any(char::is_control) => Err(AppError::BadRequest(format!(
            "{name} must not contain control characters"
        ))),
        Some(v) => Ok(Some(v.to_string())),
    }
}

impl EventParams {
    /// The validated query, restricted to what `visibility` lets the caller see.
    pub fn to_query(&self, visibility: &Visibility) -> AppResult<EventQuery> {
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
        let mut query = EventQuery {
            service: text_filter("service", &self.service)?,
            actor: text_filter("actor", &self.actor)?,
            operation: text_filter("operation", &self.operation)?,
            result: text_filter("result", &self.result)?,
            start,
            end,
            search: text_filter("search", &self.search)?,
            page_size: EventQuery::clamp_page_size(page_size),
            cursor,
            ..EventQuery::default()
        };
        visibility.restrict(&mut query);
        Ok(query)
    }
}

/// `GET /api/events`: the filters and the shape of the rows.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    // utoipa cannot flatten parameters: the OpenAPI path lists EventParams beside these.
    #[serde(flatten)]
    #[param(ignore)]
    pub filters: EventParams,
    /// `full` (the default): whole events, raw record included. `summary`: list rows without
    /// `actor`, `targets` and `raw`, read without the stored record (much cheaper); load one
    /// event with `GET /api/events/{id}` for the rest.
    #[param(value_type = Option<String>, pattern = "^(full|summary)$")]
    pub view: Option<String>,
}

impl ListParams {
    pub fn view(&self) -> AppResult<EventView> {
        // Like every filter, an empty parameter is one not given.
        match self.view.as_deref().filter(|v| !v.trim().is_empty()) {
            None => Ok(EventView::Full),
            Some(v) => v.parse().map_err(AppError::BadRequest),
        }
    }
}

/// A page in the shape `view` asked for (untagged: the JSON is the page itself).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum ListPage {
    Full(Page),
    Summary(SummaryPage),
}

impl utoipa::PartialSchema for ListPage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, Ref};
        // anyOf, not oneOf: a page of no events, or of whole events, is also a valid page of
        // summaries (a summary's fields are a subset).
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("Page"))
            .item(Ref::from_schema_name("SummaryPage"))
            .description(Some(
                "A `Page` of whole events (`view=full`, the default) or a `SummaryPage` of list \
                 rows (`view=summary`)",
            ))
            .into()
    }
}

impl utoipa::ToSchema for ListPage {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("Page".into(), <Page as PartialSchema>::schema()));
        <Page as utoipa::ToSchema>::schemas(schemas);
        schemas.push((
            "SummaryPage".into(),
            <SummaryPage as PartialSchema>::schema(),
        ));
        <SummaryPage as utoipa::ToSchema>::schemas(schemas);
    }
}

/// `GET /api/events/histogram`: the filters and how many buckets to aim for.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistogramParams {
    // utoipa cannot flatten parameters: the OpenAPI path lists EventParams beside these.
    #[serde(flatten)]
    #[param(ignore)]
    pub filters: EventParams,
    /// About how many buckets to draw (1 to 500, default 60).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub buckets: Option<String>,
}

pub const DEFAULT_HISTOGRAM_BUCKETS: u32 = 60;
pub const MAX_HISTOGRAM_BUCKETS: u32 = 500;

fn parse_buckets(raw: Option<&str>) -> AppResult<u32> {
    match raw.map(str::trim) {
        None | Some("") => Ok(DEFAULT_HISTOGRAM_BUCKETS),
        Some(b) => match b.parse::<u32>() {
            Ok(n) if (1..=MAX_HISTOGRAM_BUCKETS).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!(
                "buckets must be a number from 1 to {MAX_HISTOGRAM_BUCKETS}"
            ))),
        },
    }
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
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Histogram {
    pub bucket_seconds: i64,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub buckets: Vec<HistogramBucket>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
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
    privacy: Arc<Privacy>,
    activity: ActivityLog,
}

impl EventService {
    pub fn new(store: Arc<dyn EventStore>, privacy: Arc<Privacy>, activity: ActivityLog) -> Self {
        Self {
            store,
            privacy,
            activity,
        }
    }

    /// What this caller may see.
    pub fn visibility(&self, caller: &Caller) -> Visibility {
        self.privacy.for_caller(caller)
    }

    pub fn query(&self, params: &EventParams, caller: &Caller) -> AppResult<EventQuery> {
        params.to_query(&self.visibility(caller))
    }

    /// Every stored event, gating aside (the store-size gauge).
    pub async fn total(&self) -> AppResult<u64> {
        Ok(self.store.count().await?)
    }

    /// Retention: drop events older than `cutoff`.
    pub async fn delete_before(&self, cutoff: DateTime<Utc>) -> AppResult<u64> {
        Ok(self.store.delete_before(cutoff).await?)
    }

    /// Cheap connectivity check (/health).
    pub async fn ping(&self) -> AppResult<()> {
        Ok(self.store.ping().await?)
    }

    pub async fn list(&self, params: &EventParams, caller: &Caller) -> AppResult<Page> {
        let query = self.query(params, caller)?;
        Ok(retry::with_patience("a search", READ_PATIENCE, || self.store.search(&query)).await?)
    }

    /// A page in the shape `params.view` asks for (summaries are read without the records).
    pub async fn list_view(&self, params: &ListParams, caller: &Caller) -> AppResult<ListPage> {
        let view = params.view()?;
        let query = self.query(&params.filters, caller)?;
        Ok(match view {
            EventView::Full => ListPage::Full(
                retry::with_patience("a search", READ_PATIENCE, || self.store.search(&query))
                    .await?,
            ),
            EventView::Summary => ListPage::Summary(
                retry::with_patience("a search", READ_PATIENCE, || {
                    self.store.search_summaries(&query)
                })
                .await?,
            ),
        })
    }

    pub async fn count(&self, params: &EventParams, caller: &Caller) -> AppResult<u64> {
        let query = self.query(params, caller)?;
        Ok(retry::with_patience("a count", READ_PATIENCE, || {
            self.store.count_matching(&query)
        })
        .await?)
    }

    /// One page of an already validated query (exports walk these).
    pub(crate) async fn page(&self, query: &EventQuery) -> AppResult<Page> {
        Ok(
            retry::with_patience("an export page", READ_PATIENCE, || self.store.search(query))
                .await?,
        )
    }

    pub async fn get(&self, id: &str, caller: &Caller) -> AppResult<Event> {
        match retry::with_patience("reading an event", READ_PATIENCE, || self.store.get(id)).await?
        {
            Some(e) if self.visibility(caller).allows(&e.service, &e.operation) => Ok(e),
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
        let event = self
            .store
            .set_tags(id, &tags)
            .await?
            .ok_or_else(|| not_found(id))?;
        self.activity.tags_set(caller, &event).await;
        Ok(event)
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
        let event = self
            .store
            .add_comment(id, &comment)
            .await?
            .ok_or_else(|| not_found(id))?;
        self.activity.comment_added(caller, &event, text).await;
        Ok(event)
    }

    pub async fn histogram(
        &self,
        params: &HistogramParams,
        caller: &Caller,
    ) -> AppResult<Histogram> {
        let target_buckets = parse_buckets(params.buckets.as_deref())?;
        let query = self.query(&params.filters, caller)?;
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
        let bucket_seconds = bucket_seconds_for(span, target_buckets);
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
        let everything = Visibility::everything();
        let q = EventParams {
            page_size: Some("100000".into()),
            ..Default::default()
        }
        .to_query(&everything)
        .unwrap();
        assert_eq!(q.page_size, 500);
        let q = EventParams {
            page_size: Some("0".into()),
            ..Default::default()
        }
        .to_query(&everything)
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
                search: Some("a\u{0}b".into()),
                ..Default::default()
            },
            EventParams {
                actor: Some("line\nbreak".into()),
                ..Default::default()
            },
            EventParams {
                start: Some("2026-02-01".into()),
                end: Some("2026-01-01".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(
                bad.to_query(&everything),
                Err(AppError::BadRequest(_))
            ));
        }
    }

    #[test]
    fn queries_carry_the_callers_hidden_lists() {
        let visibility = Visibility::hiding(&["teams".into()], &["Set-Mailbox".into()]);
        let q = EventParams::default().to_query(&visibility).unwrap();
        assert_eq!(q.hidden_services, ["MicrosoftTeams"]);
        assert_eq!(q.hidden_operations, ["Set-Mailbox"]);
    }

    #[test]
    fn buckets_default_and_are_bounded() {
        assert_eq!(parse_buckets(None).unwrap(), 60);
        assert_eq!(parse_buckets(Some(" 12 ")).unwrap(), 12);
        assert_eq!(parse_buckets(Some("500")).unwrap(), 500);
        for bad in ["0", "501", "-1", "many", "1.5"] {
            assert!(parse_buckets(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_sizes_are_nice_and_bounded() {
        assert_eq!(bucket_seconds_for(3600, 60), 60);
        assert_eq!(bucket_seconds_for(86400, 60), 1800);
        assert_eq!(bucket_seconds_for(30 * 86400, 60), 43200);
        assert_eq!(bucket_seconds_for(10 * 365 * 86400, 60), 604800);
    }
}
