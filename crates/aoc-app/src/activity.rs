//! The activity log service: AOC's own write actions (tag changes, comments, fetches, imports)
//! with who, what, when, the event acted on and a small detail. The services record them, so
//! every caller leaves a trace: a person over HTTP, or `cli`, `scheduler`, `webhook`, `import`.
//! Fetches are recorded when they fail too.

use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use aoc_domain::Event;
use aoc_store::{Activity, EventStore, NewActivity};

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::privacy::Privacy;

pub const ACTION_TAGS: &str = "tags.set";
pub const ACTION_COMMENT: &str = "comment.add";
pub const ACTION_FETCH: &str = "fetch";
pub const ACTION_IMPORT: &str = "import";

/// Default and largest page of the log.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
/// Comment text kept in the log: enough to recognise it, not a second copy of long text.
const COMMENT_EXCERPT_CHARS: usize = 200;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Entries per page (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^0*[1-9][0-9]{0,17}$")]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActivityPage {
    pub items: Vec<Activity>,
    /// Pass back as `cursor` for older entries; absent at the end of the log.
    pub next_cursor: Option<String>,
}

#[derive(Clone)]
pub struct ActivityLog {
    store: Arc<dyn EventStore>,
    privacy: Arc<Privacy>,
}

impl ActivityLog {
    pub fn new(store: Arc<dyn EventStore>, privacy: Arc<Privacy>) -> Self {
        Self { store, privacy }
    }

    /// Record an action. A failure to write the log is logged, not returned: the action itself
    /// has already happened, and answering it with an error would invite a retry that repeats it.
    pub async fn record(
        &self,
        caller: &Caller,
        action: &str,
        target: Option<&str>,
        mut detail: Value,
    ) {
        if let (Some(ip), Value::Object(map)) = (caller.ip, &mut detail) {
            map.insert("client_ip".into(), Value::String(ip.to_string()));
        }
        let entry = NewActivity {
            at: Utc::now(),
            actor: caller.name.clone(),
            subject: caller.subject.clone(),
            action: action.to_string(),
            target: target.map(str::to_string),
            detail,
        };
        if let Err(e) = self.store.append_activity(&entry).await {
            tracing::error!(action, error = %e, "could not record an action in the activity log");
        }
    }

    pub async fn tags_set(&self, caller: &Caller, event: &Event) {
        let detail = serde_json::json!({
            "tags": event.tags,
            "service": event.service,
            "operation": event.operation,
        });
        self.record(caller, ACTION_TAGS, Some(&event.id), detail)
            .await;
    }

    pub async fn comment_added(&self, caller: &Caller, event: &Event, text: &str) {
        let excerpt: String = text.trim().chars().take(COMMENT_EXCERPT_CHARS).collect();
        let detail = serde_json::json!({
            "excerpt": excerpt,
            "length": text.trim().chars().count(),
            "service": event.service,
            "operation": event.operation,
        });
        self.record(caller, ACTION_COMMENT, Some(&event.id), detail)
            .await;
    }

    /// The log newest first. Entries about events the caller may not see (privacy gating, by
    /// the service and operation recorded with them) are left out, so a page can hold fewer
    /// than `limit` entries while `next_cursor` still leads on.
    pub async fn list(&self, params: &ActivityParams, caller: &Caller) -> AppResult<ActivityPage> {
        let limit = parse_limit(params.limit.as_deref())?;
        let before = parse_cursor(params.cursor.as_deref())?;
        // One more than asked tells whether older entries exist.
        let mut items = self.store.list_activity(before, limit + 1).await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(|a| a.id.to_string())
        } else {
            None
        };
        let visibility = self.privacy.for_caller(caller);
        let field = |a: &Activity, key: &str| {
            a.detail
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        items.retain(|a| visibility.allows(&field(a, "service"), &field(a, "operation")));
        Ok(ActivityPage { items, next_cursor })
    }
}

fn parse_limit(raw: Option<&str>) -> AppResult<u32> {
    match raw.map(str::trim) {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!(
                "limit must be a number from 1 to {MAX_LIMIT}"
            ))),
        },
    }
}

/// The cursor is the id of the last entry of the previous page.
fn parse_cursor(raw: Option<&str>) -> AppResult<Option<i64>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(id) if id > 0 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(id)),
            _ => Err(AppError::BadRequest("invalid cursor".into())),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn limits_and_cursors_are_checked() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some(" 5 ")).unwrap(), 5);
        for bad in ["0", "201", "-1", "x", "1.5"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(parse_cursor(Some("42")).unwrap(), Some(42));
        assert_eq!(parse_cursor(Some("")).unwrap(), None);
        for bad in ["0", "-3", "+3", "abc", "99999999999999999999"] {
            assert!(parse_cursor(Some(bad)).is_err(), "{bad}");
        }
    }
}
